// The memory every connection of a server shares for requests in flight: the bytes of request
// frames whose responses are not yet written, and of responses encoded but not yet handed to the
// socket. Each connection has its own limit too (queued.max.request.bytes); this one bounds their
// sum (queued.max.request.bytes.total), so many producers at full speed against a slow disk make
// the broker stop reading sockets instead of growing its memory.
//
// Over the limit, a connection with a request in flight starts no further one; a connection with
// nothing in flight may still start one. That keeps every connection live whoever holds the
// memory: a follower's fetch, a heartbeat or a Metadata request is never stuck behind producers,
// and nothing waits for memory that only its own progress would free. So the memory held is at
// most the limit plus one request per connection (each bounded by socket.request.max.bytes).
//
//   connection.adjust(+bytes) ─► used > max? ─► connections with requests in flight pause reading
//   connection.adjust(−bytes) ─► used ≤ max ─► every paused connection re-checks (`onFreed`),
//                                                in a microtask of its own

export class RequestMemory {
  private usedBytes = 0;
  private peakBytes = 0;
  private readonly waiting = new Set<() => void>();

  /** `maxBytes` -1: no limit. */
  constructor(readonly maxBytes: number) {}

  get used(): number {
    return this.usedBytes;
  }

  /** The most ever in use at once, for metrics and tests. */
  get peak(): number {
    return this.peakBytes;
  }

  get exhausted(): boolean {
    return this.maxBytes >= 0 && this.usedBytes > this.maxBytes;
  }

  /** Adds (or with a negative count, frees) bytes; freeing below the limit wakes the waiters. */
  adjust(bytes: number): void {
    this.usedBytes += bytes;
    if (this.usedBytes > this.peakBytes) this.peakBytes = this.usedBytes;
    if (bytes < 0 && this.waiting.size > 0 && !this.exhausted) {
      const waiters = [...this.waiting];
      this.waiting.clear();
      // Not from inside the caller: it is a connection in the middle of writing its responses.
      queueMicrotask(() => {
        for (const wake of waiters) wake();
      });
    }
  }

  /** Calls `wake` once, the next time memory is freed below the limit. */
  onFreed(wake: () => void): void {
    this.waiting.add(wake);
  }

  /** Forgets a waiter (its connection closed). */
  forget(wake: () => void): void {
    this.waiting.delete(wake);
  }
}
