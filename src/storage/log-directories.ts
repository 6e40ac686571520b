// Every entry of log.dirs (JBOD): one LogManager per directory, behind the API the broker used
// when it had one, routing each partition to the directory that holds its log.
//
// Placement follows Kafka's rules. A log found when the directories open stays where it was
// found; a log found in two directories stops the start (BROOK_DUPLICATE_LOG) before any
// directory opens, since either copy may be the stale one and recovery would cut both. A new log
// goes to the directory holding the fewest logs, ties to the one listed first; a directory that
// has failed takes no new log while another can.
//
// Failure is the storage layer's own, per log: a write or fsync that fails makes that log refuse
// appends (sticky, BROOK_STORAGE_FAILED) and a read that fails answers KAFKA_STORAGE_ERROR. A
// disk that fails therefore takes only the logs on it offline; the other directories' logs keep
// working. A directory counts as failed (for DescribeLogDirs and placement) once one of its logs
// holds a sticky failure; it is healthy again after the restart that reopens its logs.
//
// Locks and metadata: each directory is locked by its own LogManager (`<dir>/.lock`), so no other
// broker can open any of them. The broker's metadata (`meta/`, the cluster id, the producer-id
// blocks) lives in the first directory only, as Kafka's metadata.log.dir defaults to the first
// entry of log.dirs; the others hold logs and their checkpoints. With one directory this is
// exactly one LogManager: the same files at the same paths.

import { assert } from '../util/assert.js';
import { StorageError, StorageErrorCode, KafkaStorageErrorCode } from './errors.js';
import type { LogConfig } from './log-config.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import {
  LogManager,
  logDirectoryName,
  parseLogDirectoryName,
  type LogManagerOptions,
} from './log-manager.js';
import type { PartitionLog } from './partition-log.js';

export interface LogDirectoriesOptions extends Omit<LogManagerOptions, 'directory'> {
  /** The entries of log.dirs, in order; the first also holds the broker's metadata. */
  directories: readonly string[];
}

/** One directory as DescribeLogDirs reports it. */
export interface LogDirectoryState {
  readonly directory: string;
  /** One of its logs holds a sticky storage failure (a write or fsync failed). */
  readonly failed: boolean;
  /** How many logs it holds. */
  readonly logCount: number;
}

/**
 * Owned by the broker. Calls may interleave: a placement is counted before the log is created,
 * so creates in flight at once still spread over the directories.
 */
export class LogDirectories {
  private readonly managers: readonly LogManager[];
  /** Per `<topic>-<partition>`, the manager holding it (or about to). */
  private readonly placement = new Map<string, LogManager>();
  /** Per manager, the logs placed in it, those being created included. */
  private readonly placedCount = new Map<LogManager, number>();

  private constructor(managers: readonly LogManager[]) {
    this.managers = managers;
    for (const manager of managers) this.placedCount.set(manager, 0);
  }

  /** Opens (and locks, and recovers) every directory; on any failure closes those opened. */
  static async open(options: LogDirectoriesOptions): Promise<LogDirectories> {
    const { directories, ...managerOptions } = options;
    assert(directories.length > 0, 'log.dirs names at least one directory (the config checks it)');
    // Before any directory opens: recovery would otherwise cut both copies of a duplicate.
    if (directories.length > 1) await refuseDuplicates(directories, options.io ?? nodeFileIo);
    const opened = await Promise.allSettled(
      directories.map((directory) => LogManager.open({ ...managerOptions, directory })),
    );
    const managers = opened.flatMap((result) =>
      result.status === 'fulfilled' ? [result.value] : [],
    );
    const failure = opened.find((result) => result.status === 'rejected');
    try {
      if (failure !== undefined) throw failure.reason;
      const directoriesOf = new LogDirectories(managers);
      directoriesOf.placeFound();
      return directoriesOf;
    } catch (error) {
      await Promise.allSettled(managers.map((manager) => manager.close()));
      throw error;
    }
  }

  /** Records where each log found on open lives; a log in two directories is refused. */
  private placeFound(): void {
    for (const manager of this.managers) {
      for (const { topic, partition } of manager.allLogs()) {
        const name = logDirectoryName(topic, partition);
        const other = this.placement.get(name);
        if (other !== undefined) throw duplicateLog(name, other.directory, manager.directory);
        this.place(name, manager);
      }
    }
  }

  private place(name: string, manager: LogManager): void {
    this.placement.set(name, manager);
    this.placedCount.set(manager, this.placedCount.get(manager)! + 1);
  }

  private unplace(name: string): LogManager | undefined {
    const manager = this.placement.get(name);
    if (manager === undefined) return undefined;
    this.placement.delete(name);
    this.placedCount.set(manager, this.placedCount.get(manager)! - 1);
    return manager;
  }

  /** The directory with the fewest logs, ties to the first; a failed one only if all failed. */
  private leastLoaded(): LogManager {
    const healthy = this.managers.filter((manager) => !hasFailed(manager));
    const candidates = healthy.length > 0 ? healthy : this.managers;
    let best = candidates[0];
    for (const manager of candidates)
      if (this.placedCount.get(manager)! < this.placedCount.get(best)!) best = manager;
    return best;
  }

  /** The directory of the log, or undefined when no directory holds it. */
  directoryOf(topic: string, partition: number): string | undefined {
    return this.placement.get(logDirectoryName(topic, partition))?.directory;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.placement.get(logDirectoryName(topic, partition))?.getLog(topic, partition);
  }

  allLogs(): Array<{ topic: string; partition: number; log: PartitionLog }> {
    return this.managers.flatMap((manager) => manager.allLogs());
  }

  /** Opens the log where it is, else creates it (empty) in the least loaded directory. */
  async createLog(topic: string, partition: number, config?: LogConfig): Promise<PartitionLog> {
    const name = logDirectoryName(topic, partition);
    const existing = this.placement.get(name);
    if (existing !== undefined) return existing.createLog(topic, partition, config);
    const manager = this.leastLoaded();
    this.place(name, manager);
    try {
      return await manager.createLog(topic, partition, config);
    } catch (error) {
      if (this.placement.get(name) === manager) this.unplace(name);
      throw error;
    }
  }

  async deleteLog(topic: string, partition: number): Promise<void> {
    const manager = this.unplace(logDirectoryName(topic, partition));
    await manager?.deleteLog(topic, partition);
  }

  /** Each directory as it stands now, in log.dirs order. */
  states(): LogDirectoryState[] {
    return this.managers.map((manager) => ({
      directory: manager.directory,
      failed: hasFailed(manager),
      logCount: this.placedCount.get(manager)!,
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
    const closed = await Promise.allSettled(this.managers.map((manager) => manager.close()));
    const failure = closed.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }
}

/** Lists every directory's logs and throws BROOK_DUPLICATE_LOG for a log found in two. */
async function refuseDuplicates(directories: readonly string[], io: FileIo): Promise<void> {
  const seen = new Map<string, string>();
  for (const directory of directories) {
    if (!(await io.exists(directory))) continue;
    for (const name of await io.readdir(directory)) {
      if (parseLogDirectoryName(name) === null) continue;
      const other = seen.get(name);
      if (other !== undefined) throw duplicateLog(name, other, directory);
      seen.set(name, directory);
    }
  }
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
