// Every entry of log.dirs (JBOD): one LogManager per directory, behind the API the broker used
// when it had one, routing each partition to the directory that holds its log.
//
// Placement follows Kafka's rules. A log found when the directories open stays where it was
// found; a log found in two directories stops the start (BROOK_DUPLICATE_LOG) before any
// directory opens, since either copy may be the stale one and recovery would cut both. A new log
// goes to the directory holding the fewest logs, ties to the one listed first; a directory that
// has failed takes no new log while another can, and one that is offline takes none at all.
//
// The placement record (log-placement.ts, with several directories only) keeps in every
// directory which directory holds each log, and is written before a new log is created, so
// that a log is created only where the record says or, if it names none, on the healthy
// directory with the fewest logs: never a second, empty copy of a log whose directory is away.
// A data directory from before the record gets one from what is found at its first start.
//
// Failure is the storage layer's own, per log: a write or fsync that fails makes that log refuse
// appends (sticky, BROOK_STORAGE_FAILED) and a read that fails answers KAFKA_STORAGE_ERROR. A
// disk that fails therefore takes only the logs on it offline; the other directories' logs keep
// working. A directory counts as failed (for DescribeLogDirs and placement) once one of its logs
// holds a sticky failure; it is healthy again after the restart that reopens its logs.
//
// A directory that cannot be opened at start (missing mount, a file in its place, an I/O error
// listing it) is offline instead of stopping the broker: logged once at error level, reported by
// DescribeLogDirs with KAFKA_STORAGE_ERROR, and the logs the record places there are offline-log.ts
// stand-ins (every produce, fetch and ListOffsets answers KAFKA_STORAGE_ERROR) until a restart
// opens it. A directory that does not exist though the record places logs in it is one of these (an
// unmounted disk), not a new directory to create; a replaced disk is taken into use by creating the
// directory, empty, by hand: its old logs are then dropped from the record (logged) and created
// afresh where needed. The first directory holds the broker's metadata, so it must open: if it
// cannot, the start fails with its error, as it does when every directory fails. A directory locked
// by another broker (BROOK_LOG_DIRECTORY_LOCKED) stops the start too: that is a second broker
// configured with the same directory, not a failed disk. A log deleted while its directory is
// offline (its topic was deleted) is marked deleted in the record and removed when the directory
// opens again; a topic created again under that name meanwhile has that partition offline too
// until then, so the old data never comes back under the new topic.
//
// `listOfflineLogs()` lists the logs that cannot hold a replica until a restart (those the record
// places in an offline directory, and those holding a sticky failure), and `onOfflineLogsChange`
// tells of each log that fails while running: in cluster mode the broker reports them in etcd and
// the controller moves their leaderships away (src/cluster/README.md, "Offline replicas").
//
// Locks and metadata: each directory is locked by its own LogManager (`<dir>/.lock`), so no other
// broker can open any of them. The broker's metadata (`meta/`, the cluster id, the producer-id
// blocks) lives in the first directory only, as Kafka's metadata.log.dir defaults to the first
// entry of log.dirs; the others hold logs and their checkpoints. With one directory this is
// exactly one LogManager: the same files at the same paths, and no placement record.

import { assert } from '../util/assert.js';
import { asLogger, silentLogger, type Logger } from '../util/logger.js';
import { StorageError, StorageErrorCode, KafkaStorageErrorCode } from './errors.js';
import { defaultLogConfig, type LogConfig } from './log-config.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import {
  LogManager,
  logDirectoryName,
  parseLogDirectoryName,
  type LogManagerOptions,
} from './log-manager.js';
import {
  PlacementWriter,
  newDirectoryId,
  readPlacementCopy,
  type PlacedLog,
  type Placement,
  type PlacementCopy,
} from './log-placement.js';
import { openOfflineLog } from './offline-log.js';
import type { PartitionLog } from './partition-log.js';

