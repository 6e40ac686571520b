// A bound on open file descriptors, as a FileIo wrapper. A broker with ten thousand partitions has
// at least twenty thousand segment files it holds "open"; the pool keeps at most `openFilesMax`
// descriptors and closes the least recently used idle one when a file needs a descriptor past
// that. A pooled file reopens itself (by its current path) on its next operation, so its owner
// never notices.
//
// What is never closed behind an owner's back:
//   - a file with an operation in flight (its descriptor is in use);
//   - a file written since its last datasync: Linux reports a writeback error only to
//     descriptors open when it happened, so closing before the fsync could hide an EIO from it
//     (files opened `bestEffort`, whose unsynced writes may be lost anyway, are the exception);
//   - a file whose name was unlinked or whose directory was removed while its owner still holds
//     it (a segment deleted while a fetch reads it): its descriptor is the only way left to it.
// The bound can therefore be passed briefly (many files busy or dirty at once); at rest, with
// every write fsynced and the closes it started done (an evicted descriptor is closed without
// waiting for it), it holds.
//
// A file opened `deferred` (a log's segment files at start) gets its first descriptor the same
// way, at its first operation: a clean start of ten thousand idle logs opens and closes no
// descriptor for them.
//
// Two bounds: `openFilesMax` at rest, and a larger one while files are in use (`busyMax`, by
// default a quarter of the process's open-file limit, at most 16 times the rest bound). A
// release trims only to the larger one; past the rest bound, a sweep every SWEEP_INTERVAL_MS
// closes the files idle for REST_IDLE_MS. With one bound, ten thousand partitions taking a batch
// each cycled their files through a thousand descriptors (closed once fsynced, opened again at
// the next write): a quarter of the broker's busy time (docs/BENCHMARKS.md, "Produce spread over
// 10,000 partitions"). A quarter, not more: sockets and the files read outside the pool need the
// rest.
//
// Only idle files are candidates for closing, so the pool keeps just those in order: a file
// holding a descriptor with no operation in flight, clean and not pinned joins the idle list's
// newest end when its last operation ends, and leaves it when the next one starts. Closing takes
// the oldest, and every file looked at is one it closes. (A list of every open file, walked past
// the dirty and busy ones on each release, was a fifth of the broker's busy time with ten
// thousand partitions taking batches.)
//
// Out of descriptors (EMFILE, ENFILE) while reopening: many files dirty or busy at once (ten
// thousand partitions each taking a batch) can hold the process's whole descriptor table until
// their fsyncs end. That is a wait, not a disk failure: the reopen waits for a descriptor the
// pool holds to be released or closed, or DESCRIPTOR_RETRY_MS, and tries again, for up to
// DESCRIPTOR_WAIT_MS in all; only then does the error reach the caller (and, for a write or an
// fsync, fail its log).
//
// Renames through the pool update the path a file reopens by, so segment swaps and `.deleted`
// renames keep working. Paths changed behind the pool's back (not through its `rename`) would
// not be followed; every storage path goes through the FileIo seam, so none are.

import { openFileLimit } from '../util/open-file-limit.js';
import { StorageError, StorageErrorCode, KafkaStorageErrorCode } from './errors.js';
import { directoryOf, type FileIo, type LogFile } from './file-io.js';

/** Descriptors the pool keeps open at most (at rest), where the open-file limit allows. */
export const OPEN_FILES_MAX_DEFAULT = 1000;
/** Past the rest bound, a file is closed once it has gone this long unused... */
export const REST_IDLE_MS = 10_000;
/** ...by a sweep this often, while the pool is over the rest bound. */
const SWEEP_INTERVAL_MS = 1_000;
/** The bound while files are in use is at most this many times the rest bound. */
const BUSY_BOUND_FACTOR = 16;
/** How long a reopen waits for a descriptor, in all, when the process has none left. */
export const DESCRIPTOR_WAIT_MS = 60_000;
/** The longest one wait for a descriptor lasts before the reopen tries again. */
export const DESCRIPTOR_RETRY_MS = 50;

function outOfDescriptors(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EMFILE' || code === 'ENFILE';
}

class PooledFile implements LogFile {
  /** Where the file is now (renames through the pool move it). */
  currentPath: string;
  handle: LogFile | null;
  private opening: Promise<void> | null = null;
  busy = 0;
  /** Bumped by every write; a datasync that saw no newer one makes the file clean. */
  private writeGeneration = 0;
  private syncedGeneration = 0;
  /** Unlinked (or its directory removed) while held: its descriptor must stay. */
  pinned = false;
  /** Its place in the pool's idle list (see the header); null links at either end. */
  idle = false;
  idleOlder: PooledFile | null = null;
  idleNewer: PooledFile | null = null;
  /** performance.now() when it last went idle: the rest sweep closes files idle long enough. */
  idleSinceMs = 0;
  /** Opened `deferred` with `create`: its first descriptor creates it if it is missing. */
  createOnFirstOpen = false;
  private closed = false;

