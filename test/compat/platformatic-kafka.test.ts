// @platformatic/kafka 2.x against a real Brook broker: the issue-3 §4 scenario
// (test/helpers/client-scenario.ts). It needs topic ids (Metadata ≥ 10, Fetch ≥ 13) and only
// flexible versions; on Node.js 20 it has no zstd.
import { test } from 'node:test';
import { platformaticDriver } from '../helpers/client-platformatic.js';
import { runCompatScenario } from '../helpers/client-scenario.js';
import { requireClient } from '../helpers/clients.js';

test(
  '@platformatic/kafka creates, alters incrementally, produces in every codec it has, reads back exactly across a restart, looks offsets up by time and deletes',
  { timeout: 300_000 },
  async (t) => {
    if (!requireClient(t, 'platformatic-kafka')) return;
    await runCompatScenario(t, platformaticDriver());
  },
);
