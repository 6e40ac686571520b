// The seam's own files (src/storage/file-io.ts, `nodeFileIo`): raw descriptors, so what a
// FileHandle did for free is checked here. A close waits for the operations in flight, and an
// operation after it fails instead of reaching a descriptor number the process reused.

import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeFileIo } from '../../src/storage/file-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/** Whether this process holds a descriptor of `path`. */
function held(path: string): boolean {
  return readdirSync('/proc/self/fd').some((descriptor) => {
    try {
      return readlinkSync(`/proc/self/fd/${descriptor}`) === path;
    } catch {
      return false; // closed between the listing and the look
    }
  });
}

test('a close waits for the writes in flight, and every byte lands in the file', async (t) => {
  const directory = temporaryDirectory(t);
  const path = join(directory, 'racing.log');
  const file = await nodeFileIo.open(path, { create: true });
  assert.ok(held(path));
  const chunk = Buffer.alloc(4 << 20, 7);
  // Eight writes on the thread pool at once, and the close asked for before any of them ended:
  // closing the descriptor under them would fail some with EBADF.
  const settled: string[] = [];
  const writes = Array.from({ length: 8 }, (_, index) =>
    file.write([chunk], index * chunk.length).then(() => settled.push(`write ${index}`)),
  );
  const closed = file.close().then(() => settled.push('close'));
  await Promise.all([...writes, closed]);
  assert.equal(settled.at(-1), 'close', `the close came last: ${settled.join(', ')}`);
  assert.equal(statSync(path).size, 8 * chunk.length);
  assert.ok(!held(path), 'the descriptor is released');
});

test('an operation after the close fails with EBADF, on its own path', async (t) => {
  const directory = temporaryDirectory(t);
  const path = join(directory, 'closed.log');
  const file = await nodeFileIo.open(path, { create: true });
  await file.write([Buffer.from('kept')], 0);
  await file.close();
  await file.close(); // a second close is the first one's
  const closedError = { code: 'EBADF', path };
  await assert.rejects(file.write([Buffer.from('lost')], 4), closedError);
  await assert.rejects(file.read(Buffer.alloc(4), 0, 4, 0), closedError);
  await assert.rejects(file.datasync(), closedError);
  await assert.rejects(file.truncate(0), closedError);
  await assert.rejects(file.size(), closedError);
  assert.throws(() => file.writeSync!([Buffer.from('lost')], 4), closedError);
  assert.equal(statSync(path).size, 4);
});

test('reads, writes, sizes and truncates go through the descriptor at explicit positions', async (t) => {
  const directory = temporaryDirectory(t);
  const path = join(directory, 'positions.log');
  await assert.rejects(nodeFileIo.open(path, { create: false }), { code: 'ENOENT' });
  const file = await nodeFileIo.open(path, { create: true });
  await file.write([Buffer.from('hello '), Buffer.from('world')], 0);
  assert.equal(file.writeSync!([Buffer.from('!')], 11), true);
  await file.datasync();
  assert.equal(await file.size(), 12);
  const buffer = Buffer.alloc(20);
  assert.equal(await file.read(buffer, 2, 18, 6), 6, 'a read stops at the end of the file');
  assert.equal(buffer.subarray(2, 8).toString(), 'world!');
  await file.truncate(5);
  assert.equal(await file.size(), 5);
  await file.close();
});
