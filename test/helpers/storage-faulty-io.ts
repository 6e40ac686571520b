// A FileIo for tests: wraps the real one to count fsyncs, inject errors (EIO, ENOSPC) into writes,
// fsyncs, opens, truncations and reads, slow fsyncs, and to record each file's last fsynced
// length so a power loss can be simulated by cutting every file back to it
// (`cutToFsyncedLengths`).

import {
  appendFileSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { nodeFileIo, type FileIo, type LogFile } from '../../src/storage/file-io.js';

export type FaultOperation = 'write' | 'datasync' | 'open' | 'truncate' | 'read' | 'readdir';

export interface Fault {
  operation: FaultOperation;
  /** Only files whose path contains this. */
  pathIncludes?: string;
  errorCode: string;
  /** How many matching calls fail; Infinity until cleared. */
  times: number;
}

function errnoError(code: string, operation: string, path: string): NodeJS.ErrnoException {
  const error = new Error(
    `${code}: injected failure, ${operation} '${path}'`,
  ) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}

export class FaultyFileIo implements FileIo {
  datasyncCount = 0;
  /** The most datasyncs of one file seen in flight at once. */
  datasyncOverlapMax = 0;
  private readonly datasyncsInFlight = new Map<string, number>();
  writeCount = 0;
  datasyncDelayMs = 0;
  /** Writes that went through LogFile.writeSync (a subset of writeCount). */
  syncWriteCount = 0;
  /** How long each writeSync holds the event loop (spinning) before it writes. */
  writeSyncDelayMs = 0;
  /** Files opened from now on offer no writeSync: every write goes through the thread pool. */
  asyncWritesOnly = false;
  /** While set (`holdWrites`), writes to files whose path contains `pathIncludes` wait for it. */
  private writeHold: { pathIncludes: string; until: Promise<void> } | null = null;
  /** Writes that have reached a hold and wait there. */
  heldWrites = 0;
  private faults: Fault[] = [];
  /** path -> length at the last fsync that completed. */
  readonly fsyncedLengths = new Map<string, number>();

  /** With a journal path, every fsynced length is also appended there (for a child process that gets killed). */
  constructor(
    private readonly inner: FileIo = nodeFileIo,
    private readonly journalPath?: string,
  ) {}

  inject(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Holds asynchronous writes to files whose path contains `pathIncludes` (a writer stopped in
   * the middle of its write) until the returned function is called.
   */
  holdWrites(pathIncludes: string): () => void {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    this.writeHold = { pathIncludes, until };
    return () => {
      this.writeHold = null;
      release();
    };
  }

  private check(operation: FaultOperation, path: string): void {
    const fault = this.faults.find(
      (candidate) =>
        candidate.operation === operation &&
        candidate.times > 0 &&
        (!candidate.pathIncludes || path.includes(candidate.pathIncludes)),
    );
    if (!fault) return;
    fault.times--;
    throw errnoError(fault.errorCode, operation, path);
  }

  /**
   * Should two fsyncs of one file overlap (the log never lets them: see datasyncOverlapMax), the
   * longer length is the durable one, whichever finishes last. Only a truncation makes the
   * durable length shorter.
   */
  private recordFsynced(path: string, length: number, shrink = false): void {
    const previous = this.fsyncedLengths.get(path) ?? 0;
    const durable = shrink ? length : Math.max(previous, length);
    this.fsyncedLengths.set(path, durable);
    if (this.journalPath)
      appendFileSync(this.journalPath, `${shrink ? 'cut' : 'sync'}\t${path}\t${durable}\n`);
  }

  private recordRename(from: string, to: string): void {
    const length = this.fsyncedLengths.get(from);
    this.fsyncedLengths.delete(from);
    if (length !== undefined) this.fsyncedLengths.set(to, length);
    if (this.journalPath) appendFileSync(this.journalPath, `rename\t${from}\t${to}\n`);
  }

  async open(path: string, options: { create: boolean }): Promise<LogFile> {
    this.check('open', path);
    const file = await this.inner.open(path, options);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const io = this;
    return {
      path,
      async write(buffers, position) {
        io.writeCount++;
        io.check('write', path);
        const hold = io.writeHold;
        if (hold !== null && path.includes(hold.pathIncludes)) {
          io.heldWrites++;
          await hold.until;
          io.heldWrites--;
        }
        await file.write(buffers, position);
      },
      // Offered as the real file offers it, so injected faults reach the group-commit writer's
      // synchronous path too (small groups); `asyncWritesOnly` takes it away.
      ...(file.writeSync !== undefined && !io.asyncWritesOnly
        ? {
            writeSync(buffers: Buffer[], position: number): boolean {
              io.writeCount++;
              io.syncWriteCount++;
              io.check('write', path);
              // Synchronous, so a slow one holds the caller's event loop: spin, as a stalled
              // write(2) would.
              const until = performance.now() + io.writeSyncDelayMs;
              while (performance.now() < until);
              return file.writeSync!(buffers, position);
            },
          }
        : {}),
      async read(buffer, offset, length, position) {
        io.check('read', path);
        return file.read(buffer, offset, length, position);
      },
      async datasync() {
        io.datasyncCount++;
        const inFlight = (io.datasyncsInFlight.get(path) ?? 0) + 1;
        io.datasyncsInFlight.set(path, inFlight);
        io.datasyncOverlapMax = Math.max(io.datasyncOverlapMax, inFlight);
        try {
          const length = await file.size();
          if (io.datasyncDelayMs > 0)
            await new Promise((resolve) => setTimeout(resolve, io.datasyncDelayMs));
          io.check('datasync', path);
          await file.datasync();
          io.recordFsynced(path, length);
        } finally {
          io.datasyncsInFlight.set(path, io.datasyncsInFlight.get(path)! - 1);
        }
      },
      async truncate(length) {
        io.check('truncate', path);
        await file.truncate(length);
        const synced = io.fsyncedLengths.get(path);
        if (synced !== undefined && synced > length) io.recordFsynced(path, length, true);
      },
      size: () => file.size(),
      close: () => file.close(),
    };
  }

  readFile(path: string): Promise<Buffer | null> {
    return this.inner.readFile(path);
  }

  fileSize(path: string): Promise<number | null> {
    return this.inner.fileSize(path);
  }

  async writeFileAtomic(path: string, data: Buffer): Promise<void> {
    this.check('write', path);
    await this.inner.writeFileAtomic(path, data);
    this.recordFsynced(path, data.length, true);
  }

  async createExclusive(path: string, data: Buffer): Promise<boolean> {
    const created = await this.inner.createExclusive(path, data);
    if (created) this.recordFsynced(path, data.length);
    return created;
  }

  async readdir(directory: string): Promise<string[]> {
    this.check('readdir', directory);
    return this.inner.readdir(directory);
  }

  mkdir(directory: string): Promise<void> {
    return this.inner.mkdir(directory);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.inner.rename(from, to);
    this.recordRename(from, to);
  }

  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }

  removeDirectory(directory: string): Promise<void> {
    return this.inner.removeDirectory(directory);
  }

  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }

  syncDirectory(directory: string): Promise<void> {
    return this.inner.syncDirectory(directory);
  }
}

