// A broker without etcd.endpoints never loads etcd3 or gRPC: they cost 150 ms on a quiet
// machine, more than a second on a busy one, at the start of every process that embeds a broker
// (a Node.js test's first startBroker). Nor does a broker without http.listeners load what only
// the HTTP door uses (prom-client and the @opentelemetry/api it requires, ws): several MB of
// resident memory, and more heap for every mark-compact to walk. A fresh process starts and
// stops one broker and then lists what it loaded; the module cache is the evidence, not a timing.

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
console.log(JSON.stringify(loaded.filter((path) => /node_modules\\//.test(path))));
`;

/** The node_modules files a fresh process loaded for one broker's start and stop. */
let loadedPackages: Promise<string[]> | undefined;
function packagesLoaded(): Promise<string[]> {
  loadedPackages ??= run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: process.cwd(),
      timeout: 60_000,
    },
  ).then(({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1)!) as string[]);
  return loadedPackages;
}

test('a single broker loads neither etcd3 nor gRPC', async () => {
  const loaded = await packagesLoaded();
  assert.deepEqual(
    loaded.filter((path) => /node_modules\/(etcd3|@grpc)\//.test(path)),
    [],
  );
});

test('a broker without http.listeners loads neither prom-client nor ws', async () => {
  const loaded = await packagesLoaded();
  assert.ok(loaded.length > 0, 'the module cache lists the packages a broker loads');
  assert.deepEqual(
    loaded.filter((path) => /node_modules\/(prom-client|@opentelemetry|ws)\//.test(path)),
    [],
  );
});