  constructor(
    private readonly pool: FilePool,
    readonly path: string,
    /** Null for a file opened `deferred`: it gets a descriptor at its first operation. */
    handle: LogFile | null,
    /** Unsynced writes may be lost (FileIo.open's bestEffort): closable while dirty. */
    private readonly bestEffort: boolean,
  ) {
    this.currentPath = path;
    this.handle = handle;
  }

  get dirty(): boolean {
    return !this.bestEffort && this.writeGeneration !== this.syncedGeneration;
  }

  /** The pool may close its descriptor now (the header's list of what is never closed). */
  get closable(): boolean {
    return this.handle !== null && this.busy === 0 && !this.dirty && !this.pinned && !this.closed;
  }

  /** Ensures a descriptor (reopening after an eviction); counted as in use until `release`. */
  async acquire(): Promise<LogFile> {
    if (this.closed)
      throw new StorageError(
        StorageErrorCode.LOG_CLOSED,
        `file ${this.currentPath} is closed`,
        KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
      );
    this.busy++;
    try {
      if (this.handle === null) {
        this.opening ??= this.pool.reopen(this).finally(() => {
          this.opening = null;
        });
        await this.opening;
      }
      this.pool.markInUse(this);
      return this.handle!;
    } catch (error) {
      this.busy--;
      throw error;
    }
  }

  release(): void {
    this.busy--;
    this.pool.markReleased(this);
  }

  /**
   * Runs `operation` on the descriptor, counted as in use meanwhile. This is on every write and
   * fsync, so an open descriptor (the usual case) is used at once, without the two async frames
   * and the awaits of the reopening path.
   */
  private use<T>(operation: (file: LogFile) => Promise<T>): Promise<T> {
    if (this.handle === null || this.closed || this.opening !== null)
      return this.reopenAndUse(operation);
    this.busy++;
    this.pool.markInUse(this);
    let running: Promise<T>;
    try {
      running = operation(this.handle);
    } catch (error) {
      this.release();
      return Promise.reject(error);
    }
    return running.finally(this.releaseBound);
  }

  private readonly releaseBound = (): void => this.release();

  private async reopenAndUse<T>(operation: (file: LogFile) => Promise<T>): Promise<T> {
    const file = await this.acquire();
    try {
      return await operation(file);
    } finally {
      this.release();
    }
  }

  write(buffers: Buffer[], position: number): Promise<void> {
    this.writeGeneration++;
    return this.use((file) => file.write(buffers, position));
  }

  /** Only with a descriptor open and idle of reopening; never waits for one. */
  writeSync(buffers: Buffer[], position: number): boolean {
    const handle = this.handle;
    if (handle === null || this.closed || this.opening !== null || handle.writeSync === undefined)
      return false;
    this.writeGeneration++;
    this.pool.markInUse(this);
    return handle.writeSync(buffers, position);
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.use((file) => file.read(buffer, offset, length, position));
  }

  datasync(): Promise<void> {
    const generation = this.writeGeneration;
    // Marked clean inside the operation, before its release trims: a file whose fsync made it
    // clean is closable by that very trim, not only by a later file's.
    return this.use(async (file) => {
      await file.datasync();
      if (generation > this.syncedGeneration) this.syncedGeneration = generation;
    });
  }

  truncate(length: number): Promise<void> {
    // Not counted as a write: ftruncate reports its own errors, and it leaves no data pages
    // whose later writeback could fail unseen (a datasync on any descriptor makes it durable).
    return this.use((file) => file.truncate(length));
  }

  size(): Promise<number> {
    return this.use((file) => file.size());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.opening !== null) await this.opening.catch(() => undefined);
    this.pool.forget(this);
    const handle = this.handle;
    this.handle = null;
    if (handle !== null) await handle.close();
  }
}

class FilePool {
  /** Files that hold a descriptor. */
  private readonly open = new Set<PooledFile>();
  /** The idle ones among them, oldest first (see the header). */
  private idleOldest: PooledFile | null = null;
  private idleNewest: PooledFile | null = null;
  /** Every file not yet closed by its owner, with or without a descriptor, by its directory. */
  private readonly filesByDirectory = new Map<string, Set<PooledFile>>();
  /** Reopens waiting for a descriptor (the process ran out). */
  private descriptorWaiters: Array<() => void> = [];
  /** Armed while more than `openFilesMax` descriptors are open (see the header). */
  private restSweep: NodeJS.Timeout | null = null;

  constructor(
    readonly inner: FileIo,
    private readonly openFilesMax: number,
    private readonly busyMax: number,
    private readonly restIdleMs: number,
  ) {}

