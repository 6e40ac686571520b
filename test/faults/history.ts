// A history of one fault run: every send and acknowledgement of every producer, every record every
// consumer read, every transaction's outcome. Clients append to it as things happen; the checker
// (checker.ts) judges it afterwards. Record values are the record ids, unique over the whole run,
// so a read can be matched with the send that wrote it.
//
// The history is plain data (JSON lines when saved), so a failing run's history can be kept and a
// hand-made one can be fed to the checker in its unit tests.

import { writeFileSync } from 'node:fs';

/** A record's place in the log. */
export interface Position {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** An acknowledgement's offset when the client was not told it. */
export const UNKNOWN_OFFSET = -1;

export type HistoryEvent =
  /** A producer handed a record to its client. `sequence` orders one producer's sends. */
  | {
      readonly type: 'send';
      readonly producer: string;
      readonly id: string;
      readonly topic: string;
      readonly partition: number;
      readonly sequence: number;
      /** For a transform's output: the input record it was made from. */
      readonly source?: string;
      readonly transaction?: string;
    }
  /**
   * The broker acknowledged the record at this position; at offset UNKNOWN_OFFSET when the client
   * knows it was written but not where (librdkafka acknowledges a batch whose answer was lost
   * once a later batch of the same producer succeeds, KIP-98's sequence rule).
   */
  | ({ readonly type: 'ack'; readonly producer: string; readonly id: string } & Position)
  /** The client gave up on the record: it may or may not have been written. */
  | {
      readonly type: 'fail';
      readonly producer: string;
      readonly id: string;
      readonly error: string;
    }
  /** A consumer read the record at this position. */
  | ({
      readonly type: 'read';
      readonly consumer: string;
      readonly id: string;
      readonly isolation: Isolation;
    } & Position)
  /**
   * A consumer read `topic` from its start to `endOffsets` (partition -> offset) with nothing
   * left out: only such a consumer's reads can prove a record lost.
   */
  | {
      readonly type: 'read-complete';
      readonly consumer: string;
      readonly topic: string;
      readonly isolation: Isolation;
      readonly endOffsets: Readonly<Record<number, number>>;
    }
  /** A transaction ended: `commit` and `abort` are acknowledged outcomes, `unknown` is not. */
  | {
      readonly type: 'transaction';
      readonly producer: string;
      readonly transaction: string;
      readonly outcome: 'commit' | 'abort' | 'unknown';
    }
  /** A fault the scenario injected, for reading a failed history. */
  | { readonly type: 'fault'; readonly description: string }
  /** Something a client reported of itself (a group join and its assignment, a crash). */
  | { readonly type: 'client'; readonly client: string; readonly description: string };

export type Isolation = 'read_committed' | 'read_uncommitted';

type Timed = HistoryEvent & { readonly atMs: number };

export class History {
  readonly events: Timed[] = [];
  private readonly startMs = Date.now();
  private readonly sequences = new Map<string, number>();

  record(event: HistoryEvent): void {
    this.events.push({ ...event, atMs: Date.now() - this.startMs });
  }

  /** The next send sequence number of a producer (its sends in the order it issued them). */
  nextSequence(producer: string): number {
    const sequence = this.sequences.get(producer) ?? 0;
    this.sequences.set(producer, sequence + 1);
    return sequence;
  }

  count(type: HistoryEvent['type']): number {
    return this.events.filter((event) => event.type === type).length;
  }

  /** Writes the history as JSON lines, for a failed run to be read or replayed into the checker. */
  save(path: string): void {
    writeFileSync(path, this.events.map((event) => JSON.stringify(event)).join('\n') + '\n');
  }
}
