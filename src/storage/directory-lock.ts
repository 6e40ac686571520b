// One process per log directory, enforced by the kernel: `<log.dirs>/.lock` is held with an
// exclusive flock(2) for as long as the broker runs, like Kafka's FileChannel.tryLock. The kernel
// drops the lock the moment the holder's file descriptor is closed, which includes every way a
// process can die (SIGKILL, OOM kill, a crash), and it compares open files, not process ids, so
// PID namespaces (containers sharing a volume) and pids recycled or reused on another machine
// cannot fool it. The pid written into the file is for people reading it; nothing here trusts it.
//
// The lock file bypasses the FileIo seam on purpose: flock needs a real kernel descriptor, and the
// lock is no data a fault or a power loss could damage (a power loss drops every lock with it).
//
// Release removes the file, then closes the descriptor (which unlocks). A process that opened
// the old file just before the removal can still lock that now nameless inode, so after locking
// we check that the path still names the inode we locked, and start over when it does not.
//
// The calls are synchronous: they run once when a log directory opens and once when it closes.

import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { KafkaStorageErrorCode, StorageError, StorageErrorCode } from './errors.js';

export const LOCK_FILE_NAME = '.lock';

// fs-ext is a CommonJS native addon without type declarations; this is all of it Brook uses.
const { flockSync } = createRequire(import.meta.url)('fs-ext') as {
  /** 'exnb': exclusive and non-blocking, throws EAGAIN (or EWOULDBLOCK) when held elsewhere. */
  flockSync(fd: number, flags: 'exnb'): void;
};

/**
 * Files (device and inode) locked by this process. flock alone already refuses a second open in
 * this process, since each open gets its own open file description; this only names the culprit.
 */
const heldLocks = new Set<string>();

/** Attempts at locking a file that keeps being replaced before giving up (see the header). */
const lockAttemptsMax = 10;

function lockedError(directory: string, holder: string): StorageError {
  return new StorageError(
    StorageErrorCode.LOG_DIRECTORY_LOCKED,
    `log directory ${directory} is in use by ${holder}; stop that broker or point this one at another log.dirs`,
    KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
  );
}

function isHeldElsewhere(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/** What `.lock` says about its holder, for the message only: the pid may be in another namespace. */
function describeHolder(fd: number): string {
  const buffer = Buffer.alloc(32);
  let text = '';
  try {
    const bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
    text = buffer.subarray(0, bytesRead).toString('utf8').trim();
  } catch {
    // The description is a courtesy; the refusal stands without it.
  }
  return /^\d+$/.test(text)
    ? `another process (its ${LOCK_FILE_NAME} names pid ${text})`
    : 'another process';
}

function fileKey(stats: { dev: number; ino: number }): string {
  return `${stats.dev}:${stats.ino}`;
}

export interface DirectoryLock {
  /** Removes `.lock` and closes its descriptor, which drops the kernel lock. */
  release(): Promise<void>;
}

/** Locks `directory` (which must exist) for this process, or throws BROOK_LOG_DIRECTORY_LOCKED. */
export async function lockDirectory(directory: string): Promise<DirectoryLock> {
  const path = `${directory}/${LOCK_FILE_NAME}`;
  for (let attempt = 1; attempt <= lockAttemptsMax; attempt++) {
    // Node opens with O_CLOEXEC, so processes the broker spawns do not inherit the lock.
    const fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
    const locked = fileKey(fstatSync(fd));
    if (heldLocks.has(locked)) {
      closeSync(fd);
      throw lockedError(directory, 'another broker in this process');
    }
    try {
      flockSync(fd, 'exnb');
    } catch (error) {
      const holder = isHeldElsewhere(error) ? describeHolder(fd) : null;
      closeSync(fd);
      if (holder !== null) throw lockedError(directory, holder);
      throw error;
    }
    if (!namesFile(path, locked)) {
      closeSync(fd); // the holder released and removed it meanwhile; lock the current file
      continue;
    }
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`, 0);
    } catch (error) {
      closeSync(fd); // a broker that cannot start must not keep the directory locked
      throw error;
    }
    heldLocks.add(locked);
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        heldLocks.delete(locked);
        try {
          if (namesFile(path, locked)) unlinkSync(path);
        } finally {
          closeSync(fd);
        }
      },
    };
  }
  throw lockedError(directory, `processes that keep replacing ${LOCK_FILE_NAME}`);
}

function namesFile(path: string, key: string): boolean {
  try {
    return fileKey(statSync(path)) === key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
