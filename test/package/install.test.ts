// Brook as a dependency of someone else's project: `npm pack` of this checkout, and the checkout's
// path, installed with npm into a scratch project in a temporary directory. There a plain Node.js
// script imports `brook`, starts a broker, produces and consumes; and tsc type-checks a .ts file
// against the declarations the package ships. Slow (npm compiles the native dependencies), so
// each step has a generous bound; npm resolves from its cache first and the registry otherwise.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const stepTimeoutMs = 10 * 60 * 1000;

// npm variables of an outer `npm test` must not steer the scratch project's npm.
const environment = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
);

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    env: environment,
    timeout: stepTimeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

// Runs in the scratch project with plain Node.js: the client comes from this checkout's
// node_modules by absolute path, so the scratch project depends on nothing but Brook.
const appScript = `
import { startBroker } from 'brook';
import kafkajs from ${JSON.stringify(join(root, 'node_modules', 'kafkajs', 'index.js'))};

const { Kafka, logLevel } = kafkajs;
const broker = await startBroker();
try {
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  await producer.send({ topic: 'installed', messages: [{ value: 'from a dependency' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'installed-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'installed', fromBeginning: true });
  const value = await new Promise((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) });
  });
  await consumer.disconnect();
  console.log('consumed: ' + value);
} finally {
  await broker.stop();
}
`;

// Type-checked, never run. The @ts-expect-error lines fail the check if the package shipped no
// declarations (everything would be \`any\`) as surely as a wrong declaration would.
const typedScript = `
import { startBroker, type Broker, type StartBrokerOptions } from 'brook';

const options: StartBrokerOptions = { settings: { 'num.partitions': 2 } };
const broker: Broker = await startBroker(options);
const servers: string = broker.bootstrapServers;
const port: number = broker.listeners[0].port;
// @ts-expect-error bootstrapServers is a string
const wrong: number = broker.bootstrapServers;
// @ts-expect-error there is no such export
import { notBrook } from 'brook';
await broker.stop();
export { servers, port, wrong, notBrook };
`;

const typedConfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
  },
  files: ['typed.ts'],
};

async function scratchProject(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeFile(
    join(directory, 'package.json'),
    JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true, type: 'module' }),
  );
  await writeFile(join(directory, 'app.mjs'), appScript);
  await writeFile(join(directory, 'typed.ts'), typedScript);
  await writeFile(join(directory, 'tsconfig.json'), JSON.stringify(typedConfig));
}

async function checkInstalled(directory: string): Promise<void> {
  const { stdout } = await run(process.execPath, ['app.mjs'], {
    cwd: directory,
    env: environment,
    timeout: 60_000,
  });
  assert.match(stdout, /consumed: from a dependency/);
  // The command npm linked runs (bin/brook finds dist/ through npm's symlink).
  const version = await run(join(directory, 'node_modules', '.bin', 'brook'), ['--version'], {
    cwd: directory,
    env: environment,
    timeout: 60_000,
  });
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: directory, timeout: 120_000 });
}

describe('brook as a dependency', { timeout: 3 * stepTimeoutMs }, () => {
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'brook-package-'));
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('npm pack of the checkout gives a tarball with dist, types and LICENSE that installs and runs', async () => {
    const packed = JSON.parse(
      await npm(root, ['pack', '--json', '--pack-destination', scratch]),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const paths = new Set(packed[0].files.map((file) => file.path));
    for (const required of ['LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
      assert.ok(paths.has(required), `the tarball lacks ${required}`);
    }
    assert.ok(
      paths.has('bin/brook') && paths.has('dist/cli/main.js'),
      'the tarball lacks the brook command',
    );
    assert.ok(![...paths].some((path) => path.startsWith('src/') || path.startsWith('test/')));

    const app = join(scratch, 'from-tarball');
    await scratchProject(app);
    await npm(app, ['install', join(scratch, packed[0].filename)]);
    assert.ok(existsSync(join(app, 'node_modules', 'brook', 'dist', 'index.js')));
    assert.ok(existsSync(join(app, 'node_modules', '.bin', 'brook')));
    await checkInstalled(app);
  });

  it('npm install of the checkout path gives a working package', async () => {
    const app = join(scratch, 'from-path');
    await scratchProject(app);
    await npm(app, ['install', root]);
    assert.deepEqual(
      (await readdir(join(app, 'node_modules', 'brook', 'dist'))).includes('index.d.ts'),
      true,
    );
    await checkInstalled(app);
  });
});
