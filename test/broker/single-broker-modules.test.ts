// A broker without etcd.endpoints never loads etcd3 or gRPC: they cost 150 ms on a quiet
// machine, more than a second on a busy one, at the start of every process that embeds a broker
// (a Node.js test's first startBroker). Nor does a broker without http.listeners load what only
// the HTTP door uses (prom-client and the @opentelemetry/api it requires, ws): several MB of
// resident memory, and more heap for every mark-compact to walk. A fresh process starts and
// stops one broker and then lists what it loaded; the module cache is the evidence, not a timing.
// Nor does it load Node's HTTP client and server without http.listeners, nor node:tls without a
// TLS listener, nor the codecs or the handler of any API no client asked for (they load on an
// API's first use; ApiVersions's handler, which lists them all, loads at start).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

function scriptFor(entry: string): string {
  // ES modules are in no cache a script can list: a load hook (run on Node's hooks thread) writes
  // each URL to a file before the module reaches the loader, so the file is complete once loaded.
  const hook = `
import { appendFileSync } from 'node:fs';
let path;
export function initialize(data) { path = data.path; }
export async function load(url, context, next) { appendFileSync(path, url + '\\n'); return next(url, context); }
`;
  return `
import { createRequire, register } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const hookDirectory = mkdtempSync(join(tmpdir(), 'brook-modules-hook-'));
const urlsPath = join(hookDirectory, 'urls');
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { data: { path: urlsPath } });
const { startBroker } = await import('${entry}');
const directory = mkdtempSync(join(tmpdir(), 'brook-modules-'));
const broker = await startBroker({ settings: { 'log.dirs': directory } });
await broker.stop();
rmSync(directory, { recursive: true, force: true });
const { apiMessages } = await import('./src/protocol/generated/index.ts');
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  packages: loaded.filter((path) => /node_modules\\//.test(path)),
  builtins: process.moduleLoadList.filter((name) => name.startsWith('NativeModule ')),
  codecsLoaded: [...apiMessages.values()].filter((api) => api.codecs !== null).map((api) => api.name),
  sources: readFileSync(urlsPath, 'utf8').split('\\n').filter((url) => url.includes('/src/')),
}));
rmSync(hookDirectory, { recursive: true, force: true });
`;
}

interface Loaded {
  /** The node_modules files. */
  packages: string[];
  /** Node's own modules, as `NativeModule name`. */
  builtins: string[];
  /** The APIs whose codecs were loaded. */
  codecsLoaded: string[];
  /** Brook's own modules, as file URLs. */
  sources: string[];
}

/**
 * What a fresh process loaded for one broker's start and stop, the broker taken from `entry`: the
 * package's index (an application embedding Brook) or broker.ts (what `brook start` loads; the
 * index also exports startCluster, whose etcd process check uses Node's HTTP client).
 */
const loadedModules = new Map<string, Promise<Loaded>>();
function modulesLoaded(entry = './src/index.ts'): Promise<Loaded> {
  let loaded = loadedModules.get(entry);
  loaded ??= run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', scriptFor(entry)],
    {
      cwd: process.cwd(),
      timeout: 60_000,
    },
  ).then(({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Loaded);
  loadedModules.set(entry, loaded);
  return loaded;
}

test('a single broker loads neither etcd3 nor gRPC', async () => {
  const loaded = (await modulesLoaded()).packages;
  assert.deepEqual(
    loaded.filter((path) => /node_modules\/(etcd3|@grpc)\//.test(path)),
    [],
  );
});

test('a broker without http.listeners loads neither prom-client nor ws', async () => {
  const loaded = (await modulesLoaded()).packages;
  assert.ok(loaded.length > 0, 'the module cache lists the packages a broker loads');
  assert.deepEqual(
    loaded.filter((path) => /node_modules\/(prom-client|@opentelemetry|ws)\//.test(path)),
    [],
  );
});

test('a broker without http.listeners loads neither node:http nor node:https', async () => {
  const { builtins } = await modulesLoaded('./src/broker.ts');
  assert.ok(builtins.includes('NativeModule net'), 'the list names the built-ins loaded');
  assert.deepEqual(
    builtins.filter((name) => /^NativeModule (http|https|_http_\w+)$/.test(name)),
    [],
  );
});

test('a broker without TLS listeners loads no node:tls', async () => {
  const { builtins } = await modulesLoaded('./src/broker.ts');
  assert.deepEqual(
    builtins.filter((name) => /^NativeModule (tls|_tls_\w+)$/.test(name)),
    [],
  );
});

test('a broker no client has asked anything has loaded no handler but ApiVersions', async () => {
  const { sources } = await modulesLoaded('./src/broker.ts');
  assert.ok(
    sources.some((url) => url.endsWith('/src/broker.ts')),
    'the list names the modules loaded',
  );
  assert.deepEqual(
    sources
      .filter((url) => url.includes('/src/handlers/'))
      .map((url) => url.slice(url.indexOf('/src/handlers/') + 1))
      .sort(),
    ['src/handlers/api-versions.ts', 'src/handlers/registry.ts', 'src/handlers/served-versions.ts'],
  );
});

test('a broker no client has asked anything has loaded no API codecs', async () => {
  assert.deepEqual((await modulesLoaded()).codecsLoaded, []);
});

test('a broker of one thread (num.io.threads 1, the default) loads no network thread code', async () => {
  const { sources } = await modulesLoaded('./src/broker.ts');
  assert.ok(
    sources.some((url) => url.endsWith('/src/server/server.ts')),
    'the list names the server',
  );
  assert.deepEqual(
    sources.filter((url) => /\/src\/server\/network-/.test(url)),
    [],
  );
});
