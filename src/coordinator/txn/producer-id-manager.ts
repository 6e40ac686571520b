// Producer ids, unique across restarts and, in cluster mode, across brokers: ids are handed out
// from blocks, and a block is claimed durably before any of its ids is used. A crash loses the
// rest of the block, never reuses an id. Who claims a block is a port:
//   - one broker: `<log dir>/producer-id-block` holds the end of the last claimed block, written
//     atomically (fileProducerIdBlocks below);
//   - a cluster: etcd holds it, claimed with a compare-and-swap (src/cluster), so two brokers
//     never hand out the same id (Kafka's AllocateProducerIds through the controller).
//
// Owned by the TransactionCoordinator. Allocation is serialised on one promise chain: two callers
// never claim the same block across the write.

import type { FileIo } from '../../storage/file-io.js';

export const PRODUCER_ID_BLOCK_FILE = 'producer-id-block';
export const PRODUCER_ID_BLOCK_SIZE = 1000;

/** Claims `size` ids no one else holds or will hold, durably; answers the first of them. */
export type ClaimProducerIdBlock = (size: number) => Promise<number>;

/** Blocks claimed in a file of the broker's log directory (single-broker mode). */
export function fileProducerIdBlocks(io: FileIo, directory: string): ClaimProducerIdBlock {
  const path = `${directory}/${PRODUCER_ID_BLOCK_FILE}`;
  return async (size) => {
    const stored = await io.readFile(path);
    const start = stored === null ? 0 : Number(JSON.parse(stored.toString('utf8')).blockEnd);
    await io.writeFileAtomic(
      path,
      Buffer.from(JSON.stringify({ version: 1, blockEnd: start + size })),
    );
    return start;
  };
}

export class ProducerIdManager {
  private nextProducerId = 0;
  /** Ids below this (from nextProducerId) are claimed durably. */
  private blockEnd = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly claimBlock: ClaimProducerIdBlock) {}

  generate(): Promise<number> {
    const run = this.chain.then(async () => {
      if (this.nextProducerId >= this.blockEnd) {
        const start = await this.claimBlock(PRODUCER_ID_BLOCK_SIZE);
        this.nextProducerId = start;
        this.blockEnd = start + PRODUCER_ID_BLOCK_SIZE;
      }
      const producerId = this.nextProducerId;
      this.nextProducerId += 1;
      return producerId;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