export interface LogDirectoriesOptions extends Omit<LogManagerOptions, 'directory'> {
  /** The entries of log.dirs, in order; the first also holds the broker's metadata. */
  directories: readonly string[];
}

/** One directory as DescribeLogDirs reports it. */
export interface LogDirectoryState {
  readonly directory: string;
  /** Offline since start, or one of its logs holds a sticky storage failure. */
  readonly failed: boolean;
  /** How many logs it holds. */
  readonly logCount: number;
}

/** One entry of log.dirs. */
interface Directory {
  readonly path: string;
  /** Its identity in the placement record; undefined for an offline one the record does not know. */
  readonly id: string | undefined;
  /** Null when the directory could not be opened at start (offline until a restart). */
  readonly manager: LogManager | null;
  /** Why it could not be opened. */
  readonly offlineReason: string | null;
}

interface Placed {
  readonly directory: Directory;
  /** Deleted while its directory was offline; removed when the directory opens again. */
  readonly deleted: boolean;
}

/**
 * Owned by the broker. Calls may interleave: a placement is counted before the log is created,
 * so creates in flight at once still spread over the directories.
 */
export class LogDirectories {
  /** Per `<topic>-<partition>`, the directory holding it (or about to). */
  private readonly placement = new Map<string, Placed>();
  /** Per directory, the logs placed in it, those being created included. */
  private readonly placedCount = new Map<Directory, number>();
  /** The stand-ins of the logs in offline directories (opened at start), by `<topic>-<partition>`. */
  private readonly offlineLogs = new Map<string, PartitionLog>();
  /** Null with one directory: nothing to keep a placement from. */
  private record: PlacementWriter | null = null;
  private readonly offlineListeners = new Set<() => void>();

  private constructor(
    private readonly directories: readonly Directory[],
    /** A topic's effective log config (the stand-ins of offline logs are opened with it). */
    private readonly configOf: (topic: string) => LogConfig,
  ) {
    for (const directory of directories) this.placedCount.set(directory, 0);
  }

  private get managers(): LogManager[] {
    return this.directories.flatMap((directory) =>
      directory.manager === null ? [] : [directory.manager],
    );
  }

