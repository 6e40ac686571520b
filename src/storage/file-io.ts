// The one seam every byte of storage I/O passes through. Production uses `nodeFileIo`; tests wrap
// it to inject EIO, ENOSPC and slow fsync, and to record each file's last fsynced length so a
// power loss can be simulated by cutting every file back to it.

import {
  close,
  fdatasync,
  fstat,
  ftruncate,
  promises as fs,
  constants as fsConstants,
  open,
  read,
  type Stats,
  writev,
  writevSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';

/** An open file. Positions are explicit: nothing relies on a shared file cursor. */
export interface LogFile {
  readonly path: string;
  /** Writes every buffer, in order, starting at `position`; loops over short writes. */
  write(buffers: Buffer[], position: number): Promise<void>;
  /**
   * As `write`, but on the calling thread, when the file has a descriptor at hand: true once
   * everything is written, false when nothing was (no descriptor now, or a wrapper that does not
   * offer it; the caller then uses `write`). Throws what `write` would reject with. It blocks the
   * event loop for the syscall, so it is for small appends only: a few hundred bytes to the page
   * cache take about a microsecond and a half, where `write` costs a thread-pool round trip
   * (some 30 us of CPU and a wake-up of the loop).
   */
  writeSync?(buffers: Buffer[], position: number): boolean;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; returns the count read. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface FileIo {
  /**
   * Opens for reading and writing, creating the file when `create` is set. `bestEffort` marks a
   * file whose unsynced writes may be lost at no cost but precision (the append-time index): the
   * descriptor pool (file-pool.ts) may then close it between a write and a datasync.
   * `deferred` says the file may go unused for a long time (a log opened at start): the pool
   * then opens it (creating it with `create`) at its first operation, so ten thousand idle logs
   * hold no descriptor at all; an open error shows at that operation. `nodeFileIo` opens at once.
   */
  open(
    path: string,
    options: { create: boolean; bestEffort?: boolean; deferred?: boolean },
  ): Promise<LogFile>;
  readFile(path: string): Promise<Buffer | null>;
  /** The length of the file at `path` in bytes, or null when there is none; opens no descriptor. */
  fileSize(path: string): Promise<number | null>;
  /** Writes a small file atomically and durably: temporary file, fsync, rename, directory fsync. */
  writeFileAtomic(path: string, data: Buffer): Promise<void>;
  /** Creates a file only if it does not exist; false when it already does. */
  createExclusive(path: string, data: Buffer): Promise<boolean>;
  readdir(directory: string): Promise<string[]>;
  mkdir(directory: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  removeDirectory(directory: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** fsync on the directory itself, so created, renamed and deleted names survive a power loss. */
  syncDirectory(directory: string): Promise<void>;
}

/**
 * An open file as a raw descriptor driven by fs's callback calls. A FileHandle's promise calls
 * cost about twice the CPU per operation (bench/file-call-bench.ts) and an EventEmitter per
 * open, which a broker of ten thousand partitions cycling descriptors through its pool pays
 * thousands of times a second. What a FileHandle does besides is kept: a close waits for the
 * operations in flight (a descriptor closed under a thread-pool write could be reused by the
 * next open and the write land in another file); an operation after the close fails with EBADF
 * instead of reaching a reused descriptor; and a file dropped unclosed has its descriptor closed
 * when it is collected.
 */
class NodeLogFile implements LogFile {
  private inFlight = 0;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    unclosedDescriptors.register(this, fd, this);
  }

  /** Runs one call on the descriptor, counted in flight until its callback. */
  private call<T>(
    syscall: string,
    start: (fd: number, done: (error: NodeJS.ErrnoException | null, value: T) => void) => void,
  ): Promise<T> {
    if (this.closing !== null) return Promise.reject(closedFileError(syscall, this.path));
    this.inFlight++;
    return new Promise<T>((resolve, reject) => {
      const done = (error: NodeJS.ErrnoException | null, value: T): void => {
        if (--this.inFlight === 0 && this.drained !== null) this.drained();
        if (error !== null) reject(error);
        else resolve(value);
      };
      try {
        start(this.fd, done);
      } catch (error) {
        // An argument fs refused before the call started (no callback will come).
        done(error as NodeJS.ErrnoException, undefined as T);
      }
    });
  }

  async write(buffers: Buffer[], position: number): Promise<void> {
    let pending = buffers;
    let at = position;
    while (pending.length > 0) {
      const bytesWritten = await this.call<number>('write', (fd, done) =>
        writev(fd, pending, at, done),
      );
      at += bytesWritten;
      pending = skipBytes(pending, bytesWritten);
    }
  }

  writeSync(buffers: Buffer[], position: number): boolean {
    if (this.closing !== null) throw closedFileError('write', this.path);
    let pending = buffers;
    let at = position;
    while (pending.length > 0) {
      const bytesWritten = writevSync(this.fd, pending, at);
      at += bytesWritten;
      pending = skipBytes(pending, bytesWritten);
    }
    return true;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    let total = 0;
    while (total < length) {
      const bytesRead = await this.call<number>('read', (fd, done) =>
        read(fd, buffer, offset + total, length - total, position + total, done),
      );
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  datasync(): Promise<void> {
    return this.call<void>('fdatasync', (fd, done) =>
      fdatasync(fd, (error) => done(error, undefined)),
    );
  }

  truncate(length: number): Promise<void> {
    return this.call<void>('ftruncate', (fd, done) =>
      ftruncate(fd, length, (error) => done(error, undefined)),
    );
  }

  async size(): Promise<number> {
    const stats = await this.call<Stats>('fstat', (fd, done) => fstat(fd, done));
    return stats.size;
  }

  close(): Promise<void> {
    this.closing ??= this.closeOnceDrained();
    return this.closing;
  }

  private async closeOnceDrained(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    unclosedDescriptors.unregister(this);
    await new Promise<void>((resolve, reject) =>
      close(this.fd, (error) => (error === null ? resolve() : reject(error))),
    );
  }
}

/** Closes the descriptor of a NodeLogFile collected without a close (none should be). */
const unclosedDescriptors = new FinalizationRegistry<number>((fd) => {
  close(fd, () => undefined);
});

function closedFileError(syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EBADF: file already closed, ${syscall} '${path}'`), {
    code: 'EBADF',
    errno: -osConstants.errno.EBADF,
    syscall,
    path,
  });
}

/** Drops the first `count` bytes from a list of buffers, without copying. */
export function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  let remaining = count;
  let index = 0;
  while (index < buffers.length && remaining >= buffers[index].length) {
    remaining -= buffers[index].length;
    index++;
  }
  const rest = buffers.slice(index);
  if (rest.length > 0 && remaining > 0) rest[0] = rest[0].subarray(remaining);
  return rest;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export const nodeFileIo: FileIo = {
  open(path, options) {
    const flags = options.create ? fsConstants.O_RDWR | fsConstants.O_CREAT : fsConstants.O_RDWR;
    return new Promise((resolve, reject) =>
      open(path, flags, 0o644, (error, fd) =>
        error === null ? resolve(new NodeLogFile(path, fd)) : reject(error),
      ),
    );
  },
  async readFile(path) {
    try {
      return await fs.readFile(path);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  },
  async fileSize(path) {
    try {
      return (await fs.stat(path)).size;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  },
  async writeFileAtomic(path, data) {
    const temporary = `${path}.tmp`;
    const handle = await fs.open(temporary, 'w', 0o644);
    try {
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, path);
    await nodeFileIo.syncDirectory(directoryOf(path));
  },
  async createExclusive(path, data) {
    try {
      const handle = await fs.open(path, 'wx', 0o644);
      try {
        await handle.writeFile(data);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await nodeFileIo.syncDirectory(directoryOf(path));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  },
  readdir(directory) {
    return fs.readdir(directory);
  },
  async mkdir(directory) {
    await fs.mkdir(directory, { recursive: true });
  },
  rename(from, to) {
    return fs.rename(from, to);
  },
  async unlink(path) {
    try {
      await fs.unlink(path);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  },
  removeDirectory(directory) {
    return fs.rm(directory, { recursive: true, force: true });
  },
  async exists(path) {
    try {
      await fs.access(path);
      return true;
    } catch {
      return false;
    }
  },
  async syncDirectory(directory) {
    const handle = await fs.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

export function directoryOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}
