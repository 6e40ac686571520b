// A rate over Kafka's sample windows (quota.window.num windows of quota.window.size.seconds),
// measured the way Kafka's `Rate` over a `SampledStat` measures it, so that a client throttled by
// Brook sees the same throttle times a Kafka broker would give it.
//
//   samples   [ s0 | s1 | ... | s(n-1) ]   each: when it started, the total recorded in it
//   rate      sum of the samples / elapsed time since the oldest sample started, where the
//             elapsed time is never taken as less than n-1 windows (a fresh rate is not
//             inflated by dividing a first burst by a few milliseconds)
//
// A sample older than n windows is forgotten. Not shared across an await: every call is
// synchronous and takes the caller's clock, which keeps tests of the arithmetic exact.

export interface SampleWindows {
  /** quota.window.num: how many windows the rate looks back over. */
  readonly windowCount: number;
  /** quota.window.size.seconds, in milliseconds. */
  readonly windowMs: number;
}

interface Sample {
  startMs: number;
  total: number;
}

export class SampledRate {
  private readonly samples: Sample[] = [];

  constructor(private readonly windows: SampleWindows) {}

  /** Adds `value` (bytes, milliseconds of work, mutations) at time `nowMs`. */
  record(value: number, nowMs: number): void {
    this.forgetExpired(nowMs);
    const current = this.samples.at(-1);
    if (current !== undefined && nowMs - current.startMs < this.windows.windowMs) {
      current.total += value;
      return;
    }
    this.samples.push({ startMs: nowMs, total: value });
    if (this.samples.length > this.windows.windowCount) this.samples.shift();
  }

  /** The recorded total per second at `nowMs`. */
  perSecond(nowMs: number): number {
    this.forgetExpired(nowMs);
    let total = 0;
    for (const sample of this.samples) total += sample.total;
    return total / (this.elapsedMs(nowMs) / 1000);
  }

  /**
   * The time the rate is measured over: since the oldest sample began, but at least
   * windowCount - 1 windows. Kafka's `Rate.windowSize` pads to windowCount - 1 *whole* windows
   * plus the fraction of the current one, so early on a client may exceed its quota by up to one
   * window's worth (10% with the default 11 windows) just before each window boundary; Brook
   * pads to exactly windowCount - 1 windows, which is the same once that much time has passed.
   */
  elapsedMs(nowMs: number): number {
    const { windowCount, windowMs } = this.windows;
    const oldest = this.samples[0];
    const elapsedMs = oldest === undefined ? 0 : nowMs - oldest.startMs;
    return Math.max(elapsedMs, (windowCount - 1) * windowMs, 1);
  }

  /**
   * How long the client must wait for the rate to fall back to `bound`, 0 when within it. Once
   * the rate is measured over the time really elapsed this is Kafka's `QuotaUtils.throttleTime`
   * (the excess over the bound, as a fraction of the bound, times the window). While the window
   * is still padded Kafka's formula assumes the allowance grows as the client waits, which it
   * does not, so a throttled client would come back still over its quota; Brook waits until the
   * time elapsed covers what was recorded at the bound's rate.
   */
  throttleTimeMs(bound: number, nowMs: number): number {
    const rate = this.perSecond(nowMs);
    if (rate <= bound) return 0;
    let total = 0;
    for (const sample of this.samples) total += sample.total;
    const elapsedMs = nowMs - this.samples[0].startMs;
    return Math.round((total / bound) * 1000 - elapsedMs);
  }

  private forgetExpired(nowMs: number): void {
    const expireAgeMs = this.windows.windowCount * this.windows.windowMs;
    while (this.samples.length > 0 && nowMs - this.samples[0].startMs >= expireAgeMs) {
      this.samples.shift();
    }
  }
}
