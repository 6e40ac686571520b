// The KIP-932 share consumer on librdkafka (librdkafka_share_consumer.c beside this file, built
// with the system compiler against the librdkafka that @confluentinc/kafka-javascript bundles
// under test/compat/ckjs), and its output read back: for the single-broker compat test and the
// cluster test.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ckjsDirectory, compatDirectory, runChecked } from '../../helpers/clients.js';

const librdkafka = join(ckjsDirectory, 'node_modules', '@confluentinc', 'kafka-javascript');
const libraryDirectory = join(librdkafka, 'build', 'deps');
const headerDirectory = join(librdkafka, 'deps', 'librdkafka', 'src');
/** Why the consumer cannot be built here, or null. */
export const missing =
  !existsSync(join(libraryDirectory, 'librdkafka.so')) || !existsSync('/usr/bin/cc')
    ? 'the bundled librdkafka of test/compat/ckjs or a C compiler is missing'
    : null;

/** Builds the consumer into a temporary directory removed after the test; returns its path. */
export async function buildConsumer(t: { after: (fn: () => void) => void }): Promise<string> {
  const directory = mkdtempSync(join(tmpdir(), 'brook-share-c-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const binary = join(directory, 'share-consumer');
  await runChecked(
    'cc',
    [
      '-o',
      binary,
      join(compatDirectory, 'share', 'librdkafka_share_consumer.c'),
      `-I${headerDirectory}`,
      `-L${libraryDirectory}`,
      '-lrdkafka',
      `-Wl,-rpath,${libraryDirectory}`,
    ],
    { timeoutMs: 120_000 },
  );
  return binary;
}

/** One line of the consumer's output: a record delivered and what it did with it. */
export interface Delivery {
  partition: number;
  offset: number;
  deliveryCount: number;
  acknowledgement: string;
  value: string;
}

export function deliveriesOf(stdout: string): Delivery[] {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition, offset, deliveryCount, acknowledgement, ...value] = line.split(' ');
      return {
        partition: Number(partition),
        offset: Number(offset),
        deliveryCount: Number(deliveryCount),
        acknowledgement,
        value: value.join(' '),
      };
    });
}
