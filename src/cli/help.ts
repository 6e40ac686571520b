// `brook --help`: the commands, and every broker setting with its flag, environment variable and
// default, generated from the definitions table so the help can never drift from what is accepted.

import { brokerConfigDefinitions } from '../config/broker-definitions.js';
import { environmentVariableName, flagName, renderConfigValue } from '../config/definitions.js';

export function usage(): string {
  return [
    'Usage: brook <command> [options]',
    '',
    'Commands:',
    '  start     Run a broker until SIGINT or SIGTERM.',
    '  groups    Consumer groups of a running broker: list, describe, reset-offsets, delete',
    '            (brook groups --help).',
    '  share-groups  Share groups (KIP-932): list, describe, reset-offsets, delete-offsets,',
    '            delete (brook share-groups --help).',
    '  topics    Topics of a running broker: list, describe, create, alter, delete',
    '            (brook topics --help).',
    '  configs   Configs of a topic or broker: describe, alter (brook configs --help).',
    '  quotas    Client quotas by user and client id: describe, alter (brook quotas --help).',
    '  acls      ACLs in kafka-acls vocabulary: add, remove, list (brook acls --help).',
    '  produce   Write records to a topic for a quick test (brook produce --help).',
    "  consume   Print a topic's records, from the beginning, an offset or a time",
    '            (brook consume --help).',
    '  users     SCRAM users: create, delete, list (brook users --help); --log-dirs works on a',
    '            stopped broker, to create the first user.',
    '  dev-cluster  Run etcd and three brokers on 127.0.0.1:9092-9094 for trying cluster mode',
    '            (brook dev-cluster --help).',
    '  help      Show this help.',
    '',
    'Options of start:',
    '  --config FILE              Read settings from a Kafka server.properties file.',
    '  --log-dirs DIR             Where data is kept (default ./data).',
    '  --listeners PLAINTEXT://HOST:PORT[,...]',
    '                             Where to listen (default PLAINTEXT://127.0.0.1:9092; port 0 picks one);',
    '                             also SSL://, SASL_PLAINTEXT://, SASL_SSL:// (see --ssl-*, --sasl-*).',
    '  --advertised-listeners PLAINTEXT://HOST:PORT[,...]',
    '                             What clients are told to connect to, when different.',
    '  --SETTING VALUE            Any broker setting below, dots written as dashes',
    '                             (--num-partitions 4, or --num-partitions=4, or --override num.partitions=4).',
    '',
    'Examples:',
    '  brook start',
    '  brook start --log-dirs /var/lib/brook --listeners PLAINTEXT://0.0.0.0:9092 \\',
    '              --advertised-listeners PLAINTEXT://broker1.example:9092 --num-partitions 4',
    '  brook start --config server.properties',
    '',
    'Each setting may also come from the environment (BROOK_NUM_PARTITIONS=4).',
    'Precedence: flags, then environment, then the config file, then the default.',
    "BROOK_NODE_OPTIONS='--max-old-space-size=512 --trace-gc' brook start: node's and V8's",
    'options, which the brook command puts on the command line of the node it starts.',
    '',
    'Broker settings:',
  ].join('\n');
}

export function settingsHelp(): string {
  const lines: string[] = [];
  for (const [name, definition] of brokerConfigDefinitions) {
    const shown = renderConfigValue(definition.defaultValue);
    lines.push(
      `  ${name} (${definition.type}, default ${shown === null ? 'unset' : shown === '' ? '""' : shown})`,
    );
    lines.push(`      ${definition.documentation}`);
    lines.push(`      ${flagName(name)}, ${environmentVariableName(name)}`);
  }
  return lines.join('\n');
}
