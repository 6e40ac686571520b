// Issue 4 with confluent-kafka-python: the consumer-group scenario of test/helpers/client-groups.ts, every member a
// child process (test/compat/group-clients.ts).
import { test } from 'node:test';
import { runGroupScenario } from '../helpers/client-groups.js';
import { requireClient } from '../helpers/clients.js';
import { groupClients } from './group-clients.js';

const client = groupClients['confluent-kafka-python']!;

test(
  'confluent-kafka-python members split a topic evenly, survive a SIGKILLed member from its commits without loss, share with a newcomer, and the group is described truly',
  { timeout: 400_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-python')) return;
    await runGroupScenario(t, client, false);
  },
);

test(
  'confluent-kafka-python members with cooperative-sticky keep the partitions that do not move while a newcomer takes its share',
  { timeout: 400_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-python')) return;
    await runGroupScenario(t, client, true);
  },
);
