// Change stamps: a reader that keeps figures between two looks (a metrics scrape) re-reads an
// object only when its stamp moved. An object draws a new stamp whenever one of the figures it
// exposes moves; drawing is one increment, cheap enough for the produce path (once per batch, never
// per record). Stamps come from one process-wide sequence, so a stamp is never drawn twice: a new
// object (a partition or group created again under the same name) never shows the stamp a reader
// kept for the one before it, and the larger of two stamps moves whenever either does.

let lastStamp = 0;

/** A stamp no object has shown before. */
export function nextChangeStamp(): number {
  return ++lastStamp;
}
