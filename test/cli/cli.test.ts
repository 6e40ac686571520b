import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type StartBroker, startCommand } from '../../src/cli/start.js';
import { brokerConfigDefinitions } from '../../src/config/index.js';
import { createApiVersionsHandler } from '../../src/handlers/api-versions.js';
import { HandlerRegistry } from '../../src/handlers/registry.js';
import { silentLogger, startServer } from '../../src/server/index.js';

const root = new URL('../..', import.meta.url).pathname;

interface Run {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source, as `brook ARGS`, and collects its output. */
function brook(args: string[], environment: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args],
      {
        cwd: root,
        env: { PATH: process.env.PATH, ...environment },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

test('brook --help lists every broker setting with its flag and environment variable', async () => {
  const run = await brook(['--help']);
  assert.equal(run.exitCode, 0);
  assert.match(run.stdout, /brook start/);
  for (const name of brokerConfigDefinitions.keys()) {
    assert.ok(
      run.stdout.includes(`--${name.replace(/\./g, '-')}`),
      `help shows the flag for ${name}`,
    );
    assert.ok(
      run.stdout.includes('BROOK_' + name.toUpperCase().replace(/\./g, '_')),
      `help shows the variable for ${name}`,
    );
  }
});

test('brook groups has its own help', async () => {
  const run = await brook(['groups', '--help']);
  assert.equal(run.exitCode, 0);
  assert.match(run.stdout, /reset-offsets/);
});

test('an unknown command is a usage error with a stable code', async () => {
  const run = await brook(['serve']);
  assert.equal(run.exitCode, 2);
  assert.match(run.stderr, /unknown command "serve".*BROOK_CLI_UNKNOWN_COMMAND/);
});

test('brook start refuses an unknown flag, an invalid value and a missing config file, naming each', async () => {
  const unknown = await brook(['start', '--num-partition', '4']);
  assert.equal(unknown.exitCode, 2);
  assert.match(unknown.stderr, /--num-partition.*BROOK_CONFIG_UNKNOWN_SETTING/);

  const invalid = await brook(['start'], { BROOK_NUM_PARTITIONS: 'many' });
  assert.equal(invalid.exitCode, 2);
  assert.match(invalid.stderr, /num\.partitions.*BROOK_NUM_PARTITIONS.*BROOK_CONFIG_INVALID_VALUE/);

  const missing = await brook(['start', '--config', '/nonexistent/server.properties']);
  assert.equal(missing.exitCode, 2);
  assert.match(missing.stderr, /\/nonexistent\/server\.properties.*BROOK_CONFIG_FILE_UNREADABLE/);
});

test('start prints the port actually bound when the listener asks for port 0', async () => {
  // A stand-in for startBroker that serves ApiVersions on the configured listeners.
  const startBroker: StartBroker = async ({ config }) => {
    const registry = new HandlerRegistry();
    registry.register(createApiVersionsHandler(registry));
    const server = await startServer({
      listeners: config.listeners,
      registry,
      logger: silentLogger,
    });
    return {
      bootstrapServers: server.listeners
        .map((listener) => `${listener.host}:${listener.port}`)
        .join(','),
      listeners: server.listeners,
      stop: () => server.stop(),
    };
  };
  const lines: string[] = [];
  const broker = await startCommand(
    [
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
      '--log-dirs',
      mkdtempSync(join(tmpdir(), 'brook-cli-')),
    ],
    { out: (line) => lines.push(line), error: (line) => lines.push(line) },
    startBroker,
  );
  try {
    const listening = lines.find((line) => line.includes('listening on'));
    const port = Number(/PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(listening ?? '')?.[1]);
    assert.ok(port > 0, `a real port in ${JSON.stringify(lines)}`);
    const admin = new Kafka({
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    await admin.connect();
    await admin.disconnect();
  } finally {
    await broker.stop();
  }
});

test('the brook bin is the launcher bin/brook; the built dist/cli/main.js also runs by itself', () => {
  assert.ok(
    readFileSync(join(root, 'src/cli/main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n'),
  );
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  assert.equal(packageJson.bin.brook, 'bin/brook');
});

// The whole process: start on port 0, serve a real client, stop on SIGTERM.
test('brook start serves kafkajs on port 0 and stops cleanly on SIGTERM', async () => {
  const logDirs = mkdtempSync(join(tmpdir(), 'brook-cli-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/cli/main.ts'),
      'start',
      '--log-dirs',
      logDirs,
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
    ],
    { cwd: root, env: { PATH: process.env.PATH } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const deadline = Date.now() + 20_000;
    while (!/listening on PLAINTEXT:\/\/127\.0\.0\.1:\d+/.test(stdout)) {
      if (Date.now() > deadline || child.exitCode !== null)
        assert.fail(`brook did not report listening: ${stdout} ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const port = Number(/listening on PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1]);
    const admin = new Kafka({
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    await admin.connect();
    await admin.disconnect();
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /stopped/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