  /**
   * Opens (and locks, and recovers) every directory it can; a directory other than the first
   * that cannot be opened is offline. On a failure that stops the start, closes those opened.
   */
  static async open(options: LogDirectoriesOptions): Promise<LogDirectories> {
    const { directories: paths, ...managerOptions } = options;
    assert(paths.length > 0, 'log.dirs names at least one directory (the config checks it)');
    const io = options.io ?? nodeFileIo;
    const logger = asLogger(options.logger ?? silentLogger);
    // Listed before any directory opens: recovery would otherwise cut both copies of a duplicate.
    // One that cannot be listed is not opened at all.
    const several = paths.length > 1;
    const listed = await Promise.allSettled(
      paths.map((path) => (several ? listLogs(io, path) : Promise.resolve(null))),
    );
    const seen = new Map<string, string>();
    listed.forEach((result, index) => {
      if (result.status === 'rejected' || result.value === null) return;
      for (const name of result.value) {
        const other = seen.get(name);
        if (other !== undefined) throw duplicateLog(name, other, paths[index]);
        seen.set(name, paths[index]);
      }
    });
    const { copies, newest } = await readCopies(
      io,
      paths.map((_path, index) => several && listed[index].status === 'fulfilled'),
      paths,
      logger,
    );
    // Bound once the directories are: a log may fail as soon as its manager is open.
    let logFailed = (): void => undefined;
    const opened = await Promise.allSettled(
      paths.map(async (path, index) => {
        const listing = listed[index];
        if (listing.status === 'rejected') throw listing.reason;
        // Missing where the record places logs: an unmounted disk, not a new directory to make.
        if (several && listing.value === null && holdsLogs(newest, path))
          throw new Error(`${path} does not exist, though the placement record places logs in it`);
        return LogManager.open({
          ...managerOptions,
          directory: path,
          onLogFailed: (log) => {
            managerOptions.onLogFailed?.(log);
            logFailed();
          },
        });
      }),
    );
    const managers = opened.flatMap((result) =>
      result.status === 'fulfilled' ? [result.value] : [],
    );
    try {
      // The first holds the broker's metadata: without it there is no broker to start.
      if (opened[0].status === 'rejected') throw opened[0].reason;
      // A directory another broker holds is not a failed disk: two brokers must not share one.
      const locked = opened.find(
        (result) =>
          result.status === 'rejected' &&
          (result.reason as { code?: unknown }).code === StorageErrorCode.LOG_DIRECTORY_LOCKED,
      );
      if (locked !== undefined) throw (locked as PromiseRejectedResult).reason;
      const directories = identify(paths, opened, copies, newest);
      const defaultConfig = options.defaultConfig ?? defaultLogConfig;
      const logDirectories = new LogDirectories(
        directories.list,
        (topic) => options.topicConfig?.(topic) ?? defaultConfig,
      );
      logFailed = () => {
        for (const listener of logDirectories.offlineListeners) listener();
      };
      await logDirectories.placeAtOpen(directories.newest, logger);
      await logDirectories.openOfflineLogs();
      logDirectories.reportOffline(logger);
      if (paths.length > 1) {
        logDirectories.record = new PlacementWriter(
          io,
          directories.list.flatMap((directory) =>
            directory.manager === null
              ? []
              : [{ directory: directory.path, directoryId: directory.id! }],
          ),
          directories.newest?.generation ?? 0,
          () => logDirectories.currentPlacement(),
          (directory, error) =>
            logger.error('could not write the placement record to a log directory', {
              directory,
              error: error instanceof Error ? error.message : String(error),
            }),
        );
        await logDirectories.record.write();
      }
      return logDirectories;
    } catch (error) {
      await Promise.allSettled(managers.map((manager) => manager.close()));
      throw error;
    }
  }

  /**
   * Places every log found in the open directories where it was found, and every log the
   * record places in an offline directory there; finishes the deletions the record says waited
   * for a directory that is open again.
   */
  private async placeAtOpen(newest: PlacementCopy | null, logger: Logger): Promise<void> {
    for (const directory of this.directories) {
      for (const { topic, partition } of directory.manager?.allLogs() ?? []) {
        const name = logDirectoryName(topic, partition);
        const other = this.placement.get(name);
        if (other !== undefined) throw duplicateLog(name, other.directory.path, directory.path);
        this.place(name, directory, false);
      }
    }
    if (newest === null) return;
    const byId = new Map(this.directories.map((directory) => [directory.id, directory]));
    const forgotten: string[] = [];
    for (const [name, placed] of newest.logs) {
      const directory = byId.get(placed.directoryId);
      if (directory === undefined) {
        forgotten.push(name);
        continue;
      }
      const found = this.placement.get(name);
      if (directory.manager !== null) {
        // Deleted while this directory was away: its topic is gone, so is the log now.
        if (placed.deleted && found?.directory === directory) {
          const { topic, partition } = parseLogDirectoryName(name)!;
          this.unplace(name);
          await directory.manager.deleteLog(topic, partition);
          logger.info('deleted a log whose topic was deleted while its directory was offline', {
            log: name,
            directory: directory.path,
          });
        }
        // Else what was found is the truth: a log the record names but the directory does not
        // hold was deleted, or its creation never happened.
        continue;
      }
      if (found !== undefined) {
        logger.warn('a log is found in an open directory but recorded in an offline one', {
          log: name,
          found: found.directory.path,
          recorded: directory.path,
        });
        continue;
      }
      this.place(name, directory, placed.deleted);
    }
    if (forgotten.length > 0) {
      // A directory whose identity no entry of log.dirs has: removed from log.dirs, or replaced
      // by a new disk at the same path.
      logger.warn('the placement record names logs of a directory no longer in log.dirs', {
        logs: forgotten.length,
        examples: forgotten.slice(0, 10),
      });
    }
  }

