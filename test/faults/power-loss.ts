// The other half of fsync-journal.ts: reads the journal a killed broker left and cuts every file
// under its log directory back to its last fsynced length (files never fsynced lose everything),
// as if the machine had lost power at the moment of the SIGKILL.

import { existsSync, readFileSync } from 'node:fs';
import { cutToFsyncedLengths } from '../helpers/storage-faulty-io.js';

/** path -> durable length, replaying `sync`, `cut`, `rename` and `forget` lines in order. */
export function readJournal(journalPath: string): Map<string, number> {
  const lengths = new Map<string, number>();
  if (!existsSync(journalPath)) return lengths;
  const under = (path: string, root: string): boolean =>
    path === root || path.startsWith(root + '/');
  for (const line of readFileSync(journalPath, 'utf8').split('\n')) {
    const [kind, first, second] = line.split('\t');
    if (kind === 'sync') lengths.set(first, Math.max(lengths.get(first) ?? 0, Number(second)));
    else if (kind === 'cut') lengths.set(first, Math.min(lengths.get(first) ?? 0, Number(second)));
    else if (kind === 'forget') {
      for (const path of [...lengths.keys()]) if (under(path, first)) lengths.delete(path);
    } else if (kind === 'rename') {
      // Whatever the target held is replaced; only what the source had synced moves over.
      for (const path of [...lengths.keys()]) if (under(path, second)) lengths.delete(path);
      for (const [path, length] of [...lengths]) {
        if (!under(path, first)) continue;
        lengths.delete(path);
        lengths.set(second + path.slice(first.length), length);
      }
    }
  }
  return lengths;
}

/**
 * Cuts every file under `directory` to its journaled durable length; returns the bytes thrown
 * away, which a scenario should see above zero at least once, or its power loss did nothing.
 */
export function cutToLastFsync(directory: string, journalPath: string): number {
  return cutToFsyncedLengths(directory, readJournal(journalPath));
}
