// @confluentinc/kafka-javascript 1.10 (librdkafka 2.15.0, from test/compat/ckjs) against a real
// Brook broker: the issue-3 §4 scenario (test/helpers/client-scenario.ts). Its 1.10 admin API has no
// DescribeConfigs/AlterConfigs, so those two steps go through kafkajs.
import { test } from 'node:test';
import { ckjsDriver } from '../helpers/client-ckjs.js';
import { runCompatScenario } from '../helpers/client-scenario.js';
import { requireClient } from '../helpers/clients.js';

test(
  '@confluentinc/kafka-javascript creates, produces in every codec, reads back exactly across a restart, looks offsets up by time and deletes',
  { timeout: 300_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-javascript') || !requireClient(t, 'kafkajs')) {
      return;
    }
    await runCompatScenario(t, ckjsDriver());
  },
);
