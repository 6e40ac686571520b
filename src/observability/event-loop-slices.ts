// Long synchronous work on the event loop (a scrape renders tens of thousands of series) cut into
// slices of at most `sliceMs`, so the requests that arrive meanwhile (a producer's, waiting on an
// fsync's completion) are served between two slices instead of after the whole scrape.
//
//   work ──step step step ─► due()? ──no──► step step ...
//                                   └─yes─► await next() (one turn of the loop: I/O runs) ─► ...
//
// The clock is read once every `stepsPerCheck` steps, so a step of a few hundred nanoseconds (one
// series' line) does not pay for a clock read each.
//
// Owned by one piece of work at a time (one scrape); not shared across concurrent work.

import { setImmediate as nextTurn } from 'node:timers/promises';

export class EventLoopSlices {
  private sliceStartedMs = performance.now();
  private stepsUntilCheck: number;

  constructor(
    private readonly sliceMs: number,
    private readonly stepsPerCheck = 64,
  ) {
    this.stepsUntilCheck = stepsPerCheck;
  }

  /**
   * Counts one step (or `steps`, for a piece of work worth that many); true when this slice has
   * used its time and the work should `next()`.
   */
  due(steps = 1): boolean {
    this.stepsUntilCheck -= steps;
    if (this.stepsUntilCheck > 0) return false;
    this.stepsUntilCheck = this.stepsPerCheck;
    return performance.now() - this.sliceStartedMs >= this.sliceMs;
  }

  /** Lets the event loop turn once (I/O callbacks, timers), then starts a new slice. */
  async next(): Promise<void> {
    await nextTurn();
    this.sliceStartedMs = performance.now();
    this.stepsUntilCheck = this.stepsPerCheck;
  }
}
