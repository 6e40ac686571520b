// Seeds for the fault scenarios. Every random choice a scenario makes (which partition, when to
// kill, whether to abort) comes from a generator seeded here, so a failing run is replayed by
// setting BROOK_FAULT_SEED to the seed its failure message printed. Math.random is never used.
//
// BROOK_FAULT_SEED  one seed to run (decimal); replaces the list below.
// BROOK_FAULT_SEEDS how many seeds each scenario runs (default 1; `npm run test:faults` sets more).

import { SeededRandom } from '../helpers/random.js';

export { SeededRandom };

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * The seeds a scenario runs: BROOK_FAULT_SEED alone when set, otherwise BROOK_FAULT_SEEDS (or
 * `defaultCount`) seeds derived from the scenario's name, so different scenarios explore
 * different schedules and a run is the same from one day to the next.
 */
export function faultSeeds(scenario: string, defaultCount = 1): number[] {
  const single = process.env.BROOK_FAULT_SEED;
  if (single !== undefined && single !== '') return [positiveInteger('BROOK_FAULT_SEED', single)];
  const countText = process.env.BROOK_FAULT_SEEDS;
  const count =
    countText !== undefined && countText !== ''
      ? positiveInteger('BROOK_FAULT_SEEDS', countText)
      : defaultCount;
  const base = new SeededRandom(0x5eed).fork(scenario);
  return Array.from({ length: count }, () => base.integer(1, 2 ** 31 - 1));
}

/** Scales a scenario's run time: BROOK_FAULT_DURATION_MS when set, else the given default. */
export function faultDurationMs(defaultMs: number): number {
  const text = process.env.BROOK_FAULT_DURATION_MS;
  return text !== undefined && text !== ''
    ? positiveInteger('BROOK_FAULT_DURATION_MS', text)
    : defaultMs;
}
