// Owns one log.dirs directory: its lock file, the recovery-point, log-start-offset and (cluster
// mode) replication-offset checkpoints (Kafka's text format), every `<topic>-<partition>` log in it, and the background scheduler that
// runs retention and compaction.
//
// Logs are created, opened and deleted only through the manager; the layer above looks them up
// with `getLog`. Background passes run one log at a time and yield between logs and chunks.
//
// Scale (thousands of partitions): start and stop open and close up to LOG_OPEN_CONCURRENCY logs
// at once, since each waits mostly on fsyncs the disk can overlap; the clean-shutdown marker is one
// file for the whole directory (as Kafka's), written once after every log closed cleanly and
// durably removed once before any log opens, not one per log (a file and two fsyncs each way per
// partition, most of a clean start and stop at ten thousand partitions), and it lists the logs
// that closed empty, which the next open rebuilds without listing or reading their directories
// (at ten thousand idle partitions, a listing and two stats each were most of what remained of a
// clean start); creating a log writes no checkpoint (a log missing from the checkpoints is
// recovered from its last segment, which for a new log is empty), and checkpoint requests that
// arrive while one is being written share the next write.
//
// What an operator must know of the directory is logged here, once each: a recovery after an
// unclean stop (what was cut away, how long it took), a log's storage failure (a full disk
// included) and its end, and a summary of each retention and compaction pass that removed
// anything.

import { rethrowIfInvariant } from '../util/assert.js';
import { type Logger, type LoggerLike, asLogger, silentLogger } from '../util/logger.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { lockDirectory, type DirectoryLock } from './directory-lock.js';
import { readCheckpoint, writeCheckpoint, type CheckpointEntry } from './checkpoint.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import { pooledFileIo } from './file-pool.js';
import type { WriteSyncBackoff } from './group-commit.js';
import { defaultLogConfig, isCompacted, validateLogConfig, type LogConfig } from './log-config.js';
import { PartitionLog, type SegmentInfo } from './partition-log.js';
import { CLEAN_SHUTDOWN_FILE } from './log-recovery.js';
import { backgroundPacer, yieldToEventLoop } from './pacing.js';
import { cleanLog, type CleanResult } from './log-cleaner.js';
import type { TailCacheBudget } from './tail-cache-budget.js';
import { CoalescedTask } from '../util/coalesced-task.js';

/** How many logs start and stop open or close at the same time. */
export const LOG_OPEN_CONCURRENCY = 16;

/**
 * Runs `task` over `items` with at most `concurrency` running at once; resolves in input order.
 * After a failure no new item starts, and the first error is thrown once the running ones end.
 */
