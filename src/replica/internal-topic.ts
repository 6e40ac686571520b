// A compacted internal topic (`__consumer_offsets`, `__transaction_state`) as a coordinator sees
// it: append a batch to a partition and wait until it is durable, read a partition back whole.
//
// Partitions are opened one at a time, on first use, not all at start-up. A broker with
// `offsets.topic.num.partitions` 50 used to create fifty logs in the background on every start
// and close them on every stop (hundreds of fsyncs and renames), which made an embedded broker's
// first produce wait and its stop() take half a second. Now a partition's directory appears when
// a group or transactional id that hashes to it first writes, and a start opens only the
// partitions that exist on disk (the log manager found them already).
//
// The topic itself (its name, partition count and configs) is registered in the metadata store
// once, at start-up: the partition count is fixed from then on (groups hash to partitions), the
// log manager reads the compact configs from it when it reopens a partition, and no client can
// create a data topic of the same name. The replica manager does not open internal topics; this
// module owns their partitions and closes them on stop.
//
// Ordering: the storage contract (coordinator ports) wants offsets assigned in call order. An
// append to an open partition appends synchronously; appends to a partition being opened wait on
// the same promise, whose continuations run in the order the appends were called.

import type { MetadataStore, TopicMetadata } from '../metadata/metadata-store.js';
import { BATCH_HEADER_BYTES, batchLastOffset, batchSizeBytes } from '../record/batch.js';
import type { LogConfig } from '../storage/log-config.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { Partition } from './partition.js';
import { assert } from '../util/assert.js';

export interface InternalTopicStorage {
  readonly name: string;
  readonly partitionCount: number;
  /**
   * Appends one batch; resolves once it may be acknowledged (durable, by default). With
   * `deferFlush`, once written: the partition's next fsync makes it durable (PartitionLog).
   * Opens (creates) the partition first if this is its first use.
   */
  append(partition: number, batch: Buffer, options?: { deferFlush?: boolean }): Promise<void>;
  /**
   * Every batch from the log start to the log end, in offset order, after a flush. A partition
   * that was never written has no log and yields nothing; reading never creates one.
   */
  readAll(partition: number): AsyncIterable<Buffer>;
  /** The partitions opened so far (for tools and tests in the same process). */
  openPartitions(): readonly Partition[];
  /** The topic's entry in the metadata store (name, id, partition count, configs). */
  metadata(): TopicMetadata;
  /**
   * Every partition, opened (and created) where it was not yet: for a client that reads the
   * topic itself, as Burrow reads `__consumer_offsets`.
   */
  openAll(): Promise<Partition[]>;
  /** Re-applies the topic's effective log config, after a broker default changed. */
  reconfigure(): void;
  /** Snapshots producer state of the opened partitions; the log manager closes their logs. */
  close(): Promise<void>;
}

/** What an internal topic needs from the broker: its metadata entry and the logs on disk. */
export interface InternalTopicPorts {
  readonly metadata: MetadataStore;
  /** The partition's log if it exists (the log manager opened every directory at start-up). */
  existingLog(topic: string, partition: number): PartitionLog | undefined;
  /** Opens the partition's log, creating its directory if it does not exist. */
  createLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog>;
  /** The effective log config of a topic: broker defaults under the topic's overrides. */
  logConfig(topic: TopicMetadata): LogConfig;
}

const readChunkBytes = 1024 * 1024;

/**
 * Registers the topic in the metadata store if it is not there yet (with `partitionCount`),
 * else keeps the partition count it was registered with. Opens no log.
 */