  private index(file: PooledFile): void {
    const directory = directoryOf(file.currentPath);
    let files = this.filesByDirectory.get(directory);
    if (files === undefined) this.filesByDirectory.set(directory, (files = new Set()));
    files.add(file);
  }

  private unindex(file: PooledFile): void {
    const directory = directoryOf(file.currentPath);
    const files = this.filesByDirectory.get(directory);
    files?.delete(file);
    if (files?.size === 0) this.filesByDirectory.delete(directory);
  }

  /** Moves `file` to `path` (a rename through the pool). */
  move(file: PooledFile, path: string): void {
    this.unindex(file);
    file.currentPath = path;
    this.index(file);
  }

  get openCount(): number {
    return this.open.size;
  }

  adopt(path: string, handle: LogFile, bestEffort: boolean): PooledFile {
    const file = new PooledFile(this, path, handle, bestEffort);
    this.index(file);
    this.open.add(file);
    this.markReleased(file);
    return file;
  }

  /** A file that exists but gets no descriptor until its first operation (FileIo's `deferred`). */
  adoptDeferred(path: string, options: { create: boolean; bestEffort: boolean }): PooledFile {
    const file = new PooledFile(this, path, null, options.bestEffort);
    file.createOnFirstOpen = options.create;
    this.index(file);
    return file;
  }

  async reopen(file: PooledFile): Promise<void> {
    // Later reopens never create: a file that vanished since must fail, not come back empty.
    file.handle = await this.openWaitingForDescriptor(file.currentPath, {
      create: file.createOnFirstOpen,
    });
    file.createOnFirstOpen = false;
    this.open.add(file);
    this.trim();
  }

  /** Opens `path`; out of descriptors, waits for one the pool releases (see the header). */
  async openWaitingForDescriptor(
    path: string,
    options: Parameters<FileIo['open']>[1],
  ): Promise<LogFile> {
    const deadline = performance.now() + DESCRIPTOR_WAIT_MS;
    for (;;) {
      try {
        return await this.inner.open(path, options);
      } catch (error) {
        if (!outOfDescriptors(error) || performance.now() >= deadline) throw error;
      }
      // Whatever is closable now goes, past the bound or not: the process needs descriptors.
      this.closeIdle(0);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, DESCRIPTOR_RETRY_MS);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.descriptorWaiters.push(done);
      });
    }
  }

  /** A file released its descriptor (or may now give it up): reopens waiting for one try again. */
  private wakeDescriptorWaiters(): void {
    if (this.descriptorWaiters.length === 0) return;
    const waiters = this.descriptorWaiters;
    this.descriptorWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /** An operation starts on `file` (or a write makes it dirty): it is not idle. */
  markInUse(file: PooledFile): void {
    if (file.idle) this.leaveIdle(file);
  }

  /** An operation on `file` ended: idle now if it may be closed, and the bound is kept. */
  markReleased(file: PooledFile): void {
    if (!file.idle && file.closable) {
      file.idle = true;
      file.idleSinceMs = performance.now();
      file.idleOlder = this.idleNewest;
      if (this.idleNewest === null) this.idleOldest = file;
      else this.idleNewest.idleNewer = file;
      this.idleNewest = file;
    }
    this.trim();
  }

  private leaveIdle(file: PooledFile): void {
    if (file.idleOlder === null) this.idleOldest = file.idleNewer;
    else file.idleOlder.idleNewer = file.idleNewer;
    if (file.idleNewer === null) this.idleNewest = file.idleOlder;
    else file.idleNewer.idleOlder = file.idleOlder;
    file.idle = false;
    file.idleOlder = null;
    file.idleNewer = null;
  }

  forget(file: PooledFile): void {
    if (file.idle) this.leaveIdle(file);
    this.open.delete(file);
    this.unindex(file);
  }

  /**
   * Closes the longest idle descriptors until the busy bound holds (every idle one while reopens
   * wait for a descriptor).
   */
  trim(): void {
    if (this.descriptorWaiters.length > 0) {
      // Reopens are waiting: a release may have made a file closable; they try again.
      this.closeIdle(0);
      this.wakeDescriptorWaiters();
      return;
    }
    this.closeIdle(this.busyMax);
    this.armRestSweep();
  }

  private armRestSweep(): void {
    if (this.open.size <= this.openFilesMax || this.restSweep !== null) return;
    this.restSweep = setTimeout(this.sweepToRest, Math.min(SWEEP_INTERVAL_MS, this.restIdleMs));
    this.restSweep.unref();
  }

  /** Closes what has been idle `restIdleMs`, down to the rest bound; again later if over it. */
  private readonly sweepToRest = (): void => {
    this.restSweep = null;
    this.closeIdle(this.openFilesMax, performance.now() - this.restIdleMs);
    this.armRestSweep();
  };

  /**
   * Closes idle files, the longest idle first, until at most `bound` are open; with
   * `idleSinceMs`, only those idle since then or earlier (the sweep).
   */
  private closeIdle(bound: number, idleSinceMs = Infinity): void {
    while (this.open.size > bound) {
      const file = this.idleOldest;
      if (file === null || file.idleSinceMs > idleSinceMs) return;
      this.leaveIdle(file);
      const handle = file.handle!;
      file.handle = null;
      this.open.delete(file);
      // A failed close loses nothing: the file was clean and is reopened on its next use.
      void handle
        .close()
        .catch(() => undefined)
        .finally(() => this.wakeDescriptorWaiters());
    }
  }

  /**
   * The files at `path`, or directly in it when it is a directory (storage keeps files one level
   * below a partition directory, never deeper).
   */
  filesAt(path: string): PooledFile[] {
    const exact = [...(this.filesByDirectory.get(directoryOf(path)) ?? [])].filter(
      (file) => file.currentPath === path,
    );
    return [...exact, ...(this.filesByDirectory.get(path) ?? [])];
  }

  /** Keeps the descriptors of `files` for good (their names are about to go). */
  async pin(files: PooledFile[]): Promise<void> {
    for (const file of files) {
      file.pinned = true;
      this.markInUse(file);
      if (file.handle === null) {
        await file.acquire();
        file.release();
      }
    }
  }
}

