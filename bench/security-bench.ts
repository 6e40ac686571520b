// Produce throughput over TLS with SASL SCRAM against plaintext, in one run on one broker (issue
// 11: SASL_SSL should reach at least 0.6 of plaintext). librdkafka's load generator
// (bench/loadgen) produces 1 KiB records with acks=all to a PLAINTEXT and a SASL_SSL
// (SCRAM-SHA-512) listener of the same in-process broker, alternately, twice each. Prints each
// figure and the ratio. Needs gcc, librdkafka-dev and openssl.
//
//   npx tsx bench/security-bench.ts        (BENCH_QUICK=1 for a short smoke run)

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBroker } from '../src/broker.js';
import { AdminClient } from '../src/client/admin-client.js';
import { makeTestCertificates } from '../test/security/certificates.js';

const root = new URL('..', import.meta.url).pathname;
const quick = process.env.BENCH_QUICK === '1';
const count = quick ? 20_000 : 200_000;

const directory = mkdtempSync(join(tmpdir(), 'brook-security-bench-'));
try {
  const loadgen = execFileSync('bash', [join(root, 'bench', 'loadgen', 'build.sh')], {
    encoding: 'utf8',
  }).trim();
  const certificates = makeTestCertificates(directory);
  const broker = await startBroker({
    logDirs: join(directory, 'data'),
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    settings: { 'ssl.keystore.location': certificates.serverKeystoreLocation },
  });
  try {
    const [plaintext, saslSsl] = broker.listeners.map((listener) => `127.0.0.1:${listener.port}`);
    const admin = new AdminClient({
      bootstrapServer: plaintext,
      clientId: 'bench',
      requestTimeoutMs: 30_000,
    });
    await admin.upsertUserScramCredential('bench', 'SCRAM-SHA-512', 'bench-secret');
    await admin.createTopic(
      { name: 'bench', partitions: 1, replicationFactor: -1, configs: new Map() },
      30_000,
      false,
    );
    admin.close();
    const secured = [
      'security.protocol=SASL_SSL',
      `ssl.ca.location=${certificates.caLocation}`,
      'sasl.mechanisms=SCRAM-SHA-512',
      'sasl.username=bench',
      'sasl.password=bench-secret',
    ];
    const produce = async (bootstrap: string, settings: string[]): Promise<number> => {
      const args = [
        'produce',
        '-b',
        bootstrap,
        '-t',
        'bench',
        '-n',
        String(count),
        '-s',
        '1024',
        '-q',
        '-T',
        '300',
      ];
      for (const setting of settings) args.push('-X', setting);
      const { stdout } = await promisify(execFile)(loadgen, args, { maxBuffer: 1 << 24 });
      const summary = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { role: string; msgs_per_s: number })
        .find((figures) => figures.role === 'produce');
      if (summary === undefined) throw new Error(`loadgen printed no summary:\n${stdout}`);
      return summary.msgs_per_s;
    };
    const figures = { plaintext: [] as number[], saslSsl: [] as number[] };
    for (let round = 0; round < 2; round++) {
      figures.plaintext.push(await produce(plaintext, []));
      figures.saslSsl.push(await produce(saslSsl, secured));
    }
    const best = (values: number[]) => Math.max(...values);
    console.log(`produce 1 KiB, acks=all, ${count} records per run, best of 2:`);
    console.log(`  PLAINTEXT            ${best(figures.plaintext).toFixed(0)} msgs/s`);
    console.log(`  SASL_SSL SCRAM-512   ${best(figures.saslSsl).toFixed(0)} msgs/s`);
    console.log(
      `  ratio SASL_SSL / PLAINTEXT: ${(best(figures.saslSsl) / best(figures.plaintext)).toFixed(2)} (target >= 0.6)`,
    );
  } finally {
    await broker.stop();
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
