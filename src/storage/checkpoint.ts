// Kafka's offset checkpoint files (recovery-point-offset-checkpoint, log-start-offset-checkpoint):
//
//   0                      version
//   2                      number of entries
//   orders 0 42            topic partition offset
//   orders 1 17
//
// Written atomically (temporary file, fsync, rename, directory fsync) so a crash leaves either
// the old file or the new one.

import type { FileIo } from './file-io.js';

export interface CheckpointEntry {
  topic: string;
  partition: number;
  offset: number;
}

const CHECKPOINT_VERSION = 0;

export function encodeCheckpoint(entries: CheckpointEntry[]): Buffer {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const entry of entries) lines.push(`${entry.topic} ${entry.partition} ${entry.offset}`);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

/** Parses a checkpoint file; a malformed file yields null so the caller falls back to scanning. */
export function decodeCheckpoint(data: Buffer): CheckpointEntry[] | null {
  const lines = data
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  if (lines.length < 2 || Number(lines[0]) !== CHECKPOINT_VERSION) return null;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) return null;
  const entries: CheckpointEntry[] = [];
  for (const line of lines.slice(2)) {
    const parts = line.split(' ');
    if (parts.length !== 3) return null;
    const partition = Number(parts[1]);
    const offset = Number(parts[2]);
    if (!Number.isInteger(partition) || !Number.isInteger(offset)) return null;
    entries.push({ topic: parts[0], partition, offset });
  }
  return entries;
}

export async function readCheckpoint(io: FileIo, path: string): Promise<Map<string, number>> {
  const data = await io.readFile(path);
  const entries = data ? decodeCheckpoint(data) : null;
  return new Map(
    (entries ?? []).map((entry) => [`${entry.topic}-${entry.partition}`, entry.offset]),
  );
}

export async function writeCheckpoint(
  io: FileIo,
  path: string,
  entries: CheckpointEntry[],
): Promise<void> {
  await io.writeFileAtomic(path, encodeCheckpoint(entries));
}
