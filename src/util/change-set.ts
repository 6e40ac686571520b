// Change marks: a reader that keeps figures between two looks (a metrics scrape) re-reads only the
// objects that registered a change since it last looked, so a look at an idle broker costs nothing
// per object. Each object owns one mark; a reader tracks it in the reader's own set, so the object
// never learns who reads it. The first change after a look flips the
// mark's flag and pushes the mark onto the set; later changes see the flag and do nothing, until
// the reader drains the set. On the produce path that is one branch per batch, and a push on the
// first batch of each scrape interval:
//
//   change:  if (!mark.pending) mark.register()   ─► set: [mark, mark, ...]
//   look:    set.drain() ─► the marks, each once; their flags cleared (they may register again)
//
// An untracked mark (no reader yet, or the reader dropped it) stays pending, so a change costs
// the branch and nothing else. A mark has one reader at a time: tracking it in another set moves
// it there. Single-threaded: a change between the drain and the look's read of the object pushes
// the mark again, so it is read again next time (read after draining, never before).

/** Where one reader's tracked marks register when their object changes. */
export class ChangeSet {
  private marks: ChangeMark[] = [];

  /** The marks registered since the last drain, each once; from now on they may register again. */
  drain(): readonly ChangeMark[] {
    const marks = this.marks;
    if (marks.length === 0) return marks;
    this.marks = [];
    for (const mark of marks) mark.pending = false;
    return marks;
  }

  /** For ChangeMark.register only. */
  push(mark: ChangeMark): void {
    this.marks.push(mark);
  }
}

/** One object's mark: registers in its reader's set on the first change after a drain. */
export class ChangeMark {
  /**
   * True from a registration until the reader's drain, and while no reader tracks the mark:
   * a change is then one test of this flag.
   */
  pending = true;
  /** The reader's own bookkeeping: where it last met the object, and in which of its walks. */
  place = -1;
  walk = -1;
  private set: ChangeSet | null = null;

  /** The object's figures moved (on a hot path, test `pending` first and call `register`). */
  changed(): void {
    if (!this.pending) this.register();
  }

  /** Registers in the reader's set; only while not `pending`. */
  register(): void {
    this.pending = true;
    this.set!.push(this);
  }

  /**
   * The reader tracks this mark in `set` from now on. A mark new to the set starts clear (the
   * reader reads its object now); one already there keeps its flag (and its place in the set).
   */
  track(set: ChangeSet): void {
    if (this.set === set) return;
    this.set = set;
    this.pending = false;
  }

  /** The reader forgets the object (it went): changes cost the flag's test again, and no push. */
  untrack(): void {
    this.set = null;
    this.pending = true;
  }
}
