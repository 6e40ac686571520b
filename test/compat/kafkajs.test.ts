// kafkajs 2.2.4 against a real Brook broker: the issue-3 §4 scenario
// (test/helpers/client-scenario.ts), with snappy, LZ4 and zstd registered by client-kafkajs.ts.
import { test } from 'node:test';
import { kafkajsDriver } from '../helpers/client-kafkajs.js';
import { runCompatScenario } from '../helpers/client-scenario.js';
import { requireClient } from '../helpers/clients.js';

test(
  'kafkajs creates, alters, produces in every codec, reads back exactly across a restart, looks offsets up by time and deletes',
  { timeout: 300_000 },
  async (t) => {
    if (!requireClient(t, 'kafkajs')) return;
    await runCompatScenario(t, kafkajsDriver());
  },
);
