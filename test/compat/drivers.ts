// One ClientDriver per real client, by the name requireClient() knows it under.
import { ckjsDriver } from '../helpers/client-ckjs.js';
import { kafkajsDriver } from '../helpers/client-kafkajs.js';
import { kcatDriver } from '../helpers/client-kcat.js';
import { platformaticDriver } from '../helpers/client-platformatic.js';
import { pythonDriver } from '../helpers/client-python.js';
import type { ClientDriver } from '../helpers/client-scenario.js';
import type { ClientName } from '../helpers/clients.js';

export const compatDrivers: Partial<Record<ClientName, () => ClientDriver>> = {
  kcat: kcatDriver,
  'confluent-kafka-python': () =>
    pythonDriver('confluent-kafka-python', 'confluent_kafka_driver.py', [
      'none',
      'gzip',
      'snappy',
      'lz4',
      'zstd',
    ]),
  'kafka-python': () =>
    pythonDriver('kafka-python', 'kafka_python_driver.py', [
      'none',
      'gzip',
      'snappy',
      'lz4',
      'zstd',
    ]),
  kafkajs: kafkajsDriver,
  'platformatic-kafka': platformaticDriver,
  'confluent-kafka-javascript': ckjsDriver,
};
