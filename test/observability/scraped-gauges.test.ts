// The broker's registry renders scraped gauge families from kept lines (issue 13's scrape time);
// the text must be the one prom-client renders itself, byte for byte, through value changes,
// series that come and go, and label values that need escaping.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';

import { Registry } from 'prom-client';

import { combineCrc32, storedBlocks, tableCrc32 } from '../../src/observability/gzip-members.js';
import {
  LineCachingRegistry,
  ScrapedGaugeFamilies,
} from '../../src/observability/scraped-gauges.js';

interface Row {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly size: number;
}

function families(registry: Registry, rows: () => readonly Row[]): void {
  new ScrapedGaugeFamilies({
    families: [
      { name: 'test_offset', help: 'An offset, with a \\ and a\nnewline in its help.' },
      { name: 'test_size_bytes', help: 'A size.' },
    ],
    labelNames: ['topic', 'partition'],
    registers: [registry],
    series: function* () {
      for (const row of rows())
        yield [
          [row.topic, row.partition],
          [row.offset, row.size],
        ];
    },
  });
}

test('kept lines render exactly what prom-client renders, scrape after scrape', async () => {
  let rows: Row[] = [
    { topic: 'orders', partition: 0, offset: 0, size: 0 },
    { topic: 'say "hi"', partition: 1, offset: 1.5, size: -0 },
    { topic: 'back\\slash\nnewline', partition: 2, offset: 2 ** 53, size: 1e21 },
    { topic: 'ünïcode-✓', partition: 3, offset: NaN, size: Infinity },
    { topic: '', partition: 4, offset: -Infinity, size: 5e-7 },
  ];
  const kept = new LineCachingRegistry();
  const plain = new Registry();
  families(kept, () => rows);
  families(plain, () => rows);

  const compare = async (what: string) => {
    const expected = await plain.metrics();
    assert.equal(await kept.metrics(), expected, what);
    return expected;
  };
  const first = await compare('first scrape');
  assert.match(first, /^test_offset\{topic="say \\"hi\\"",partition="1"\} 1\.5$/m);
  await compare('the same values again, from kept lines');

  rows = rows.map((row, index) => (index % 2 === 0 ? { ...row, offset: row.offset + 7 } : row));
  const moved = await compare('some values moved');
  assert.match(moved, /^test_offset\{topic="orders",partition="0"\} 7$/m);

  rows = [...rows.slice(1), { topic: 'orders', partition: 9, offset: 3, size: 4 }];
  const changed = await compare('a series gone, one new');
  assert.doesNotMatch(changed, /partition="0"/);

  // The JSON view is prom-client's own: plain labels, current values.
  const json = await kept.getMetricsAsJSON();
  const offsets = json.find((metric) => metric.name === 'test_offset')!;
  assert.deepEqual(
    offsets.values.find((value) => value.labels.partition === '9'),
    { value: 3, labels: { topic: 'orders', partition: '9' } },
  );
});

test('with default labels the registry falls back to prom-client rendering', async () => {
  const rows = [{ topic: 'orders', partition: 0, offset: 4, size: 8 }];
  const kept = new LineCachingRegistry();
  const plain = new Registry();
  families(kept, () => rows);
  families(plain, () => rows);
  kept.setDefaultLabels({ broker: '1' });
  plain.setDefaultLabels({ broker: '1' });
  const text = await kept.metrics();
  assert.equal(text, await plain.metrics());
  assert.match(text, /broker="1"/);
});

