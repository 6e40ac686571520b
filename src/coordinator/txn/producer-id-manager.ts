// Producer ids, unique across restarts: ids are handed out from blocks, and the end of the
// current block is made durable (`<log dir>/producer-id-block`, written atomically) before any id
// of the block is used. A crash loses the rest of the block, never reuses an id.
//
// Owned by the TransactionCoordinator. Allocation is serialised on one promise chain: two callers
// never claim the same block across the file write.

import type { FileIo } from '../../storage/file-io.js';

export const PRODUCER_ID_BLOCK_FILE = 'producer-id-block';
const BLOCK_SIZE = 1000;

export class ProducerIdManager {
  private nextProducerId = 0;
  /** Ids below this are claimed durably. */
  private blockEnd = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly io: FileIo,
    private readonly directory: string,
  ) {}

  private get path(): string {
    return `${this.directory}/${PRODUCER_ID_BLOCK_FILE}`;
  }

  generate(): Promise<number> {
    const run = this.chain.then(async () => {
      if (this.nextProducerId >= this.blockEnd) {
        const stored = await this.io.readFile(this.path);
        const durableEnd =
          stored === null ? 0 : Number(JSON.parse(stored.toString('utf8')).blockEnd);
        const start = Math.max(durableEnd, this.blockEnd);
        const end = start + BLOCK_SIZE;
        await this.io.writeFileAtomic(
          this.path,
          Buffer.from(JSON.stringify({ version: 1, blockEnd: end })),
        );
        this.nextProducerId = start;
        this.blockEnd = end;
      }
      const producerId = this.nextProducerId;
      this.nextProducerId += 1;
      return producerId;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