export async function openInternalTopic(
  ports: InternalTopicPorts,
  settings: { name: string; partitionCount: number; segmentBytes: number },
): Promise<InternalTopicStorage> {
  const { name } = settings;
  let topic = ports.metadata.topic(name);
  if (topic === undefined) {
    topic = await ports.metadata.createTopic({
      name,
      partitionCount: settings.partitionCount,
      internal: true,
      configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(settings.segmentBytes) },
    });
  } else if (!topic.internal) {
    throw new Error(
      `a data topic named ${name} exists in the metadata store; the broker needs that name for its internal topic`,
    );
  }
  const { partitionCount } = topic;
  const currentMetadata = (): TopicMetadata => ports.metadata.topic(name) ?? topic;

  const partitions = new Map<number, Partition>();
  const opening = new Map<number, Promise<Partition>>();

  const checkIndex = (partition: number): void => {
    assert(
      Number.isInteger(partition) && partition >= 0 && partition < partitionCount,
      `${name} has no partition ${partition} (of ${partitionCount})`,
    );
  };

  const adopt = async (index: number, log: PartitionLog): Promise<Partition> => {
    const partition = new Partition(name, index, log);
    await partition.ready;
    partitions.set(index, partition);
    return partition;
  };

  /** The open partition, or opens it; `create` false opens only a log that already exists. */
  const open = (index: number, create: boolean): Promise<Partition | undefined> => {
    const pending = opening.get(index);
    if (pending !== undefined) return pending;
    const existing = ports.existingLog(name, index);
    if (existing === undefined && !create) return Promise.resolve(undefined);
    const opened = (
      existing !== undefined
        ? adopt(index, existing)
        : ports
            .createLog(name, index, ports.logConfig(currentMetadata()))
            .then((log) => adopt(index, log))
    ).finally(() => opening.delete(index));
    opening.set(index, opened);
    return opened;
  };

  return {
    name,
    partitionCount,
    append(index, batch, options) {
      checkIndex(index);
      const target = partitions.get(index);
      if (target !== undefined) return target.append(batch, 'coordinator', options).acknowledged;
      return open(index, true).then((opened) => {
        assert(opened !== undefined, `${name}-${index} was not created`);
        return opened.append(batch, 'coordinator', options).acknowledged;
      });
    },
    async *readAll(index) {
      checkIndex(index);
      const source = partitions.get(index) ?? (await open(index, false));
      if (source === undefined) return;
      yield* readWhole(source);
    },
    openPartitions() {
      return [...partitions.values()].sort((a, b) => a.partitionIndex - b.partitionIndex);
    },
    metadata: currentMetadata,
    async openAll() {
      const opened: Partition[] = [];
      for (let index = 0; index < partitionCount; index += 1) {
        const partition = partitions.get(index) ?? (await open(index, true));
        assert(partition !== undefined, `${name}-${index} was not created`);
        opened.push(partition);
      }
      return opened;
    },
    reconfigure() {
      const config = ports.logConfig(currentMetadata());
      for (const partition of partitions.values()) partition.log.updateConfig(config);
    },
    async close() {
      await Promise.allSettled(opening.values());
      await Promise.all([...partitions.values()].map((partition) => partition.close()));
    },
  };
}

/**
 * Every batch of the partition from its log start to its log end, after a flush; throws for a
 * partition whose log is offline. Everything
 * written is read, acknowledged or not yet: a coordinator loading a partition must see its own
 * latest state, and a new leader's log end is what it will build on.
 */
export async function* readWhole(source: Partition): AsyncIterable<Buffer> {
  // A stand-in for a log whose directory could not be opened (storage/offline-log.ts) looks
  // empty: read as such, a coordinator would load no groups and no offsets.
  if (source.log.offline) throw source.log.error!;
  await source.log.flush();
  let offset = source.logStartOffset;
  const end = source.logEndOffset;
  while (offset < end) {
    const { chunks } = await source.read(offset, readChunkBytes, end, true);
    if (chunks.length === 0) return;
    for (const chunk of chunks) {
      yield chunk;
      offset = nextOffsetAfter(chunk, offset);
    }
  }
}

/** The offset after the last batch in a chunk of whole record batches. */
function nextOffsetAfter(chunk: Buffer, fallback: number): number {
  let next = fallback;
  for (
    let position = 0;
    position + BATCH_HEADER_BYTES <= chunk.length;
    position += batchSizeBytes(chunk, position)
  ) {
    next = batchLastOffset(chunk, position) + 1;
  }
  return next;
}