  /** One error line per directory that could not be opened, with the reason. */
  private reportOffline(logger: Logger): void {
    for (const directory of this.directories) {
      if (directory.manager !== null) continue;
      logger.error('log directory offline: it could not be opened; its partitions are offline', {
        directory: directory.path,
        error: directory.offlineReason,
        logs: this.placedCount.get(directory),
        // Without a record (before its first start with several directories) its logs are unknown.
        placementKnown: directory.id !== undefined,
      });
    }
  }

  /**
   * Opens the stand-in of every log placed in an offline directory, so `getLog` finds it as it
   * finds a log found on disk (a coordinator reading its internal topic must not take the
   * partition for one never written).
   */
  private async openOfflineLogs(): Promise<void> {
    for (const [name, placed] of this.placement) {
      if (placed.directory.manager !== null || placed.deleted) continue;
      const { topic } = parseLogDirectoryName(name)!;
      await this.offlineLog(name, placed.directory, this.configOf(topic));
    }
  }

  private currentPlacement(): Placement {
    const directories = new Map<string, string>();
    for (const directory of this.directories)
      if (directory.id !== undefined) directories.set(directory.id, directory.path);
    const logs = new Map<string, PlacedLog>();
    for (const [name, placed] of this.placement) {
      if (placed.directory.id === undefined) continue;
      logs.set(name, { directoryId: placed.directory.id, deleted: placed.deleted });
    }
    return { directories, logs };
  }

  private place(name: string, directory: Directory, deleted: boolean): void {
    const previous = this.placement.get(name);
    if (previous !== undefined)
      this.placedCount.set(previous.directory, this.placedCount.get(previous.directory)! - 1);
    this.placement.set(name, { directory, deleted });
    this.placedCount.set(directory, this.placedCount.get(directory)! + 1);
  }

  private unplace(name: string): Placed | undefined {
    const placed = this.placement.get(name);
    if (placed === undefined) return undefined;
    this.placement.delete(name);
    this.placedCount.set(placed.directory, this.placedCount.get(placed.directory)! - 1);
    return placed;
  }

  /** The open directory with the fewest logs, ties to the first; a failed one only if all failed. */
  private leastLoaded(): Directory {
    const open = this.directories.filter((directory) => directory.manager !== null);
    const healthy = open.filter((directory) => !hasFailed(directory.manager!));
    const candidates = healthy.length > 0 ? healthy : open;
    let best = candidates[0];
    for (const directory of candidates)
      if (this.placedCount.get(directory)! < this.placedCount.get(best)!) best = directory;
    return best;
  }

  /** The directory of the log, or undefined when no directory holds it. */
  directoryOf(topic: string, partition: number): string | undefined {
    const name = logDirectoryName(topic, partition);
    const placed = this.placement.get(name);
    if (placed === undefined || (placed.deleted && !this.offlineLogs.has(name))) return undefined;
    return placed.directory.path;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    const name = logDirectoryName(topic, partition);
    const placed = this.placement.get(name);
    if (placed === undefined) return undefined;
    return placed.directory.manager?.getLog(topic, partition) ?? this.offlineLogs.get(name);
  }

  /** The logs of the open directories (an offline directory's stand-ins are not among them). */
  allLogs(): Array<{ topic: string; partition: number; log: PartitionLog }> {
    return this.managers.flatMap((manager) => manager.allLogs());
  }