/**
 * The bound while files are in use: a quarter of the process's open-file limit (the rest is left
 * to sockets, files read outside the pool, and everything else), at most BUSY_BOUND_FACTOR times
 * the rest bound, never below it.
 */
export function defaultBusyMax(openFilesMax: number, limit = openFileLimit()): number {
  if (limit === null) return openFilesMax;
  return Math.max(openFilesMax, Math.min(Math.floor(limit / 4), openFilesMax * BUSY_BOUND_FACTOR));
}

/**
 * The rest bound: OPEN_FILES_MAX_DEFAULT, or a quarter of the open-file limit where that is
 * lower (a limit of 1,024, still the soft default of many systems, leaves room for little else).
 */
export function defaultOpenFilesMax(limit = openFileLimit()): number {
  return limit === null
    ? OPEN_FILES_MAX_DEFAULT
    : Math.max(1, Math.min(OPEN_FILES_MAX_DEFAULT, Math.floor(limit / 4)));
}

export interface FilePoolBounds {
  /** Descriptors kept at rest; defaultOpenFilesMax() by default. */
  readonly openFilesMax?: number;
  /** Descriptors kept while files are in use; defaultBusyMax(openFilesMax) by default. */
  readonly busyMax?: number;
  /** How long a file past the rest bound stays open unused; REST_IDLE_MS by default. */
  readonly restIdleMs?: number;
}

/** `inner` with at most `openFilesMax` descriptors open at rest (see the header comment). */
export function pooledFileIo(
  inner: FileIo,
  bounds: FilePoolBounds = {},
): FileIo & {
  /** Descriptors the pool holds now (for tests and benchmarks). */
  openFileCount(): number;
} {
  const limit = openFileLimit();
  const openFilesMax = bounds.openFilesMax ?? defaultOpenFilesMax(limit);
  const pool = new FilePool(
    inner,
    openFilesMax,
    Math.max(openFilesMax, bounds.busyMax ?? defaultBusyMax(openFilesMax, limit)),
    bounds.restIdleMs ?? REST_IDLE_MS,
  );
  return {
    async open(path, options) {
      if (options.deferred === true)
        return pool.adoptDeferred(path, {
          create: options.create,
          bestEffort: options.bestEffort === true,
        });
      return pool.adopt(
        path,
        await pool.openWaitingForDescriptor(path, options),
        options.bestEffort === true,
      );
    },
    readFile: (path) => inner.readFile(path),
    fileSize: (path) => inner.fileSize(path),
    writeFileAtomic: (path, data) => inner.writeFileAtomic(path, data),
    createExclusive: (path, data) => inner.createExclusive(path, data),
    readdir: (directory) => inner.readdir(directory),
    mkdir: (directory) => inner.mkdir(directory),
    async rename(from, to) {
      // A file held under `to` loses its name to `from`'s: it must not reopen the wrong one.
      await pool.pin(pool.filesAt(to));
      await inner.rename(from, to);
      for (const file of pool.filesAt(from))
        pool.move(file, to + file.currentPath.slice(from.length));
    },
    async unlink(path) {
      await pool.pin(pool.filesAt(path));
      await inner.unlink(path);
    },
    async removeDirectory(directory) {
      await pool.pin(pool.filesAt(directory));
      await inner.removeDirectory(directory);
    },
    exists: (path) => inner.exists(path),
    syncDirectory: (directory) => inner.syncDirectory(directory),
    openFileCount: () => pool.openCount,
  };
}
