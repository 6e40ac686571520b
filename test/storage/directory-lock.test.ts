// The log-directory lock is the kernel's (flock on `<log.dirs>/.lock`), not the pid in the file:
// it holds across PID namespaces, it is gone the instant its holder dies (even while the dead
// process is still a zombie), and a pid left in the file by anything else blocks nothing.
// Brokers run as real child processes; the namespace tests need `unshare` (util-linux) as root.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';

import { Kafka, logLevel } from 'kafkajs';

import { LOCK_FILE_NAME } from '../../src/storage/directory-lock.js';
import { StorageError } from '../../src/storage/errors.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { inContinuousIntegration } from '../helpers/clients.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const { flockSync } = createRequire(import.meta.url)('fs-ext') as {
  flockSync(fd: number, flags: 'exnb'): void;
};

/** The broker runs as pid 1 of a new PID namespace, as in a container sharing the volume. */
const inNewPidNamespace = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
/** `sh` starts the broker, then becomes `sleep`, which never reaps it: a killed broker stays a zombie. */
const underNonReapingParent = ['sh', '-c', '"$@" & exec sleep 600', 'sh'];

const topic = 'locked';

/** Every broker a test starts is killed when it ends, whatever happened. */
async function startBroker(
  t: TestContext,
  options: Parameters<typeof startBrokerProcess>[0],
): Promise<BrokerProcess> {
  const broker = await startBrokerProcess(options);
  t.after(() => broker.kill());
  return broker;
}

/** Starts a broker that must be refused; resolves with what it printed. */
async function startRefused(
  t: TestContext,
  options: Parameters<typeof startBrokerProcess>[0],
): Promise<string> {
  let started: BrokerProcess;
  try {
    started = await startBrokerProcess(options);
  } catch (error) {
    return (error as Error).message;
  }
  t.after(() => started.kill());
  assert.fail(`a broker started on ${options.logDir}, which another broker holds`);
}

