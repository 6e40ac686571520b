// The placement record (several entries in log.dirs only): which directory holds each partition's
// log, kept in every directory so it survives the loss of any one of them. Without it a
// directory that cannot be opened at start takes the knowledge of its partitions with it, and
// the first produce, topic load or CreatePartitions would create them empty on a healthy
// directory: the data would "disappear" and offsets restart at 0.
//
// Each directory holds one copy, `<dir>/log-placement.json`, written atomically (temporary file,
// fsync, rename, directory fsync) through the FileIo seam:
//
//   { "version": 1,
//     "directoryId": "4f1c...",                 the identity of the directory holding this copy
//     "generation": 42,                         one more at every write; the highest copy wins
//     "directories": { "4f1c...": "/disk1/brook", "9a0e...": "/disk2/brook" },
//     "logs": { "orders-0": "4f1c...", "orders-1": "9a0e...",
//               "old-3": { "directoryId": "9a0e...", "deleted": true } } }
//
// A log is named by the directory's identity, not its path, so a directory mounted elsewhere or
// listed in another order is still recognised; the paths say which identity an entry of log.dirs
// that cannot be opened (and so cannot tell its own) had. `deleted` marks a log whose topic was
// deleted while its directory was offline: it is removed when the directory opens again, and
// until then a log of its name (a topic created again) is offline too, never created elsewhere.
//
// Owned by LogDirectories, which says what the record holds; this module only reads and writes
// copies. Writes never overlap, and a write asked for while one runs shares the next one (which
// reads the placement after that request), so a later placement never loses to an earlier one.

import { randomUUID } from 'node:crypto';

import type { FileIo } from './file-io.js';
import { CoalescedTask } from '../util/coalesced-task.js';

export const PLACEMENT_FILE = 'log-placement.json';
const PLACEMENT_VERSION = 1;

/** Where one log lives; `deleted` while its directory was offline when its topic was deleted. */
export interface PlacedLog {
  readonly directoryId: string;
  readonly deleted: boolean;
}

/** What every copy holds alike. */
export interface Placement {
  /** Per directory identity, the path it was last opened at. */
  readonly directories: ReadonlyMap<string, string>;
  /** Per `<topic>-<partition>`, where its log lives. */
  readonly logs: ReadonlyMap<string, PlacedLog>;
}

/** One directory's copy. */
export interface PlacementCopy extends Placement {
  readonly directoryId: string;
  readonly generation: number;
}

export function newDirectoryId(): string {
  return randomUUID();
}

/**
 * The copy in `directory`: null when it has none (a directory from before the record, or a new
 * one). A copy that does not parse is reported through `onInvalid` and read as none: the others,
 * written at the same time, still hold the placement.
 */
export async function readPlacementCopy(
  io: FileIo,
  directory: string,
  onInvalid: (reason: string) => void,
): Promise<PlacementCopy | null> {
  const data = await io.readFile(`${directory}/${PLACEMENT_FILE}`);
  if (data === null) return null;
  try {
    return decodePlacement(data);
  } catch (error) {
    onInvalid(error instanceof Error ? error.message : String(error));
    return null;
  }
}

function decodePlacement(data: Buffer): PlacementCopy {
  const parsed = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  if (parsed.version !== PLACEMENT_VERSION) throw new Error(`version ${String(parsed.version)}`);
  const { directoryId, generation, directories, logs } = parsed;
  if (typeof directoryId !== 'string' || directoryId === '') throw new Error('no directoryId');
  if (!Number.isSafeInteger(generation)) throw new Error('no generation');
  if (typeof directories !== 'object' || directories === null) throw new Error('no directories');
  if (typeof logs !== 'object' || logs === null) throw new Error('no logs');
  const directoryMap = new Map<string, string>();
  for (const [id, path] of Object.entries(directories)) {
    if (typeof path !== 'string') throw new Error(`directory ${id} has no path`);
    directoryMap.set(id, path);
  }
  const logMap = new Map<string, PlacedLog>();
  for (const [name, placed] of Object.entries(logs)) {
    if (typeof placed === 'string') {
      logMap.set(name, { directoryId: placed, deleted: false });
    } else if (
      typeof placed === 'object' &&
      placed !== null &&
      typeof (placed as { directoryId?: unknown }).directoryId === 'string'
    ) {
      const entry = placed as { directoryId: string; deleted?: unknown };
      logMap.set(name, { directoryId: entry.directoryId, deleted: entry.deleted === true });
    } else {
      throw new Error(`log ${name} has no directory`);
    }
  }
  return {
    directoryId,
    generation: generation as number,
    directories: directoryMap,
    logs: logMap,
  };
}

function encodePlacement(copy: PlacementCopy): Buffer {
  const logs: Record<string, string | { directoryId: string; deleted: true }> = {};
  for (const [name, placed] of copy.logs)
    logs[name] = placed.deleted
      ? { directoryId: placed.directoryId, deleted: true }
      : placed.directoryId;
  return Buffer.from(
    `${JSON.stringify({
      version: PLACEMENT_VERSION,
      directoryId: copy.directoryId,
      generation: copy.generation,
      directories: Object.fromEntries(copy.directories),
      logs,
    })}\n`,
  );
}

/** A directory a copy is written to: its path and identity. */
export interface PlacementTarget {
  readonly directory: string;
  readonly directoryId: string;
}

/**
 * Writes the placement into every target directory. `current` is read when a write starts.
 * A write resolves once at least one copy is durable; a directory whose copy fails is reported
 * through `onCopyFailed` (once, until a copy there succeeds again: its disk is failing and the
 * others hold the record), and a write rejects only when no copy could be written.
 */
export class PlacementWriter {
  private generation: number;
  private readonly writes = new CoalescedTask(() => this.writeCopies());
  /** The directories whose last copy failed (reported once). */
  private readonly failing = new Set<string>();

  constructor(
    private readonly io: FileIo,
    private readonly targets: readonly PlacementTarget[],
    /** The generation of the newest copy read at start; the first write is one more. */
    generation: number,
    private readonly current: () => Placement,
    private readonly onCopyFailed: (directory: string, error: unknown) => void,
  ) {
    this.generation = generation;
  }

  write(): Promise<void> {
    return this.writes.run();
  }

  private async writeCopies(): Promise<void> {
    const placement = this.current();
    this.generation += 1;
    const generation = this.generation;
    const written = await Promise.allSettled(
      this.targets.map((target) =>
        this.io.writeFileAtomic(
          `${target.directory}/${PLACEMENT_FILE}`,
          encodePlacement({ ...placement, directoryId: target.directoryId, generation }),
        ),
      ),
    );
    let failure: unknown = null;
    written.forEach((result, index) => {
      const { directory } = this.targets[index];
      if (result.status === 'fulfilled') {
        this.failing.delete(directory);
        return;
      }
      failure = result.reason;
      // Once until a copy there succeeds again: a failing disk fails every write.
      if (!this.failing.has(directory)) this.onCopyFailed(directory, result.reason);
      this.failing.add(directory);
    });
    if (written.every((result) => result.status === 'rejected')) throw failure;
  }
}
