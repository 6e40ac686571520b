// One process per log directory. The lock file holds the owner's process id; it is created
// exclusively, and a lock left by a process that no longer exists (a crash) is taken over.
// Node.js has no flock(), so liveness is checked with signal 0.

import { KafkaStorageErrorCode, StorageError, StorageErrorCode } from './errors.js';
import type { FileIo } from './file-io.js';

export const LOCK_FILE_NAME = '.lock';

/** Directories locked by this process: a second open in the same process is refused too. */
const heldLocks = new Set<string>();

function isProcessAlive(processId: number): boolean {
  try {
    process.kill(processId, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(directory: string, owner: string): StorageError {
  return new StorageError(
    StorageErrorCode.LOG_DIRECTORY_LOCKED,
    `log directory ${directory} is in use by ${owner}; stop that broker or point this one at another log.dirs`,
    KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
  );
}

export interface DirectoryLock {
  release(): Promise<void>;
}

export async function lockDirectory(io: FileIo, directory: string): Promise<DirectoryLock> {
  const path = `${directory}/${LOCK_FILE_NAME}`;
  if (heldLocks.has(path)) throw lockedError(directory, 'this process');
  const contents = Buffer.from(`${process.pid}\n`);
  if (!(await io.createExclusive(path, contents))) {
    const existing = (await io.readFile(path))?.toString('utf8').trim() ?? '';
    const owner = Number(existing);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isProcessAlive(owner)) {
      throw lockedError(directory, `process ${owner}`);
    }
    // The owner is gone: the lock is stale. Replace it atomically.
    await io.writeFileAtomic(path, contents);
  }
  heldLocks.add(path);
  return {
    async release() {
      heldLocks.delete(path);
      await io.unlink(path);
    },
  };
}
