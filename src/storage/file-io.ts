// The one seam every byte of storage I/O passes through. Production uses `nodeFileIo`; tests wrap
// it to inject EIO, ENOSPC and slow fsync, and to record each file's last fsynced length so a
// power loss can be simulated by cutting every file back to it.

import { promises as fs, constants as fsConstants, writevSync } from 'node:fs';

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

class NodeLogFile implements LogFile {
  constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
  ) {}

  async write(buffers: Buffer[], position: number): Promise<void> {
    let pending = buffers;
    let at = position;
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, at);
      at += bytesWritten;
      pending = skipBytes(pending, bytesWritten);
    }
  }

  writeSync(buffers: Buffer[], position: number): boolean {
    let pending = buffers;
    let at = position;
    while (pending.length > 0) {
      const bytesWritten = writevSync(this.handle.fd, pending, at);
      at += bytesWritten;
      pending = skipBytes(pending, bytesWritten);
    }
    return true;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    let total = 0;
    while (total < length) {
      const { bytesRead } = await this.handle.read(
        buffer,
        offset + total,
        length - total,
        position + total,
      );
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
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
  async open(path, options) {
    const flags = options.create ? fsConstants.O_RDWR | fsConstants.O_CREAT : fsConstants.O_RDWR;
    return new NodeLogFile(path, await fs.open(path, flags, 0o644));
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
