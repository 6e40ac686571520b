// A broker without etcd.endpoints never loads etcd3 or gRPC: they cost 150 ms on a quiet
// machine, more than a second on a busy one, at the start of every process that embeds a broker
// (a Node.js test's first startBroker). A fresh process starts and stops one broker and then
// lists what it loaded; the module cache is the evidence, not a timing.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

const script = `
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const { startBroker } = await import('./src/index.ts');
const directory = mkdtempSync(join(tmpdir(), 'brook-modules-'));
const broker = await startBroker({ settings: { 'log.dirs': directory } });
await broker.stop();
rmSync(directory, { recursive: true, force: true });
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify(loaded.filter((path) => /node_modules\\/(etcd3|@grpc)\\//.test(path))));
`;

test('a single broker loads neither etcd3 nor gRPC', async () => {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: process.cwd(), timeout: 60_000 },
  );
  const lines = stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(lines.at(-1)!), []);
});
