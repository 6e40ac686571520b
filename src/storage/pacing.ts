// Background work (recovery scans, retention, compaction) shares the event loop with appends and
// fetches, so it yields at a bounded interval instead of running a whole scan in one go.

/** Background scans yield to the event loop after this long. */
const BACKGROUND_SLICE_MS = 4;

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Returns a function that yields to the event loop once a time slice is used up. */
export function backgroundPacer(sliceMs = BACKGROUND_SLICE_MS): () => Promise<void> {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await yieldToEventLoop();
    sliceStart = performance.now();
  };
}