async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === null) {
      const index = next++;
      try {
        results[index] = await task(items[index]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
/** Kafka's file: each compacted log's first dirty offset, so a restart does not recompact. */
export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';
/** Brook's own, same format: when the tombstones a compacted log kept may be dropped (ms). */
export const CLEANER_TOMBSTONE_HORIZON_CHECKPOINT = 'cleaner-tombstone-horizon-checkpoint';
/**
 * Kafka's file: each replicated partition's high watermark, which a restarted broker starts from
 * (its log may end past it, with records that never reached the ISR). Lagging is safe: the high
 * watermark only rises again as the ISR fetches. Only logs that recorded one are listed.
 */
export const HIGH_WATERMARK_CHECKPOINT = 'replication-offset-checkpoint';
/** Kafka's replica.high.watermark.checkpoint.interval.ms default. */
const HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS = 5000;

export interface LogManagerOptions {
  /** One entry of log.dirs. */
  directory: string;
  /** The broker-wide defaults (log.* settings); topics override them. */
  defaultConfig?: LogConfig;
  io?: FileIo;
  clock?: () => number;
  /** Topic-level overrides, consulted when a log is opened or created. */
  topicConfig?: (topic: string) => LogConfig | undefined;
  /** log.retention.check.interval.ms; 0 disables the scheduler (tests drive passes by hand). */
  retentionCheckIntervalMs?: number;
  /** How often the recovery point is checkpointed (log.flush.offset.checkpoint.interval.ms). */
  checkpointIntervalMs?: number;
  /** How often moved high watermarks are checkpointed (5 s, Kafka's default); 0 only with the rest. */
  highWatermarkCheckpointIntervalMs?: number;
  tailCacheBytes?: number;
  /** The bound on every log's tail cache together, shared with the other directories' managers. */
  tailCacheBudget?: TailCacheBudget;
  /** File descriptors the logs keep open at rest (file-pool.ts); defaultOpenFilesMax() by default. */
  openFilesMax?: number;
  /** File descriptors they may keep while in use (file-pool.ts's busyMax; tests). */
  openFilesBusyMax?: number;
  /** Where recoveries, storage failures and retention/compaction summaries are logged. */
  logger?: LoggerLike;
  /**
   * Told when a log first holds a sticky failure (a write or fsync failed: it refuses appends
   * until reopened), so the broker can stop keeping a replica in it (cluster mode).
   */
  onLogFailed?: (log: TopicPartition) => void;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** `<topic>-<partition>`: the partition is the text after the last dash. */
export function parseLogDirectoryName(name: string): TopicPartition | null {
  const match = /^(.+)-(\d+)$/.exec(name);
  if (!match) return null;
  return { topic: match[1], partition: Number(match[2]) };
}

export function logDirectoryName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class LogManager {
  readonly directory: string;
  private readonly io: FileIo;
  private readonly clock: () => number;
  private readonly defaultConfig: LogConfig;
  private readonly topicConfig: (topic: string) => LogConfig | undefined;
  private readonly tailCacheBytes: number | undefined;
  private readonly tailCacheBudget: TailCacheBudget | undefined;
  private readonly logs = new Map<
    string,
    { topic: string; partition: number; log: PartitionLog }
  >();
  private lock: DirectoryLock | null = null;
  private schedulerTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private highWatermarkTimer: NodeJS.Timeout | null = null;
  private readonly checkpoints = new CoalescedTask(() => this.writeCheckpoints());
  /** One back-off of small writes on the event loop for every log of the directory. */
  private readonly writeSyncBackoff: WriteSyncBackoff = { offUntilMs: 0 };
  /** The high watermarks as last written, to skip a write when none moved. */
  private writtenHighWatermarks = '';
  /** Some log's high watermark changed since the last checkpoint read them (onHighWatermarkChanged). */
  private highWatermarksChanged = false;
  private backgroundRunning: Promise<void> | null = null;
  private closed = false;
  private readonly logger: Logger;
  /** Per log directory name, the storage error code last logged; cleared once appends work again. */
  private readonly reportedFailures = new Map<string, string>();
  private readonly onLogFailed: ((log: TopicPartition) => void) | undefined;

  private constructor(options: LogManagerOptions) {
    this.directory = options.directory;
    this.io = pooledFileIo(options.io ?? nodeFileIo, {
      openFilesMax: options.openFilesMax,
      busyMax: options.openFilesBusyMax,
    });
    this.clock = options.clock ?? Date.now;
    this.defaultConfig = validateLogConfig({ ...(options.defaultConfig ?? defaultLogConfig) });
    this.topicConfig = options.topicConfig ?? (() => undefined);
    this.tailCacheBytes = options.tailCacheBytes;
    this.tailCacheBudget = options.tailCacheBudget;
    this.logger = asLogger(options.logger ?? silentLogger);
    this.onLogFailed = options.onLogFailed;
  }

  static async open(options: LogManagerOptions): Promise<LogManager> {
    const manager = new LogManager(options);
    await manager.io.mkdir(manager.directory);
    // Not through `io`: the lock is a kernel flock on a real descriptor (see directory-lock.ts).
    manager.lock = await lockDirectory(manager.directory);
    try {
      await manager.openAll();
    } catch (error) {
      await manager.lock.release();
      throw error;
    }
    const retentionCheckIntervalMs = options.retentionCheckIntervalMs ?? 5 * 60 * 1000;
    if (retentionCheckIntervalMs > 0) {
      manager.schedulerTimer = setInterval(
        () => manager.runBackgroundPass(),
        retentionCheckIntervalMs,
      );
      manager.schedulerTimer.unref();
    }
    const checkpointIntervalMs = options.checkpointIntervalMs ?? 60 * 1000;
    if (checkpointIntervalMs > 0) {
      manager.checkpointTimer = setInterval(
        () => void manager.checkpoint().catch(() => undefined),
        checkpointIntervalMs,
      );
      manager.checkpointTimer.unref();
    }
    const highWatermarkIntervalMs =
      options.highWatermarkCheckpointIntervalMs ?? HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS;
    if (highWatermarkIntervalMs > 0) {
      // Only when some log told of a change: a timer that walked every log each interval would
      // cost a broker of 10,000 partitions the same work whether anything moved or not.
      manager.highWatermarkTimer = setInterval(() => {
        if (manager.highWatermarksChanged) void manager.checkpoint().catch(() => undefined);
      }, highWatermarkIntervalMs);
      manager.highWatermarkTimer.unref();
    }
    return manager;
  }

  private configFor(topic: string): LogConfig {
    return this.topicConfig(topic) ?? this.defaultConfig;
  }

  private async openAll(): Promise<void> {
    const startedMs = performance.now();
    const recoveryPoints = await readCheckpoint(
      this.io,
      `${this.directory}/${RECOVERY_POINT_CHECKPOINT}`,
    );
    const logStartOffsets = await readCheckpoint(
      this.io,
      `${this.directory}/${LOG_START_OFFSET_CHECKPOINT}`,
    );
    const cleanerOffsets = await readCheckpoint(
      this.io,
      `${this.directory}/${CLEANER_OFFSET_CHECKPOINT}`,
    );
    const tombstoneHorizons = await readCheckpoint(
      this.io,
      `${this.directory}/${CLEANER_TOMBSTONE_HORIZON_CHECKPOINT}`,
    );
    const highWatermarks = await readCheckpoint(
      this.io,
      `${this.directory}/${HIGH_WATERMARK_CHECKPOINT}`,
    );
    const names = await this.io.readdir(this.directory);
    // The directory's marker vouches for every log in it. Removed, durably, before any log opens:
    // from here on a crash is an unclean stop for all of them.
    const sharedCleanShutdown = names.includes(CLEAN_SHUTDOWN_FILE);
    // The logs that closed empty, which open without reading their directories; an earlier
    // version's marker is empty and lists none.
    let closedEmpty = new Map<string, number>();
    if (sharedCleanShutdown) {
      closedEmpty = await readCheckpoint(this.io, `${this.directory}/${CLEAN_SHUTDOWN_FILE}`);
      await this.io.unlink(`${this.directory}/${CLEAN_SHUTDOWN_FILE}`);
      await this.io.syncDirectory(this.directory);
    }
    const found: Array<{ name: string } & TopicPartition> = [];
    for (const name of names.sort()) {
      if (name.endsWith('-delete')) {
        // A deletion a crash interrupted: the log was already renamed away, so finish it.
        await this.io.removeDirectory(`${this.directory}/${name}`);
        continue;
      }
      const topicPartition = parseLogDirectoryName(name);
      if (topicPartition) found.push({ name, ...topicPartition });
    }
    // One topic's partitions share its config: worked out once per topic, not once per log.
    const configs = new Map<string, LogConfig>();
    // Opening an idle log takes microseconds: yielding after each one was a tenth of a start.
    const pace = backgroundPacer();
    const opened = await mapBounded(found, LOG_OPEN_CONCURRENCY, async (entry) => {
      let config = configs.get(entry.topic);
      if (config === undefined) configs.set(entry.topic, (config = this.configFor(entry.topic)));
      const log = await this.openLog(
        entry.topic,
        entry.partition,
        {
          recoveryPoint: recoveryPoints.get(entry.name),
          logStartOffset: logStartOffsets.get(entry.name),
          cleanerCheckpoint: cleanerOffsets.get(entry.name),
          tombstoneHorizonMs: tombstoneHorizons.get(entry.name),
          highWatermark: highWatermarks.get(entry.name),
          sharedCleanShutdown,
          closedEmptyAt: closedEmpty.get(entry.name),
        },
        config,
      );
      await pace();
      return log;
    });
    found.forEach((entry, index) =>
      this.logs.set(entry.name, {
        topic: entry.topic,
        partition: entry.partition,
        log: opened[index],
      }),
    );
    await this.checkpoint();
    this.reportRecovery(Math.round(performance.now() - startedMs));
  }

  /** After an unclean stop: one line saying what recovery scanned and cut away, and how long it took. */
  private reportRecovery(durationMs: number): void {
    const unclean = [...this.logs.entries()].filter(([, { log }]) => !log.openedCleanly);
    if (unclean.length === 0) {
      this.logger.debug('log directory opened', {
        directory: this.directory,
        logs: this.logs.size,
        durationMs,
      });
      return;
    }
    const truncated = unclean
      .filter(
        ([, { log }]) => log.recoveryTruncated.bytes > 0 || log.recoveryTruncated.segments > 0,
      )
      .map(([name, { log }]) => ({
        log: name,
        bytes: log.recoveryTruncated.bytes,
        segments: log.recoveryTruncated.segments,
      }));
    this.logger.warn('recovered the log directory after an unclean shutdown', {
      directory: this.directory,
      logs: this.logs.size,
      uncleanLogs: unclean.length,
      scannedBytes: unclean.reduce((sum, [, { log }]) => sum + log.recoveryScannedBytes, 0),
      truncatedBytes: truncated.reduce((sum, entry) => sum + entry.bytes, 0),
      // Bounded: a broker with thousands of torn logs still writes one readable line.
      truncated: truncated.slice(0, 20),
      durationMs,
    });
  }

  /**
   * A log's write, fsync or read failed. Logged once per log and error code (the log refuses or
   * fails every later append the same way), and once more when appends work again.
   */
  private reportLogError(name: string, log: PartitionLog, error: unknown): void {
    const code = error instanceof StorageError ? error.code : 'unknown';
    if (this.reportedFailures.get(name) === code) return;
    const firstOfThisLog = !this.reportedFailures.has(name);
    this.reportedFailures.set(name, code);
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
    const diskFull = code === StorageErrorCode.STORAGE_FULL || cause?.code === 'ENOSPC';
    this.logger.error(diskFull ? 'disk full: appends to the log are refused' : 'storage error', {
      log: name,
      code,
      errno: cause?.code,
      error: error instanceof Error ? error.message : String(error),
    });
    if (code === StorageErrorCode.STORAGE_FAILED) {
      const failed = parseLogDirectoryName(name);
      if (failed !== null) this.onLogFailed?.(failed);
    }
    if (!firstOfThisLog) return;
    log.once('flush', () => {
      this.reportedFailures.delete(name);
      this.logger.info('the log accepts appends again', { log: name });
    });
  }

  private openLog(
    topic: string,
    partition: number,
    checkpoints: {
      recoveryPoint?: number;
      logStartOffset?: number;
      cleanerCheckpoint?: number;
      tombstoneHorizonMs?: number;
      highWatermark?: number;
      /** Whether the directory's clean-shutdown marker was found (false for a new log). */
      sharedCleanShutdown: boolean;
      /** Where the marker says the log closed empty, if it does. */
      closedEmptyAt?: number;
    },
    config?: LogConfig,
  ): Promise<PartitionLog> {
    return PartitionLog.open({
      directory: `${this.directory}/${logDirectoryName(topic, partition)}`,
      config: config ?? this.configFor(topic),
      io: this.io,
      clock: this.clock,
      recoveryPoint: checkpoints.recoveryPoint,
      logStartOffset: checkpoints.logStartOffset,
      cleanerCheckpoint: checkpoints.cleanerCheckpoint,
      tombstoneHorizonMs: checkpoints.tombstoneHorizonMs,
      highWatermark: checkpoints.highWatermark,
      writeSyncBackoff: this.writeSyncBackoff,
      sharedCleanShutdown: checkpoints.sharedCleanShutdown,
      closedEmptyAt: checkpoints.closedEmptyAt,
      tailCacheBytes: this.tailCacheBytes,
      tailCacheBudget: this.tailCacheBudget,
      onLogStartOffsetChanged: () => this.checkpoint(),
      onHighWatermarkChanged: () => {
        this.highWatermarksChanged = true;
      },
    }).then((log) => {
      const name = logDirectoryName(topic, partition);
      log.on('error', (error: unknown) => this.reportLogError(name, log, error));
      return log;
    });
  }

  /**
   * Whether one of the logs holds a sticky failure (a write or fsync failed; it refuses appends
   * until reopened): what makes log-directories.ts count the directory as failed.
   */
  get hasFailedLog(): boolean {
    for (const code of this.reportedFailures.values())
      if (code === StorageErrorCode.STORAGE_FAILED) return true;
    return false;
  }

  /** The logs holding a sticky failure, which refuse appends until the broker restarts. */
  failedLogs(): TopicPartition[] {
    const failed: TopicPartition[] = [];
    for (const [name, code] of this.reportedFailures) {
      const entry = this.logs.get(name);
      if (code === StorageErrorCode.STORAGE_FAILED && entry !== undefined)
        failed.push({ topic: entry.topic, partition: entry.partition });
    }
    return failed;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(logDirectoryName(topic, partition))?.log;
  }

  allLogs(): Array<{ topic: string; partition: number; log: PartitionLog }> {
    return [...this.logs.values()];
  }

  /** Opens the log if it exists, else creates it (empty, starting at offset 0). */
  async createLog(topic: string, partition: number, config?: LogConfig): Promise<PartitionLog> {
    const name = logDirectoryName(topic, partition);
    const existing = this.logs.get(name);
    if (existing) return existing.log;
    const log = await this.openLog(topic, partition, { sharedCleanShutdown: false }, config);
    this.logs.set(name, { topic, partition, log });
    // The new directory's name is made durable; the checkpoints learn of the log at their next
    // write (a log they do not list is recovered from its last segment: here, an empty one).
    await this.io.syncDirectory(this.directory);
    return log;
  }

  async deleteLog(topic: string, partition: number): Promise<void> {
    const name = logDirectoryName(topic, partition);
    const entry = this.logs.get(name);
    if (!entry) return;
    this.logs.delete(name);
    this.reportedFailures.delete(name);
    await entry.log.close();
    // Renamed first so a crash mid-delete never reopens a half-deleted log.
    const doomed = `${this.directory}/${name}.${Date.now()}-delete`;
    await this.io.rename(`${this.directory}/${name}`, doomed);
    await this.io.syncDirectory(this.directory);
    await this.checkpoint();
    await this.io.removeDirectory(doomed);
  }

  /**
   * Writes both checkpoint files. Writes never overlap, and a call made while one is being
   * written shares the next write (which reads the logs after that call), so a later state never
   * loses to an earlier one and a burst of calls costs two writes.
   */
  checkpoint(): Promise<void> {
    return this.checkpoints.run();
  }

  private async writeCheckpoints(): Promise<void> {
    const recoveryPoints: CheckpointEntry[] = [];
    const logStartOffsets: CheckpointEntry[] = [];
    const cleanerOffsets: CheckpointEntry[] = [];
    const tombstoneHorizons: CheckpointEntry[] = [];
    for (const { topic, partition, log } of this.logs.values()) {
      recoveryPoints.push({ topic, partition, offset: log.recoveryPoint });
      logStartOffsets.push({ topic, partition, offset: log.logStartOffset });
      if (log.cleanerCheckpoint > 0)
        cleanerOffsets.push({ topic, partition, offset: log.cleanerCheckpoint });
      if (Number.isFinite(log.tombstoneHorizonMs))
        tombstoneHorizons.push({ topic, partition, offset: log.tombstoneHorizonMs });
    }
    await writeCheckpoint(
      this.io,
      `${this.directory}/${RECOVERY_POINT_CHECKPOINT}`,
      recoveryPoints,
    );
    await writeCheckpoint(
      this.io,
      `${this.directory}/${LOG_START_OFFSET_CHECKPOINT}`,
      logStartOffsets,
    );
    await writeCheckpoint(
      this.io,
      `${this.directory}/${CLEANER_OFFSET_CHECKPOINT}`,
      cleanerOffsets,
    );
    await writeCheckpoint(
      this.io,
      `${this.directory}/${CLEANER_TOMBSTONE_HORIZON_CHECKPOINT}`,
      tombstoneHorizons,
    );
    this.highWatermarksChanged = false;
    const highWatermarks = this.highWatermarkEntries();
    if (highWatermarks.text !== this.writtenHighWatermarks) {
      await writeCheckpoint(
        this.io,
        `${this.directory}/${HIGH_WATERMARK_CHECKPOINT}`,
        highWatermarks.entries,
      );
      this.writtenHighWatermarks = highWatermarks.text;
    }
  }

  /** The high watermarks the logs recorded (cluster mode; none on a single broker). */
  private highWatermarkEntries(): { entries: CheckpointEntry[]; text: string } {
    const entries: CheckpointEntry[] = [];
    let text = '';
    for (const { topic, partition, log } of this.logs.values()) {
      const offset = log.highWatermark;
      if (offset === undefined) continue;
      entries.push({ topic, partition, offset });
      text += `${topic} ${partition} ${offset}\n`;
    }
    return { entries, text };
  }

  private runBackgroundPass(): void {
    if (this.backgroundRunning || this.closed) return;
    this.backgroundRunning = this.backgroundPass()
      // A failed pass is tried again at the next interval; a broken invariant stops the process.
      .catch((error: unknown) => {
        rethrowIfInvariant(error);
        this.logger.warn('retention and compaction pass failed; retried at the next interval', {
          directory: this.directory,
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.backgroundRunning = null;
      });
  }

  /** One retention and compaction pass over every log, one log at a time. */
  async backgroundPass(): Promise<void> {
    await this.runRetention();
    await this.runCompaction();
  }

  async runRetention(): Promise<void> {
    const startedMs = performance.now();
    let deletedSegments = 0;
    let deletedBytes = 0;
    let logs = 0;
    for (const { log } of this.allLogs()) {
      if (this.closed) break;
      const sizeBefore = log.sizeInBytes;
      const result = await log.applyRetention(this.clock());
      if (result.deletedSegments > 0) {
        logs += 1;
        deletedSegments += result.deletedSegments;
        deletedBytes += Math.max(0, sizeBefore - log.sizeInBytes);
      }
      await yieldToEventLoop();
    }
    if (deletedSegments > 0) {
      this.logger.info('retention pass deleted segments', {
        directory: this.directory,
        logs,
        deletedSegments,
        deletedBytes,
        durationMs: Math.round(performance.now() - startedMs),
      });
    }
  }

  async runCompaction(): Promise<CleanResult[]> {
    const startedMs = performance.now();
    const results: CleanResult[] = [];
    for (const { log } of this.allLogs()) {
      if (this.closed) break;
      if (!isCompacted(log.config)) continue;
      results.push(await cleanLog(log, this.clock()));
      await yieldToEventLoop();
    }
    // What the passes compacted is not compacted again after a restart.
    if (results.length > 0 && !this.closed) await this.checkpoint();
    const cleaned = results.filter((result) => result.segmentsCleaned > 0);
    if (cleaned.length > 0) {
      this.logger.info('compaction pass cleaned logs', {
        directory: this.directory,
        logs: cleaned.length,
        segmentsCleaned: cleaned.reduce((sum, result) => sum + result.segmentsCleaned, 0),
        recordsRemoved: cleaned.reduce((sum, result) => sum + result.recordsRemoved, 0),
        bytesReclaimed: cleaned.reduce(
          (sum, result) => sum + (result.bytesBefore - result.bytesAfter),
          0,
        ),
        durationMs: Math.round(performance.now() - startedMs),
      });
    }
    return results;
  }

  /** What DescribeLogDirs reports: every partition's size and segments. */
  describe(): Array<{
    topic: string;
    partition: number;
    sizeBytes: number;
    logStartOffset: number;
    logEndOffset: number;
    segments: SegmentInfo[];
  }> {
    return this.allLogs().map(({ topic, partition, log }) => ({
      topic,
      partition,
      sizeBytes: log.sizeInBytes,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      segments: log.segmentInfos(),
    }));
  }

  updateTopicConfig(topic: string, config: LogConfig): void {
    for (const entry of this.logs.values())
      if (entry.topic === topic) entry.log.updateConfig(config);
  }

  /**
   * Closes every log (flush, indexes), writes the checkpoints and, when every log closed without
   * error, the directory's clean-shutdown marker; releases the lock.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.schedulerTimer) clearInterval(this.schedulerTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.highWatermarkTimer) clearInterval(this.highWatermarkTimer);
    if (this.backgroundRunning) await this.backgroundRunning;
    const logs = [...this.logs.values()];
    await mapBounded(logs, LOG_OPEN_CONCURRENCY, ({ log }) => log.close());
    await this.checkpoint();
    // One log with a sticky error makes the whole directory recover at the next open. The
    // marker lists the logs that closed empty (in the checkpoint format: their base offsets).
    if (logs.every(({ log }) => log.closedCleanly)) {
      const closedEmpty: CheckpointEntry[] = [];
      for (const { topic, partition, log } of logs) {
        const offset = log.closedEmptyAt;
        if (offset !== null) closedEmpty.push({ topic, partition, offset });
      }
      await writeCheckpoint(this.io, `${this.directory}/${CLEAN_SHUTDOWN_FILE}`, closedEmpty);
    }
    await this.lock?.release();
    this.lock = null;
  }
}
