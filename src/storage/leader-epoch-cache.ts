// The leader epoch cache of one partition: which leader epoch wrote the log from which offset,
// kept in `leader-epoch-checkpoint` in Kafka's text format:
//
//   0                  version
//   2                  number of entries
//   0 0                epoch start offset
//   3 1200
//
// Replication uses it to answer OffsetForLeaderEpoch and to find where a follower's log diverges
// from a new leader's. Entries only move forwards; truncation from either end trims them.

import type { FileIo } from './file-io.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
const CHECKPOINT_VERSION = 0;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** Kafka's answer for an epoch it cannot place: UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH_END = Object.freeze({ leaderEpoch: -1, endOffset: -1 });

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];
  /** Set when the entries changed since the file was last written. */
  dirty = false;
  private writeChain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly io: FileIo,
    private readonly path: string,
  ) {}

  /** `exists: false`: the caller's directory listing shows no checkpoint, so none is read. */
  static async load(
    io: FileIo,
    directory: string,
    options: { exists: boolean } = { exists: true },
  ): Promise<LeaderEpochCache> {
    const cache = new LeaderEpochCache(io, `${directory}/${LEADER_EPOCH_CHECKPOINT}`);
    const data = options.exists ? await io.readFile(cache.path) : null;
    if (data) cache.entries = decodeLeaderEpochCheckpoint(data) ?? [];
    return cache;
  }

  get latestEpoch(): number {
    return this.entries.length === 0 ? -1 : this.entries[this.entries.length - 1].epoch;
  }

  list(): EpochEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  /** Records that `epoch` starts at `startOffset`; an epoch not above the latest is ignored. */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || epoch <= this.latestEpoch) return false;
    // A later epoch starting below an existing entry means that entry's offsets were truncated.
    while (
      this.entries.length > 0 &&
      this.entries[this.entries.length - 1].startOffset >= startOffset
    )
      this.entries.pop();
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
    return true;
  }

  /**
   * The largest epoch <= `epoch` and the offset where it ended (the next epoch's start, or the log
   * end offset for the latest epoch), as OffsetForLeaderEpoch answers.
   */
  endOffsetFor(epoch: number, logEndOffset: number): { leaderEpoch: number; endOffset: number } {
    if (epoch < 0 || this.entries.length === 0) return { ...UNDEFINED_EPOCH_END };
    if (epoch === this.latestEpoch) return { leaderEpoch: epoch, endOffset: logEndOffset };
    const higher = this.entries.find((entry) => entry.epoch > epoch);
    if (!higher) return { ...UNDEFINED_EPOCH_END };
    const floor = this.entries.filter((entry) => entry.epoch <= epoch).pop();
    // Below every known epoch (older entries were truncated away), Kafka answers with the
    // requested epoch ending where the first known one starts.
    return { leaderEpoch: floor ? floor.epoch : epoch, endOffset: higher.startOffset };
  }

  /** Forgets epochs that start at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: number): void {
    const before = this.entries.length;
    this.entries = this.entries.filter((entry) => entry.startOffset < endOffset);
    if (this.entries.length !== before) this.dirty = true;
  }

  /** Forgets epochs wholly before `startOffset` (the log start offset moved). */
  truncateFromStart(startOffset: number): void {
    let changed = false;
    while (this.entries.length > 1 && this.entries[1].startOffset <= startOffset) {
      this.entries.shift();
      changed = true;
    }
    if (this.entries.length > 0 && this.entries[0].startOffset < startOffset) {
      this.entries[0] = { ...this.entries[0], startOffset };
      changed = true;
    }
    if (changed) this.dirty = true;
  }

  /** Writes the file if anything changed; writes are serialised, so the newest entries win. */
  persist(): Promise<void> {
    const run = this.writeChain.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await this.io.writeFileAtomic(this.path, encodeLeaderEpochCheckpoint(this.entries));
      } catch (error) {
        this.dirty = true;
        throw error;
      }
    });
    this.writeChain = run.catch(() => undefined);
    return run;
  }
}

export function encodeLeaderEpochCheckpoint(entries: EpochEntry[]): Buffer {
  const lines = [
    String(CHECKPOINT_VERSION),
    String(entries.length),
    ...entries.map((entry) => `${entry.epoch} ${entry.startOffset}`),
  ];
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

/** null for a malformed file: the cache then starts empty rather than trusting garbage. */
export function decodeLeaderEpochCheckpoint(data: Buffer): EpochEntry[] | null {
  const lines = data
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  if (
    lines.length < 2 ||
    Number(lines[0]) !== CHECKPOINT_VERSION ||
    Number(lines[1]) !== lines.length - 2
  )
    return null;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const [epoch, startOffset] = line.split(' ').map(Number);
    if (!Number.isInteger(epoch) || !Number.isInteger(startOffset)) return null;
    if (
      entries.length > 0 &&
      (epoch <= entries[entries.length - 1].epoch ||
        startOffset < entries[entries.length - 1].startOffset)
    )
      return null;
    entries.push({ epoch, startOffset });
  }
  return entries;
}
