// The five clients of issue 4's "verified with real clients", as GroupClients for
// test/helpers/client-groups.ts: how to start one member, which assignors, and ListGroups +
// DescribeGroups through the client's own admin API.
import { join } from 'node:path';
import '../helpers/client-platformatic-node20.js';
import { Admin } from '@platformatic/kafka';
import { ckjsKafka } from '../helpers/client-ckjs.js';
import {
  decodeConsumerAssignment,
  type GroupClient,
  type GroupView,
} from '../helpers/client-groups.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { platformaticBaseOptions } from '../helpers/client-platformatic.js';
import {
  compatDirectory,
  runChecked,
  systemPython,
  withTimeout,
  type ClientName,
} from '../helpers/clients.js';

const adminTimeoutMs = 30_000;

function typescriptMember(file: string) {
  return (bootstrap: string, topic: string, group: string, assignor: string) => ({
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      join(compatDirectory, 'members', file),
      bootstrap,
      topic,
      group,
      assignor,
    ],
  });
}

function pythonMember(file: string) {
  return (bootstrap: string, topic: string, group: string, assignor: string) => ({
    command: systemPython,
    args: [join(compatDirectory, 'python', file), bootstrap, topic, group, assignor],
  });
}

interface PythonGroupView {
  listed: string[];
  state: string;
  protocolType: string;
  protocol: string;
  members: { assignment?: string; partitions?: number[] }[];
}

function pythonGroups(driver: string) {
  return async (bootstrap: string, topic: string, group: string): Promise<GroupView> => {
    const stdout = await runChecked(
      systemPython,
      [join(compatDirectory, 'python', driver), 'groups', bootstrap, group],
      {
        timeoutMs: 60_000,
      },
    );
    const view = JSON.parse(stdout) as PythonGroupView;
    return {
      ...view,
      members: view.members.map(
        (member) =>
          member.partitions ??
          decodeConsumerAssignment(Buffer.from(member.assignment ?? '', 'base64'), topic),
      ),
    };
  };
}

const ckjsStates = [
  'Unknown',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
  'Empty',
];

export const groupClients: Partial<Record<ClientName, GroupClient>> = {
  'confluent-kafka-python': {
    name: 'confluent-kafka-python',
    member: pythonMember('confluent_kafka_member.py'),
    eagerAssignor: 'range',
    cooperativeAssignor: 'cooperative-sticky',
    describeGroup: pythonGroups('confluent_kafka_driver.py'),
  },
  'kafka-python': {
    name: 'kafka-python',
    member: pythonMember('kafka_python_member.py'),
    eagerAssignor: 'range',
    describeGroup: pythonGroups('kafka_python_driver.py'),
  },
  kafkajs: {
    name: 'kafkajs',
    member: typescriptMember('kafkajs-member.ts'),
    eagerAssignor: 'roundrobin',
    protocolNames: { roundrobin: 'RoundRobinAssigner' },
    async describeGroup(bootstrap, topic, group) {
      const admin = kafkajsClient(bootstrap, 'brook-compat-kafkajs-group-admin').admin();
      await withTimeout(admin.connect(), adminTimeoutMs, 'kafkajs admin.connect');
      try {
        const listed = await withTimeout(admin.listGroups(), adminTimeoutMs, 'kafkajs listGroups');
        const described = await withTimeout(
          admin.describeGroups([group]),
          adminTimeoutMs,
          'kafkajs describeGroups',
        );
        const description = described.groups[0]!;
        return {
          listed: listed.groups.map((entry) => entry.groupId),
          state: description.state,
          protocolType: description.protocolType,
          protocol: description.protocol,
          members: description.members.map((member) =>
            decodeConsumerAssignment(member.memberAssignment, topic),
          ),
        };
      } finally {
        await admin.disconnect();
      }
    },
  },
  'platformatic-kafka': {
    name: 'platformatic-kafka',
    member: typescriptMember('platformatic-member.ts'),
    eagerAssignor: 'roundrobin',
    cooperativeAssignor: 'cooperative-sticky',
    async describeGroup(bootstrap, topic, group) {
      const admin = new Admin(
        platformaticBaseOptions(bootstrap, 'brook-compat-platformatic-group-admin'),
      );
      try {
        const listed = await withTimeout(
          admin.listGroups(),
          adminTimeoutMs,
          '@platformatic/kafka listGroups',
        );
        const described = await withTimeout(
          admin.describeGroups({ groups: [group] }),
          adminTimeoutMs,
          '@platformatic/kafka describeGroups',
        );
        const description = described.get(group)!;
        return {
          listed: [...listed.keys()],
          state: String(description.state),
          protocolType: description.protocolType,
          protocol: description.protocol,
          members: [...description.members.values()].map((member) =>
            [...(member.assignments?.get(topic)?.partitions ?? [])].sort((a, b) => a - b),
          ),
        };
      } finally {
        await admin.close();
      }
    },
  },
  'confluent-kafka-javascript': {
    name: 'confluent-kafka-javascript',
    member: typescriptMember('ckjs-member.ts'),
    eagerAssignor: 'range',
    cooperativeAssignor: 'cooperative-sticky',
    async describeGroup(bootstrap, topic, group) {
      const admin = ckjsKafka(bootstrap, 'brook-compat-ckjs-group-admin').admin() as unknown as {
        connect(): Promise<void>;
        disconnect(): Promise<void>;
        listGroups(): Promise<{ groups: { groupId: string }[] }>;
        describeGroups(groups: string[]): Promise<{
          groups: {
            state: number;
            protocolType: string;
            protocol: string;
            members: { assignment?: { topicPartitions: { topic: string; partition: number }[] } }[];
          }[];
        }>;
      };
      await withTimeout(admin.connect(), adminTimeoutMs, 'ckjs admin.connect');
      try {
        const listed = await withTimeout(admin.listGroups(), adminTimeoutMs, 'ckjs listGroups');
        const described = await withTimeout(
          admin.describeGroups([group]),
          adminTimeoutMs,
          'ckjs describeGroups',
        );
        const description = described.groups[0]!;
        return {
          listed: listed.groups.map((entry) => entry.groupId),
          state: ckjsStates[description.state] ?? String(description.state),
          protocolType: description.protocolType,
          protocol: description.protocol,
          members: description.members.map((member) =>
            (member.assignment?.topicPartitions ?? [])
              .filter((entry) => entry.topic === topic)
              .map((entry) => entry.partition)
              .sort((a, b) => a - b),
          ),
        };
      } finally {
        await admin.disconnect();
      }
    },
  },
};
