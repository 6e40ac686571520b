// Every topic-level config Kafka has, with the broker setting(s) that supply its default. A topic
// stores only its overrides; everything else is read through from the broker, so changing
// log.retention.hours in server.properties changes every topic that did not override retention.ms.

import { type ConfigDefinition, type ConfigValue, LONG_MAX_VALUE } from './definitions.js';
import { DEFAULT_DECOMPRESSION_RATIO_MAX } from '../record/decompression-stream.js';

export interface TopicConfigDefinition extends ConfigDefinition {
  /**
   * Broker settings that supply the default, most specific first (Kafka's "synonyms"); the first
   * one that is set decides, converted by `fromBroker` when units differ. Empty for the few topic
   * configs that have no broker-wide default.
   */
  readonly brokerSynonyms: readonly string[];
  /** Converts the deciding synonym's value into this config's unit (hours to ms, ...). */
  readonly fromBroker?: (synonym: string, value: ConfigValue) => ConfigValue;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** log.retention.{minutes,hours} -1 means "forever" in any unit, so it must not be multiplied. */
function durationToMs(synonym: string, value: ConfigValue): ConfigValue {
  if (typeof value !== 'number' || value < 0) return value;
  if (synonym.endsWith('.hours')) return value * HOUR_MS;
  if (synonym.endsWith('.minutes')) return value * MINUTE_MS;
  return value;
}

/** log.flush.interval.ms unset means time never forces a flush, which Kafka shows as Long.MAX_VALUE. */
function flushMsFromBroker(_synonym: string, value: ConfigValue): ConfigValue {
  return value ?? LONG_MAX_VALUE;
}

function atLeastOnePolicy(value: ConfigValue): void {
  if ((value as readonly string[]).length === 0) throw new Error('name delete, compact, or both');
}

const definitions: TopicConfigDefinition[] = [
  {
    name: 'cleanup.policy',
    type: 'list',
    defaultValue: ['delete'],
    validValues: ['delete', 'compact'],
    validate: atLeastOnePolicy,
    brokerSynonyms: ['log.cleanup.policy'],
    documentation: 'delete (by retention), compact (keep the latest record per key), or both.',
    dynamic: true,
  },
  {
    name: 'compression.type',
    type: 'string',
    defaultValue: 'producer',
    validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
    brokerSynonyms: ['compression.type'],
    documentation: "The codec batches are stored with; 'producer' keeps the producer's.",
    dynamic: true,
  },
  {
    name: 'compression.gzip.level',
    type: 'int',
    defaultValue: -1,
    minimum: -1,
    maximum: 9,
    brokerSynonyms: ['compression.gzip.level'],
    documentation: 'The gzip level used when the broker recompresses.',
    dynamic: true,
  },
  {
    name: 'compression.lz4.level',
    type: 'int',
    defaultValue: 9,
    minimum: 1,
    maximum: 17,
    brokerSynonyms: ['compression.lz4.level'],
    documentation: 'The lz4 level used when the broker recompresses.',
    dynamic: true,
  },
  {
    name: 'compression.zstd.level',
    type: 'int',
    defaultValue: 3,
    minimum: -131072,
    maximum: 22,
    brokerSynonyms: ['compression.zstd.level'],
    documentation: 'The zstd level used when the broker recompresses.',
    dynamic: true,
  },
  {
    name: 'delete.retention.ms',
    type: 'long',
    defaultValue: 86400000,
    minimum: 0,
    brokerSynonyms: ['log.cleaner.delete.retention.ms'],
    documentation: 'How long tombstones are kept in a compacted topic.',
    dynamic: true,
  },
  {
    name: 'file.delete.delay.ms',
    type: 'long',
    defaultValue: 60000,
    minimum: 0,
    brokerSynonyms: ['log.segment.delete.delay.ms'],
    documentation: 'How long a deleted segment file lingers before it is removed.',
    dynamic: true,
  },
  {
    name: 'flush.messages',
    type: 'long',
    defaultValue: 1,
    minimum: 1,
    brokerSynonyms: ['log.flush.interval.messages'],
    documentation:
      'Flush after this many records; 1 (Brook default) = fsync before every acknowledgement.',
    dynamic: true,
  },
  {
    name: 'flush.ms',
    type: 'long',
    defaultValue: LONG_MAX_VALUE,
    minimum: 0,
    brokerSynonyms: ['log.flush.interval.ms'],
    fromBroker: flushMsFromBroker,
    documentation: 'Flush data older than this.',
    dynamic: true,
  },
  {
    name: 'follower.replication.throttled.replicas',
    type: 'list',
    defaultValue: [],
    brokerSynonyms: [],
    documentation: 'Replicas throttled on the follower side (stored and described).',
    dynamic: true,
  },
  {
    name: 'leader.replication.throttled.replicas',
    type: 'list',
    defaultValue: [],
    brokerSynonyms: [],
    documentation: 'Replicas throttled on the leader side (stored and described).',
    dynamic: true,
  },
  {
    name: 'index.interval.bytes',
    type: 'int',
    defaultValue: 4096,
    minimum: 0,
    brokerSynonyms: ['log.index.interval.bytes'],
    documentation: 'Bytes between offset index entries.',
    dynamic: true,
  },
  {
    name: 'local.retention.bytes',
    type: 'long',
    defaultValue: -2,
    minimum: -2,
    brokerSynonyms: ['log.local.retention.bytes'],
    documentation: 'Tiered storage local retention (stored and described).',
    dynamic: true,
  },
  {
    name: 'local.retention.ms',
    type: 'long',
    defaultValue: -2,
    minimum: -2,
    brokerSynonyms: ['log.local.retention.ms'],
    documentation: 'Tiered storage local retention (stored and described).',
    dynamic: true,
  },
  {
    name: 'max.compaction.lag.ms',
    type: 'long',
    defaultValue: LONG_MAX_VALUE,
    minimum: 1,
    brokerSynonyms: ['log.cleaner.max.compaction.lag.ms'],
    documentation: 'The most time a record may stay uncompacted.',
    dynamic: true,
  },
  {
    name: 'max.message.bytes',
    type: 'int',
    defaultValue: 1048588,
    minimum: 0,
    brokerSynonyms: ['message.max.bytes'],
    documentation: 'The largest record batch the topic accepts.',
    dynamic: true,
  },
  {
    name: 'max.decompression.ratio',
    type: 'int',
    defaultValue: DEFAULT_DECOMPRESSION_RATIO_MAX,
    minimum: 1,
    brokerSynonyms: ['log.max.decompression.ratio'],
    documentation:
      "Brook's own: the records of a compressed batch may decompress to at most this many times max.message.bytes; a larger batch is refused with INVALID_RECORD.",
    dynamic: true,
  },
  {
    name: 'message.timestamp.type',
    type: 'string',
    defaultValue: 'CreateTime',
    validValues: ['CreateTime', 'LogAppendTime'],
    brokerSynonyms: ['log.message.timestamp.type'],
    documentation:
      "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's clock.",
    dynamic: true,
  },
  {
    name: 'message.timestamp.before.max.ms',
    type: 'long',
    defaultValue: LONG_MAX_VALUE,
    minimum: 0,
    brokerSynonyms: ['log.message.timestamp.before.max.ms'],
    documentation: 'Refuse a CreateTime batch whose timestamp is further than this in the past.',
    dynamic: true,
  },
  {
    name: 'message.timestamp.after.max.ms',
    type: 'long',
    defaultValue: 3600000,
    minimum: 0,
    brokerSynonyms: ['log.message.timestamp.after.max.ms'],
    documentation: 'Refuse a CreateTime batch whose timestamp is further than this in the future.',
    dynamic: true,
  },
  {
    name: 'min.cleanable.dirty.ratio',
    type: 'double',
    defaultValue: 0.5,
    minimum: 0,
    maximum: 1,
    brokerSynonyms: ['log.cleaner.min.cleanable.ratio'],
    documentation: 'The dirty fraction of the log above which it is compacted.',
    dynamic: true,
  },
  {
    name: 'min.compaction.lag.ms',
    type: 'long',
    defaultValue: 0,
    minimum: 0,
    brokerSynonyms: ['log.cleaner.min.compaction.lag.ms'],
    documentation: 'The least time a record stays uncompacted.',
    dynamic: true,
  },
  {
    name: 'min.insync.replicas',
    type: 'int',
    defaultValue: 1,
    minimum: 1,
    brokerSynonyms: ['min.insync.replicas'],
    documentation: 'Replicas that must acknowledge an acks=all produce.',
    dynamic: true,
  },
  {
    name: 'preallocate',
    type: 'boolean',
    defaultValue: false,
    brokerSynonyms: ['log.preallocate'],
    documentation: 'Preallocate segment files (stored and described).',
    dynamic: true,
  },
  {
    name: 'remote.storage.enable',
    type: 'boolean',
    defaultValue: false,
    brokerSynonyms: [],
    documentation: 'Tiered storage (stored and described; Brook has no tiered storage).',
    dynamic: true,
  },
  {
    name: 'remote.log.copy.disable',
    type: 'boolean',
    defaultValue: false,
    brokerSynonyms: [],
    documentation: 'Tiered storage (stored and described).',
    dynamic: true,
  },
  {
    name: 'remote.log.delete.on.disable',
    type: 'boolean',
    defaultValue: false,
    brokerSynonyms: [],
    documentation: 'Tiered storage (stored and described).',
    dynamic: true,
  },
  {
    name: 'retention.bytes',
    type: 'long',
    defaultValue: -1,
    minimum: -1,
    brokerSynonyms: ['log.retention.bytes'],
    documentation: 'Delete the oldest segments of a partition above this size; -1 = no size limit.',
    dynamic: true,
  },
  {
    name: 'retention.ms',
    type: 'long',
    defaultValue: 604800000,
    minimum: -1,
    brokerSynonyms: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
    fromBroker: durationToMs,
    documentation: 'Delete segments older than this; -1 keeps them forever.',
    dynamic: true,
  },
  {
    name: 'retention.timestamp.type',
    type: 'string',
    defaultValue: 'append',
    validValues: ['append', 'record'],
    brokerSynonyms: ['log.retention.timestamp.type'],
    documentation:
      "Brook's own: retention.ms counts from the broker's append (append) or from the record timestamp (record, as Kafka).",
    dynamic: true,
  },
  {
    name: 'segment.bytes',
    type: 'int',
    defaultValue: 1073741824,
    minimum: 14,
    brokerSynonyms: ['log.segment.bytes'],
    documentation: 'The size at which a segment file is rolled.',
    dynamic: true,
  },
  {
    name: 'segment.index.bytes',
    type: 'int',
    defaultValue: 10485760,
    minimum: 4,
    brokerSynonyms: ['log.index.size.max.bytes'],
    documentation: 'The largest offset or time index file of one segment.',
    dynamic: true,
  },
  {
    name: 'segment.jitter.ms',
    type: 'long',
    defaultValue: 0,
    minimum: 0,
    brokerSynonyms: ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
    fromBroker: durationToMs,
    documentation: 'The largest random jitter subtracted from the roll time.',
    dynamic: true,
  },
  {
    name: 'segment.ms',
    type: 'long',
    defaultValue: 604800000,
    minimum: 1,
    brokerSynonyms: ['log.roll.ms', 'log.roll.hours'],
    fromBroker: durationToMs,
    documentation: 'Roll a segment this long after its first record.',
    dynamic: true,
  },
  {
    name: 'unclean.leader.election.enable',
    type: 'boolean',
    defaultValue: false,
    brokerSynonyms: ['unclean.leader.election.enable'],
    documentation:
      'Allow a replica outside the ISR to become leader, at the cost of losing records.',
    dynamic: true,
  },
];

export const topicConfigDefinitions: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  definitions.map((definition) => [definition.name, definition]),
);