function requireUnshare(t: TestContext): boolean {
  const probe = spawnSync(inNewPidNamespace[0], [...inNewPidNamespace.slice(1), 'true'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (probe.status === 0) return true;
  const reason = `cannot create a PID namespace (${inNewPidNamespace.join(' ')} true: ${probe.error?.message ?? probe.stderr.trim()}); run as root with util-linux installed`;
  if (inContinuousIntegration) assert.fail(reason);
  t.skip(reason);
  return false;
}

/** The broker's own pid (host namespace) when it runs under a wrapper process. */
function brokerPidUnder(wrapper: BrokerProcess): number {
  const wrapperPid = wrapper.child.pid!;
  const children = readFileSync(`/proc/${wrapperPid}/task/${wrapperPid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  assert.equal(children.length, 1, `the wrapper ${wrapperPid} has one child: ${children}`);
  return children[0];
}

function processState(pid: number): string | null {
  try {
    // The state follows the parenthesised command name, which may itself contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

function lockFileText(logDir: string): string {
  return readFileSync(join(logDir, LOCK_FILE_NAME), 'utf8').trim();
}

function client(broker: BrokerProcess): Kafka {
  return new Kafka({
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

/** A broker that answers a metadata request; by then its signal handlers are installed too. */
async function assertServes(broker: BrokerProcess): Promise<void> {
  const admin = client(broker).admin();
  await admin.connect();
  try {
    assert.ok(Array.isArray(await admin.listTopics()));
  } finally {
    await admin.disconnect();
  }
}

async function produce(broker: BrokerProcess, values: string[]): Promise<void> {
  const producer = client(broker).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
}

async function readAll(broker: BrokerProcess, count: number): Promise<[string, string][]> {
  const consumer = client(broker).consumer({ groupId: `reader-${Date.now()}` });
  const records: [string, string][] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) =>
        void records.push([message.offset, message.value!.toString()]),
    });
    await waitFor(() => records.length >= count, `${count} records read back`, {
      timeoutMs: 30_000,
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

test('a broker in another PID namespace is refused while the first runs, and nothing acknowledged is overwritten', async (t) => {
  if (!requireUnshare(t)) return;
  const logDir = temporaryDirectory(t);
  const first = await startBroker(t, { logDir });
  const admin = client(first).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  await produce(first, ['a', 'b']);

  // Its `.lock` names a pid that does not exist in the new namespace; the old pid file gave way.
  const refused = await startRefused(t, { logDir, wrapper: inNewPidNamespace });
  assert.match(refused, /BROOK_LOG_DIRECTORY_LOCKED/);
  assert.ok(refused.includes(`log directory ${logDir} is in use by another process`), refused);
  // And a plain start beside the first is refused too.
  assert.match(await startRefused(t, { logDir }), /BROOK_LOG_DIRECTORY_LOCKED/);

  await produce(first, ['c', 'd']);
  assert.equal(await first.stop(), 0);
  const reopened = await startBroker(t, { logDir });
  assert.deepEqual(await readAll(reopened, 4), [
    ['0', 'a'],
    ['1', 'b'],
    ['2', 'c'],
    ['3', 'd'],
  ]);
  assert.equal(await reopened.stop(), 0);
});

test('a broker SIGKILLed in a PID namespace leaves .lock = 1, and a start outside it succeeds at once', async (t) => {
  if (!requireUnshare(t)) return;
  const logDir = temporaryDirectory(t);
  const namespaced = await startBroker(t, { logDir, wrapper: inNewPidNamespace });
  assert.equal(lockFileText(logDir), '1', 'the broker is pid 1 of its namespace');
  process.kill(brokerPidUnder(namespaced), 'SIGKILL');
  await namespaced.exited;
  assert.equal(lockFileText(logDir), '1', 'a killed broker leaves its pid behind');

  const next = await startBroker(t, { logDir });
  assert.equal(lockFileText(logDir), String(next.child.pid));
  await assertServes(next);
  assert.equal(await next.stop(), 0);
});

test('a start right after a SIGKILL succeeds while the killed broker is still a zombie', async (t) => {
  const logDir = temporaryDirectory(t);
  const wrapper = await startBroker(t, { logDir, wrapper: underNonReapingParent });
  const killedPid = brokerPidUnder(wrapper);
  assert.equal(lockFileText(logDir), String(killedPid));
  process.kill(killedPid, 'SIGKILL');
  // Not reaped: the pid still answers signal 0, which is what the pid-file lock trusted.
  await waitFor(() => processState(killedPid) === 'Z', `pid ${killedPid} a zombie`, {
    timeoutMs: 10_000,
  });

  const next = await startBroker(t, { logDir });
  assert.equal(processState(killedPid), 'Z', 'the killed broker was not reaped meanwhile');
  assert.equal(lockFileText(logDir), String(next.child.pid));
  await assertServes(next);
  assert.equal(await next.stop(), 0);
});

test('a .lock naming a live process that holds no lock (a pid from another machine) blocks nothing', async (t) => {
  const directory = temporaryDirectory(t);
  for (const pid of [process.ppid, 1]) {
    writeFileSync(join(directory, LOCK_FILE_NAME), `${pid}\n`);
    const manager = await LogManager.open({
      directory,
      retentionCheckIntervalMs: 0,
      checkpointIntervalMs: 0,
    });
    assert.equal(lockFileText(directory), String(process.pid), `${pid} was replaced`);
    await manager.close();
  }
});

test('a second open of a log directory in the same process is refused, under any path', async (t) => {
  const directory = temporaryDirectory(t);
  const alias = `${directory}-alias`;
  symlinkSync(directory, alias);
  t.after(() => rmSync(alias, { force: true }));
  const options = { retentionCheckIntervalMs: 0, checkpointIntervalMs: 0 };
  const manager = await LogManager.open({ directory, ...options });

  for (const path of [alias, directory]) {
    await assert.rejects(LogManager.open({ directory: path, ...options }), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.code, 'BROOK_LOG_DIRECTORY_LOCKED');
      assert.equal(
        error.message,
        `log directory ${path} is in use by another broker in this process; stop that broker or point this one at another log.dirs`,
      );
      return true;
    });
  }
  // What another process sees: the kernel refuses the lock to any other open of the file.
  const fd = openSync(join(directory, LOCK_FILE_NAME), 'r');
  try {
    assert.throws(() => flockSync(fd, 'exnb'), { code: 'EAGAIN' });
  } finally {
    closeSync(fd);
  }

  await manager.close();
  const reopened = await LogManager.open({ directory: alias, ...options });
  await reopened.close();
});
