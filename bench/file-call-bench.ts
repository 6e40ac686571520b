// What one storage file operation costs the process in CPU, by the way it is called: a
// FileHandle's promise methods (what `nodeFileIo` used), fs's callback calls on a raw descriptor
// (what it uses now, src/storage/file-io.ts), and the same syscall made synchronously on the
// calling thread, the floor: no thread-pool hand-off, no promise, no callback. Each row is CPU
// (user + system, all threads) per operation over --operations operations, 64 files at a time
// as many logs' appends are, and its ratio to the floor measured in the same run.
//
//   node --import tsx bench/file-call-bench.ts [--operations N] [--rounds N] [DIRECTORY]
//
// Operations: a 200-byte positioned write (writev); an open and a close of an existing file (a
// descriptor pool's cycle). fdatasync is left out: its cost is the disk's and the filesystem's
// journal, the same whichever way it is called.

import {
  close,
  closeSync,
  mkdtempSync,
  open,
  openSync,
  rmSync,
  writev,
  writevSync,
  writeFileSync,
} from 'node:fs';
import { open as openHandle, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index < 0 ? fallback : process.argv[index + 1];
}

const operations = Number(argument('--operations', '40000'));
const rounds = Number(argument('--rounds', '3'));
const positional = process.argv.slice(2).filter((value, index, all) => {
  return !value.startsWith('--') && !all[index - 1]?.startsWith('--');
});
const directory = mkdtempSync(join(positional[0] ?? tmpdir(), 'file-calls-'));
const FILES = 64;
const payload = [Buffer.alloc(200, 1)];
const paths = Array.from({ length: FILES }, (_, index) => join(directory, `${index}.log`));
for (const path of paths) writeFileSync(path, '');

const callback = <T>(start: (done: (error: Error | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) =>
    start((error, value) => (error ? reject(error) : resolve(value))),
  );

/** Runs `each(file index, round position)` `operations` times, FILES at once; CPU µs per call. */
async function cpuPerOperation(
  each: (index: number, position: number) => Promise<unknown> | unknown,
): Promise<number> {
  const started = process.cpuUsage();
  for (let done = 0, position = 0; done < operations; done += FILES, position += 200)
    await Promise.all(paths.map((_, index) => each(index, position)));
  const used = process.cpuUsage(started);
  return (used.user + used.system) / operations;
}

async function writes(): Promise<Record<string, number>> {
  const handles: FileHandle[] = await Promise.all(paths.map((path) => openHandle(path, 'r+')));
  const descriptors = handles.map((handle) => handle.fd);
  const figures = {
    'FileHandle.writev (promise)': await cpuPerOperation((index, position) =>
      handles[index].writev(payload, position),
    ),
    'fs.writev (callback)': await cpuPerOperation((index, position) =>
      callback((done) => writev(descriptors[index], payload, position, done)),
    ),
    'fs.writevSync (floor)': await cpuPerOperation((index, position) =>
      writevSync(descriptors[index], payload, position),
    ),
  };
  await Promise.all(handles.map((handle) => handle.close()));
  return figures;
}

async function opens(): Promise<Record<string, number>> {
  return {
    'fs/promises open + close': await cpuPerOperation(async (index) => {
      const handle = await openHandle(paths[index], 'r+');
      await handle.close();
    }),
    'fs.open + fs.close (callback)': await cpuPerOperation(async (index) => {
      const fd = await callback<number>((done) => open(paths[index], 'r+', done));
      await callback<void>((done) => close(fd, (error) => done(error, undefined)));
    }),
    'openSync + closeSync (floor)': await cpuPerOperation((index) => {
      closeSync(openSync(paths[index], 'r+'));
    }),
  };
}

console.log(
  `# CPU per file operation (user + system, all threads), ${operations} operations over ${FILES} files at once, ${rounds} rounds; ratio to the synchronous call's (the floor) in the same round`,
);
for (let round = 1; round <= rounds; round++) {
  for (const figures of [await writes(), await opens()]) {
    const floor = Object.values(figures).at(-1)!;
    for (const [name, microseconds] of Object.entries(figures))
      console.log(
        `round ${round}  ${name.padEnd(30)} ${microseconds.toFixed(2).padStart(6)} µs  ${(microseconds / floor).toFixed(2)}× floor`,
      );
  }
}
rmSync(directory, { recursive: true, force: true });
