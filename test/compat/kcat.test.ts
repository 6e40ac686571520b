// kcat 1.7.1 (Debian; librdkafka 2.0.2) against a real Brook broker: the issue-3 §4 scenario
// (test/helpers/client-scenario.ts). kcat has no admin commands, so the topic is created, described,
// altered and deleted through python3-confluent-kafka, the same librdkafka.
import { test } from 'node:test';
import { kcatDriver } from '../helpers/client-kcat.js';
import { runCompatScenario } from '../helpers/client-scenario.js';
import { requireClient } from '../helpers/clients.js';

test(
  'kcat produces text records with keys and headers in every codec, reads them back exactly across a restart, lists metadata and starts at offsets by time',
  { timeout: 300_000 },
  async (t) => {
    if (!requireClient(t, 'kcat') || !requireClient(t, 'confluent-kafka-python')) return;
    await runCompatScenario(t, kcatDriver());
  },
);
