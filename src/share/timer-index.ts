// A timer index: entries due at a time, kept in a binary min-heap, with one node timer armed for
// the earliest. Lock expiry and delayed delivery both use it, so a subscription holding a million
// delayed records has one timer, not a million, and nothing polls.
//
// An entry is never removed from the heap on cancel: the owner checks, when it fires, whether the
// entry still means something (the record may have been acknowledged since). `generation` lets it
// tell a stale entry from the current one cheaply.

export interface TimerEntry<T> {
  readonly dueMs: number;
  readonly value: T;
}

export class TimerIndex<T> {
  private readonly heap: TimerEntry<T>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private armedForMs = Infinity;
  private closed = false;

  constructor(
    /** Called with every entry whose time came, earliest first. */
    private readonly onDue: (entries: readonly T[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  add(dueMs: number, value: T): void {
    if (this.closed) return;
    const heap = this.heap;
    heap.push({ dueMs, value });
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent].dueMs <= heap[index].dueMs) break;
      [heap[parent], heap[index]] = [heap[index], heap[parent]];
      index = parent;
    }
    if (dueMs < this.armedForMs) this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.heap.length = 0;
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedForMs = Infinity;
    if (this.heap.length === 0 || this.closed) return;
    const dueMs = this.heap[0].dueMs;
    this.armedForMs = dueMs;
    // setTimeout takes at most 2^31-1 ms; a later entry re-arms when that one fires.
    const delayMs = Math.min(Math.max(0, dueMs - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.fire(), delayMs);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.armedForMs = Infinity;
    const nowMs = this.now();
    const due: T[] = [];
    while (this.heap.length > 0 && this.heap[0].dueMs <= nowMs) due.push(this.pop());
    this.arm();
    if (due.length > 0) this.onDue(due);
  }

  private pop(): T {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as TimerEntry<T>;
    if (heap.length > 0) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && heap[left].dueMs < heap[smallest].dueMs) smallest = left;
        if (right < heap.length && heap[right].dueMs < heap[smallest].dueMs) smallest = right;
        if (smallest === index) break;
        [heap[smallest], heap[index]] = [heap[index], heap[smallest]];
        index = smallest;
      }
    }
    return top.value;
  }
}