  /**
   * Opens the log where it is, else creates it (empty) in the least loaded directory, once the
   * placement record holds it. A log of an offline directory is its stand-in (offline-log.ts).
   */
  async createLog(topic: string, partition: number, config?: LogConfig): Promise<PartitionLog> {
    const name = logDirectoryName(topic, partition);
    const existing = this.placement.get(name);
    if (existing !== undefined) {
      const { directory } = existing;
      if (directory.manager !== null) return directory.manager.createLog(topic, partition, config);
      // Deleted or not, the old log waits there: a topic created again under the same name has
      // this partition offline too until the directory opens and the old log is removed.
      return this.offlineLog(name, directory, config ?? this.configOf(topic));
    }
    const directory = this.leastLoaded();
    this.place(name, directory, false);
    try {
      // Recorded first: a directory lost after the log exists must not let it be created again.
      await this.record?.write();
      return await directory.manager!.createLog(topic, partition, config);
    } catch (error) {
      if (this.placement.get(name)?.directory === directory) {
        this.unplace(name);
        void this.record?.write().catch(() => undefined);
      }
      throw error;
    }
  }

  private async offlineLog(
    name: string,
    directory: Directory,
    config: LogConfig,
  ): Promise<PartitionLog> {
    const existing = this.offlineLogs.get(name);
    if (existing !== undefined) return existing;
    const log = await openOfflineLog({
      directory: `${directory.path}/${name}`,
      config,
      reason: directory.offlineReason ?? 'unknown',
    });
    this.offlineLogs.set(name, log);
    return log;
  }

  /**
   * Deletes the log. One in an offline directory is marked deleted in the record instead, and
   * removed when the directory opens again.
   */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const name = logDirectoryName(topic, partition);
    const placed = this.placement.get(name);
    if (placed === undefined) return;
    if (placed.directory.manager === null) {
      this.place(name, placed.directory, true);
      const stand = this.offlineLogs.get(name);
      this.offlineLogs.delete(name);
      await stand?.close().catch(() => undefined);
      await this.record?.write();
      return;
    }
    this.unplace(name);
    await placed.directory.manager.deleteLog(topic, partition);
    await this.record?.write();
  }

  /**
   * The logs that cannot hold a replica until the broker restarts: those placed in a directory
   * that could not be opened (deleted ones aside), and those holding a sticky failure.
   */
  listOfflineLogs(): Array<{ topic: string; partition: number }> {
    const offline: Array<{ topic: string; partition: number }> = [];
    for (const [name, placed] of this.placement) {
      if (placed.directory.manager !== null || placed.deleted) continue;
      offline.push(parseLogDirectoryName(name)!);
    }
    for (const manager of this.managers) offline.push(...manager.failedLogs());
    return offline;
  }

  /** `listener` runs when a log fails while running (one more in `listOfflineLogs()`); returns the unsubscribe. */
  onOfflineLogsChange(listener: () => void): () => void {
    this.offlineListeners.add(listener);
    return () => this.offlineListeners.delete(listener);
  }

  /** Each directory as it stands now, in log.dirs order. */
  states(): LogDirectoryState[] {
    return this.directories.map((directory) => ({
      directory: directory.path,
      failed: directory.manager === null || hasFailed(directory.manager),
      logCount: this.placedCount.get(directory)!,
    }));
  }

  checkpoint(): Promise<void> {
    return Promise.all(this.managers.map((manager) => manager.checkpoint())).then(() => undefined);
  }

  updateTopicConfig(topic: string, config: LogConfig): void {
    for (const manager of this.managers) manager.updateTopicConfig(topic, config);
  }

  /** Closes every directory (each independently: one failing does not keep another open). */
  async close(): Promise<void> {
    const stands = [...this.offlineLogs.values()];
    this.offlineLogs.clear();
    await Promise.allSettled(stands.map((log) => log.close()));
    const closed = await Promise.allSettled(this.managers.map((manager) => manager.close()));
    const failure = closed.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }
}

/** The names of the logs in `directory`, null when it does not exist; throws when unreadable. */
async function listLogs(io: FileIo, directory: string): Promise<string[] | null> {
  if (!(await io.exists(directory))) return null;
  return (await io.readdir(directory)).filter((name) => parseLogDirectoryName(name) !== null);
}

