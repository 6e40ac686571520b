// A write of state that is read when the write starts (a checkpoint, the placement record),
// asked for often and wanted once: runs never overlap, and a call made while a run is under way
// shares the next one, which starts after it and so reads every change made before the call. A
// burst of calls costs at most two runs, and a later state never loses to an earlier one.
//
//   call ─► a run queued (not started)? ─yes─► that run's promise
//                                       └─no──► a new run, after the one under way

export class CoalescedTask {
  private chain: Promise<void> = Promise.resolve();
  /** The run not yet started, which new callers join. */
  private queued: Promise<void> | null = null;

  constructor(private readonly task: () => Promise<void>) {}

  /** Resolves (or rejects) with the run that covers this call. */
  run(): Promise<void> {
    if (this.queued !== null) return this.queued;
    const run = this.chain.then(() => {
      this.queued = null;
      return this.task();
    });
    this.queued = run;
    this.chain = run.catch(() => undefined);
    return run;
  }
}
