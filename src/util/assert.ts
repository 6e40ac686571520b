// Invariants: conditions the code itself guarantees. A failed one is a bug in Brook, never an
// operating condition (a full disk, a bad request), so it is raised as its own error type and
// is never caught and reported as something else: it stops the process with its message.

import { BrookError } from './errors.js';

/**
 * A broken invariant (code BROOK_INVARIANT). Code that handles operating errors must let it
 * through, even where it handles BrookError.
 */
export class InvariantError extends BrookError {
  declare readonly code: 'BROOK_INVARIANT';

  constructor(message: string) {
    super('BROOK_INVARIANT', `invariant violated: ${message}`);
    this.name = 'InvariantError';
  }
}

/** Throws InvariantError with `message` (what went wrong, with the values) unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/**
 * For catch blocks that handle operating errors and go on (background passes, timers): a broken
 * invariant is not one of them, so it is rethrown on its own, where nothing catches it and it
 * stops the process.
 */
export function rethrowIfInvariant(error: unknown): void {
  if (error instanceof InvariantError) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
