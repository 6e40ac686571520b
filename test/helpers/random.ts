// Seeded randomness for tests. A test that makes random choices (when to kill a process, which
// partition to hit) draws them from a SeededRandom and prints its seed, so a failure is replayed
// exactly by setting BROOK_TEST_SEED to the printed seed. Math.random is never used in tests.

import { randomInt } from 'node:crypto';
import type { TestContext } from 'node:test';

/** A small, fast, seedable generator (mulberry32): good enough to pick faults, not for crypto. */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [minimum, maximum]. */
  integer(minimum: number, maximum: number): number {
    return minimum + Math.floor(this.next() * (maximum - minimum + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('SeededRandom.pick: no items to pick from');
    return items[this.integer(0, items.length - 1)];
  }

  /** An independent generator for one actor (a producer, the fault schedule), still reproducible. */
  fork(label: string): SeededRandom {
    let hash = this.seed >>> 0;
    for (const character of label) hash = Math.imul(hash ^ character.charCodeAt(0), 0x01000193);
    return new SeededRandom(hash >>> 0);
  }
}

/**
 * The generator for one test: seeded from BROOK_TEST_SEED when set, otherwise from a fresh random
 * seed. The seed and the command that replays it are printed as a diagnostic of the test.
 */
export function testRandom(t: TestContext, file: string): SeededRandom {
  const text = process.env.BROOK_TEST_SEED;
  let seed: number;
  if (text !== undefined && text !== '') {
    seed = Number(text);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new Error(
        `BROOK_TEST_SEED must be a non-negative integer, got ${JSON.stringify(text)}`,
      );
  } else {
    seed = randomInt(1, 2 ** 31 - 1);
  }
  t.diagnostic(`seed ${seed}; replay: BROOK_TEST_SEED=${seed} node scripts/run-tests.mjs ${file}`);
  return new SeededRandom(seed);
}
