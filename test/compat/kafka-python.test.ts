// python3-kafka (kafka-python 2.0.2, Debian) against a real Brook broker: the
// issue-3 §4 scenario (test/helpers/client-scenario.ts) through test/compat/python/kafka_python_driver.py.
import { test } from 'node:test';
import { runCompatScenario } from '../helpers/client-scenario.js';
import { requireClient } from '../helpers/clients.js';
import { compatDrivers } from './drivers.js';

const driver = compatDrivers['kafka-python']!();

test(
  'kafka-python 2.0.2 creates, alters, produces in every codec, reads back exactly across a restart, looks offsets up by time and deletes',
  { timeout: 300_000 },
  async (t) => {
    if (!requireClient(t, 'kafka-python')) return;
    await runCompatScenario(t, driver);
  },
);
