// Loaded into a broker process (`node --import tsx --import ./fsync-journal.ts`) to make a power
// loss simulable without any hook in the broker: it wraps node:fs's promise API so that every
// completed fsync appends `sync <path> <length>` to the journal named by
// BROOK_FAULT_FSYNC_JOURNAL, and truncations, renames and deletions are journaled too. After
// SIGKILL, `cutToLastFsync` (power-loss.ts) cuts every file back to what the journal proves
// durable: the page cache the machine lost.
//
// The length is taken before the fsync starts: a write still in flight then may or may not be
// covered, so it is not counted. The journal is appended synchronously, before the fsync's
// promise resolves to the broker, so nothing the broker acknowledged after an fsync is missing
// from it, even if the process dies on the next instruction. Brook's file I/O goes through
// fs.promises (FileHandle) and, for a log's files, fs's callback calls on a raw descriptor
// (storage/file-io.ts): both are wrapped here; a synchronous fsync would escape it.

import callbackFs, { appendFileSync, fstatSync, promises as fs } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';

const journalPath = process.env.BROOK_FAULT_FSYNC_JOURNAL;
if (journalPath !== undefined && journalPath !== '') await install(journalPath);

async function install(journal: string): Promise<void> {
  const note = (line: string): void => appendFileSync(journal, line + '\n');
  const pathOf = new WeakMap<object, string>();
  const absolute = (path: unknown): string => resolve(String(path));

  const probe = await fs.open(process.execPath, 'r');
  const handlePrototype = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();

  const originalOpen = fs.open.bind(fs);
  fs.open = async function open(...args: Parameters<typeof fs.open>) {
    const [path, flags] = args;
    const handle = await originalOpen(...args);
    pathOf.set(handle, absolute(path));
    // A file opened to be replaced starts empty: nothing of it is durable until it is fsynced.
    if (typeof flags === 'string' && flags.startsWith('w')) note(`cut\t${absolute(path)}\t0`);
    return handle;
  } as typeof fs.open;

  for (const name of ['datasync', 'sync'] as const) {
    const original = handlePrototype[name] as (this: object) => Promise<void>;
    handlePrototype[name] = async function fsyncAndJournal(this: { fd: number }) {
      const path = pathOf.get(this);
      const length = path === undefined ? 0 : fstatSync(this.fd).size;
      await original.call(this);
      if (path !== undefined) note(`sync\t${path}\t${length}`);
    };
  }

  const originalTruncate = handlePrototype.truncate as (
    this: object,
    length?: number,
  ) => Promise<void>;
  handlePrototype.truncate = async function truncateAndJournal(this: object, length = 0) {
    await originalTruncate.call(this, length);
    const path = pathOf.get(this);
    if (path !== undefined) note(`cut\t${path}\t${length}`);
  };

  const originalRename = fs.rename.bind(fs);
  fs.rename = async (from, to) => {
    await originalRename(from, to);
    note(`rename\t${absolute(from)}\t${absolute(to)}`);
  };
  const originalUnlink = fs.unlink.bind(fs);
  fs.unlink = async (path) => {
    await originalUnlink(path);
    note(`forget\t${absolute(path)}`);
  };
  const originalRm = fs.rm.bind(fs);
  fs.rm = async (path, options) => {
    await originalRm(path, options);
    note(`forget\t${absolute(path)}`);
  };
  wrapDescriptorCalls(note, absolute);
  // `import { open } from 'node:fs/promises'` binds to the ESM namespace: bring it up to date.
  syncBuiltinESMExports();
}

type Callback = (error: NodeJS.ErrnoException | null, ...results: unknown[]) => void;

/**
 * The same journal for fs's callback calls on raw descriptors: a descriptor's path is known from
 * its open until its close (forgotten before the close starts, since the number may be reused by
 * the next open as soon as it ends; the storage closes a file only once its calls are done).
 */
function wrapDescriptorCalls(
  note: (line: string) => void,
  absolute: (path: unknown) => string,
): void {
  const pathByDescriptor = new Map<number, string>();
  const calls = callbackFs as unknown as Record<string, (...args: unknown[]) => void>;
  /** Replaces `name` with a version whose callback (its last argument) runs `after` first. */
  const wrap = (
    name: string,
    before: (args: unknown[]) => unknown,
    after: (state: unknown, args: unknown[], results: unknown[]) => void,
  ): void => {
    const original = calls[name];
    calls[name] = function (...args: unknown[]) {
      const callback = args.at(-1);
      if (typeof callback !== 'function') return original.apply(this, args);
      const state = before(args);
      args[args.length - 1] = (error: NodeJS.ErrnoException | null, ...results: unknown[]) => {
        if (error === null) after(state, args, results);
        (callback as Callback)(error, ...results);
      };
      return original.apply(this, args);
    };
  };
  wrap(
    'open',
    () => undefined,
    (_, [path], [fd]) => pathByDescriptor.set(fd as number, absolute(path)),
  );
  wrap(
    'close',
    ([fd]) => pathByDescriptor.delete(fd as number),
    () => undefined,
  );
  for (const name of ['fdatasync', 'fsync']) {
    wrap(
      name,
      ([fd]) => {
        const path = pathByDescriptor.get(fd as number);
        return path === undefined ? undefined : { path, length: fstatSync(fd as number).size };
      },
      (synced) => {
        const { path, length } = (synced ?? {}) as { path?: string; length?: number };
        if (path !== undefined) note(`sync\t${path}\t${length}`);
      },
    );
  }
  wrap(
    'ftruncate',
    ([fd]) => pathByDescriptor.get(fd as number),
    (path, [, length]) => {
      if (path !== undefined)
        note(`cut\t${path as string}\t${typeof length === 'number' ? length : 0}`);
    },
  );
}