test('a scrape of many series lets the event loop turn while it renders', async () => {
  const rows = Array.from({ length: 100_000 }, (_, index) => ({
    topic: `topic-${Math.floor(index / 100)}`,
    partition: index % 100,
    offset: index,
    size: index * 2,
  }));
  const kept = new LineCachingRegistry();
  families(kept, () => rows);
  // Counts the turns of the event loop until the scrape resolves; one piece of synchronous
  // rendering would let none happen before it.
  let turns = 0;
  let scraped = false;
  const count = (): void => {
    if (scraped) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  const text = await kept.metrics();
  scraped = true;
  assert.ok(turns > 1, `the event loop turned ${turns} time(s) during the scrape`);
  assert.equal(text.split('\n').filter((line) => line.startsWith('test_offset{')).length, 100_000);
});

test('scrapes that overlap render one after the other, each the whole text', async () => {
  let rows = Array.from({ length: 20_000 }, (_, index) => ({
    topic: `topic-${Math.floor(index / 100)}`,
    partition: index % 100,
    offset: index,
    size: 0,
  }));
  const kept = new LineCachingRegistry();
  const plain = new Registry();
  families(kept, () => rows);
  families(plain, () => rows);
  const first = kept.metrics();
  // The second starts while the first renders in slices, after the values moved.
  await new Promise((resolve) => setImmediate(resolve));
  rows = rows.map((row) => ({ ...row, offset: row.offset + 1 }));
  const second = kept.metrics();
  const json = kept.getMetricsAsJSON();
  const [firstText, secondText] = await Promise.all([first, second]);
  assert.equal(secondText, await plain.metrics());
  assert.notEqual(firstText, secondText);
  assert.equal(firstText.split('\n').length, secondText.split('\n').length);
  const offsets = (await json).find((metric) => metric.name === 'test_offset')!;
  assert.equal(offsets.values.length, 20_000);
});

/** A thousand series over ten topics: more than one kept block, most of a scrape kept bytes. */
const thousandRows = (): Row[] =>
  Array.from({ length: 1000 }, (_, index) => ({
    topic: `topic-${Math.floor(index / 100)}`,
    partition: index % 100,
    offset: 1000 + index,
    size: 0,
  }));

test('a value that moved shows in the next scrape, whatever the kept blocks held', async () => {
  // More series than one kept block, so most of each scrape comes from kept bytes.
  let rows: Row[] = thousandRows();
  const kept = new LineCachingRegistry();
  const plain = new Registry();
  families(kept, () => rows);
  families(plain, () => rows);
  const offsetOf = (text: string, topic: string, partition: number): string | undefined =>
    new RegExp(`^test_offset\\{topic="${topic}",partition="${partition}"\\} (\\S+)$`, 'm').exec(
      text,
    )?.[1];
  const scrape = async (what: string): Promise<string> => {
    const text = await kept.metrics();
    assert.equal(text, await plain.metrics(), what);
    // The broker's answer: the same text, as bytes.
    assert.equal(Buffer.concat(await kept.exposition()).toString(), text, `${what}, as bytes`);
    return text;
  };
  const setOffset = (index: number, offset: number): void => {
    rows = rows.map((row, at) => (at === index ? { ...row, offset } : row));
  };

  await scrape('first scrape');
  await scrape('nothing moved');
  setOffset(500, 7);
  assert.equal(offsetOf(await scrape('one offset moved'), 'topic-5', 0), '7');
  setOffset(500, 1500);
  assert.equal(offsetOf(await scrape('and back'), 'topic-5', 0), '1500');

  // The series shift by one (the first one goes), so each lands in another block than the one
  // that showed it; one moves meanwhile, then all shift back to where they were first shown.
  const first = rows[0];
  rows = rows.slice(1);
  setOffset(499, 8);
  assert.equal(offsetOf(await scrape('shifted, one moved'), 'topic-5', 0), '8');
  rows = [first, ...rows];
  assert.equal(offsetOf(await scrape('shifted back'), 'topic-5', 0), '8');
  setOffset(999, 9);
  assert.equal(offsetOf(await scrape('the last one moved'), 'topic-9', 99), '9');
});

test('gzipped, the exposition is one gzip member of the text, kept blocks keeping their compressed pieces', async () => {
  let rows: Row[] = thousandRows();
  const kept = new LineCachingRegistry();
  families(kept, () => rows);
  const scrape = async (what: string): Promise<Buffer[]> => {
    const parts = [...(await kept.exposition({ gzip: true }))];
    const body = Buffer.concat(parts);
    const text = await kept.metrics();
    assert.equal(gunzipSync(body).toString(), text, what);
    // One member, as readers that stop after the first one (curl --compressed) need: the
    // deflate data between the 10-byte header and the 8-byte trailer is the whole text, and the
    // trailer holds its CRC-32 and length.
    assert.deepEqual([...body.subarray(0, 3)], [0x1f, 0x8b, 8], `${what}: a gzip header`);
    assert.equal(inflateRawSync(body.subarray(10, -8)).toString(), text, `${what}: one member`);
    assert.equal(body.readUInt32LE(body.length - 8), crc32(text), `${what}: the CRC-32`);
    assert.equal(body.readUInt32LE(body.length - 4), Buffer.byteLength(text), `${what}: length`);
    return parts;
  };
  const compressedAgain = (parts: Buffer[], before: Buffer[]): number =>
    parts.filter((part, index) => part !== before[index]).length;

  const first = await scrape('first scrape');
  assert.ok(first.length > 10, `a piece per chunk, not ${first.length} parts`);
  const again = await scrape('nothing moved');
  // Every block keeps its piece, and so do the blank line between the two families and the last
  // newline (kept chunks too: nothing is rendered anew between kept families); the trailer is new.
  assert.equal(again.length, first.length);
  assert.equal(compressedAgain(again, first), 1, 'with nothing moved, only the trailer');

  rows = rows.map((row, index) => (index === 500 ? { ...row, offset: 7 } : row));
  const moved = await scrape('one offset moved');
  assert.equal(
    compressedAgain(moved, again),
    2,
    'the block that showed the moved value is compressed again, and no other',
  );
  assert.match(gunzipSync(Buffer.concat(moved)).toString(), /partition="0"\} 7$/m);
  const plain = Buffer.concat(await kept.exposition()).length;
  assert.ok(
    Buffer.concat(moved).length * 4 < plain,
    `gzipped ${Buffer.concat(moved).length} bytes against ${plain}`,
  );
});

test("the CRC-32 of a concatenation combines from its parts, and the fallback CRC-32 is zlib's", () => {
  const random = (length: number): Buffer =>
    Buffer.from(Array.from({ length }, (_, index) => (index * 7919 + length * 31) % 251));
  for (const [firstLength, secondLength] of [
    [0, 0],
    [0, 5],
    [5, 0],
    [1, 1],
    [1000, 4099],
    [70_000, 1 << 17],
  ]) {
    const first = random(firstLength);
    const second = random(secondLength);
    assert.equal(
      combineCrc32(crc32(first), crc32(second), secondLength),
      crc32(Buffer.concat([first, second])),
      `${firstLength} then ${secondLength} bytes`,
    );
    assert.equal(tableCrc32(second), crc32(second), `without zlib's, ${secondLength} bytes`);
  }
});

test('text sent uncompressed is deflate stored blocks that inflate to it, whatever its length', () => {
  // An empty fixed-Huffman block with BFINAL set ends the stream, as the gzip answer ends.
  const finalEmptyBlock = Buffer.from([0x03, 0x00]);
  for (const length of [1, 100, 65_535, 65_536, 200_000]) {
    const text = Buffer.alloc(length, 'brook_x{a="b"} 1\n');
    const blocks = storedBlocks(text);
    assert.equal(
      blocks.length,
      length + 5 * Math.ceil(length / 65_535),
      `${length}: 5 bytes a block`,
    );
    assert.deepEqual(
      inflateRawSync(Buffer.concat([blocks, finalEmptyBlock])),
      text,
      `${length} bytes in stored blocks`,
    );
  }
});