/** Reads a journal written by a FaultyFileIo in another process: path -> last fsynced length. */
export function readFsyncJournal(journalPath: string): Map<string, number> {
  const lengths = new Map<string, number>();
  if (!existsSync(journalPath)) return lengths;
  for (const line of readFileSync(journalPath, 'utf8').split('\n')) {
    const [kind, first, second] = line.split('\t');
    if (kind === 'sync') lengths.set(first, Math.max(lengths.get(first) ?? 0, Number(second)));
    if (kind === 'cut') lengths.set(first, Number(second));
    if (kind === 'rename') {
      const length = lengths.get(first);
      lengths.delete(first);
      if (length !== undefined) lengths.set(second, length);
    }
  }
  return lengths;
}

/**
 * Simulates a power loss after the writer died: every file under `directory` is cut back to the
 * length it had at its last completed fsync (files never fsynced are cut to nothing). Returns the
 * number of bytes thrown away.
 */
export function cutToFsyncedLengths(
  directory: string,
  fsyncedLengths: Map<string, number>,
): number {
  let discarded = 0;
  const visit = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        visit(child);
        continue;
      }
      const size = statSync(child).size;
      const keep = Math.min(size, fsyncedLengths.get(child) ?? 0);
      if (keep < size) {
        truncateSync(child, keep);
        discarded += size - keep;
      }
    }
  };
  visit(directory);
  return discarded;
}

/**
 * nodeFileIo whose open files go through `hooks`: each replaces one of a file's methods and is
 * given the real file and its path (counting reads, holding an fsync), the rest pass through.
 */
export function hookedFileIo(hooks: {
  read?: (file: LogFile, path: string, ...args: Parameters<LogFile['read']>) => Promise<number>;
  datasync?: (file: LogFile, path: string) => Promise<void>;
}): FileIo {
  return {
    ...nodeFileIo,
    async open(path, options) {
      const file = await nodeFileIo.open(path, options);
      return {
        path: file.path,
        write: (buffers, position) => file.write(buffers, position),
        read: (buffer, offset, length, position) =>
          hooks.read === undefined
            ? file.read(buffer, offset, length, position)
            : hooks.read(file, path, buffer, offset, length, position),
        datasync: () =>
          hooks.datasync === undefined ? file.datasync() : hooks.datasync(file, path),
        truncate: (length) => file.truncate(length),
        size: () => file.size(),
        close: () => file.close(),
      };
    },
  };
}
