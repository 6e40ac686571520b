// The process's limit on open files: for bounds that must leave room under it (the storage
// descriptor pool's) and for process_max_fds. Node has no getrlimit; Linux shows the limits in
// /proc/self/limits.

import { readFileSync } from 'node:fs';

/** The soft limit on open files (RLIMIT_NOFILE), or null where it cannot be read or is unlimited. */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('Max open files'));
    // "Max open files            20000                20000                files"
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || !/^\d+$/.test(soft) ? null : Number(soft);
  } catch {
    return null;
  }
}