/** Whether the record places a log not deleted in the directory it last saw at `path`. */
function holdsLogs(newest: PlacementCopy | null, path: string): boolean {
  if (newest === null) return false;
  const ids = new Set<string>();
  for (const [id, recordedPath] of newest.directories) if (recordedPath === path) ids.add(id);
  for (const placed of newest.logs.values())
    if (!placed.deleted && ids.has(placed.directoryId)) return true;
  return false;
}

/** Each readable directory's copy of the placement record, and the newest of them. */
async function readCopies(
  io: FileIo,
  readable: readonly boolean[],
  paths: readonly string[],
  logger: Logger,
): Promise<{ copies: Array<PlacementCopy | null>; newest: PlacementCopy | null }> {
  const copies = await Promise.all(
    paths.map(async (path, index) => {
      if (!readable[index]) return null;
      try {
        return await readPlacementCopy(io, path, (reason) =>
          logger.warn('the placement record in a log directory is not valid; ignored', {
            directory: path,
            reason,
          }),
        );
      } catch (error) {
        logger.warn('the placement record in a log directory could not be read; ignored', {
          directory: path,
          error: error instanceof Error ? error.message : String(error),
        });
        return null;
      }
    }),
  );
  let newest: PlacementCopy | null = null;
  for (const copy of copies)
    if (copy !== null && (newest === null || copy.generation > newest.generation)) newest = copy;
  return { copies, newest };
}

/**
 * Gives each entry of log.dirs its identity: an open directory's from its own copy of the
 * record (a new one when it has none, or when another open directory already has that one); an
 * offline directory's from its own copy if it could be read, else from the newest copy by the
 * path it was last opened at, or else as the one recorded identity left unclaimed.
 */
function identify(
  paths: readonly string[],
  opened: ReadonlyArray<PromiseSettledResult<LogManager>>,
  copies: ReadonlyArray<PlacementCopy | null>,
  newest: PlacementCopy | null,
): { list: Directory[]; newest: PlacementCopy | null } {
  if (paths.length === 1) {
    const manager = (opened[0] as PromiseFulfilledResult<LogManager>).value;
    return {
      list: [{ path: paths[0], id: undefined, manager, offlineReason: null }],
      newest: null,
    };
  }
  const used = new Set<string>();
  const ids = paths.map((_path, index) => {
    if (opened[index].status === 'rejected') return undefined;
    let id = copies[index]?.directoryId;
    if (id === undefined || used.has(id)) id = newDirectoryId();
    used.add(id);
    return id;
  });
  const list = paths.map((path, index): Directory => {
    const result = opened[index];
    if (result.status === 'fulfilled')
      return { path, id: ids[index], manager: result.value, offlineReason: null };
    // Its own copy, when it could be read before the open failed; else the path it had.
    let id = copies[index]?.directoryId;
    if (id !== undefined && used.has(id)) id = undefined;
    for (const [candidate, recordedPath] of newest?.directories ?? [])
      if (id === undefined && recordedPath === path && !used.has(candidate)) id = candidate;
    if (id !== undefined) used.add(id);
    return { path, id, manager: null, offlineReason: reasonOf(result.reason) };
  });
  // An offline directory listed at a path the record does not know (moved while it was away)
  // is the one identity the record has and no entry claims, when there is exactly one of each.
  const unknown = list.filter(
    (directory) => directory.manager === null && directory.id === undefined,
  );
  const unclaimed = [...(newest?.directories.keys() ?? [])].filter((id) => !used.has(id));
  if (unknown.length === 1 && unclaimed.length === 1) {
    const index = list.indexOf(unknown[0]);
    list[index] = { ...unknown[0], id: unclaimed[0] };
  }
  return { list, newest };
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined || error.message.includes(code)
    ? error.message
    : `${code}: ${error.message}`;
}

function duplicateLog(name: string, first: string, second: string): StorageError {
  return new StorageError(
    StorageErrorCode.DUPLICATE_LOG,
    `the log ${name} is in two log directories, ${first} and ${second}; remove the stale copy, then start again`,
    KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
  );
}

function hasFailed(manager: LogManager): boolean {
  return manager.hasFailedLog;
}
