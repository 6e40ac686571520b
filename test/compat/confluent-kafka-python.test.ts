// python3-confluent-kafka 1.7.0 (Debian; librdkafka 2.0.2) against a real Brook broker: the
// issue-3 §4 scenario (test/helpers/client-scenario.ts) through test/compat/python/confluent_kafka_driver.py.
import { test } from 'node:test';
import { runCompatScenario } from '../helpers/client-scenario.js';
import { requireClient } from '../helpers/clients.js';
import { compatDrivers } from './drivers.js';

const driver = compatDrivers['confluent-kafka-python']!();

test(
  'confluent-kafka (librdkafka 2.0.2) creates, alters, produces in every codec, reads back exactly across a restart, looks offsets up by time and deletes',
  { timeout: 300_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-python')) return;
    await runCompatScenario(t, driver);
  },
);
