// `brook produce` and `brook consume`: records in and out of a topic for a quick test, like
// Kafka's console producer and consumer, over the Kafka protocol (src/client/admin-client.ts).
// produce sends all its records as ONE record batch (src/record's builder) to one partition, with
// acks=all; consume reads whole batches with Fetch from each partition's leader and prints each
// record, until --max-messages or the end of the log as it was when consume began. Neither ever
// creates a topic. Arguments are parsed in admin-arguments.ts.

import { type AdminClient, KafkaResponseError, OffsetTimestamp } from '../client/admin-client.js';
import { partitionForKey } from '../client/partitioner.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  LOG_OVERHEAD_BYTES,
  batchSizeBytes,
  buildBatch,
  decodeBatch,
  type DecodedRecord,
} from '../record/index.js';
import {
  AdminCommandError,
  AdminCommandErrorCode,
  type CommonArguments,
  type ConsumeArguments,
  type ProduceArguments,
  parseConsumeArguments,
  parseProduceArguments,
} from './admin-arguments.js';
import {
  type AdminCommand,
  type AdminCommandOutput,
  defaultAdminOutput,
  runAdminCommand,
  table,
  toJson,
} from './admin-command.js';

const commonUsage = `  --bootstrap-server HOST:PORT   the broker to ask (default 127.0.0.1:9092)
  --output table|json            a readable table (default) or JSON
  --timeout-ms MS                the whole command ends within this, or fails (default 30000)
  --command-config FILE          Kafka client properties for a secured listener (security.protocol,
                                 sasl.mechanism, sasl.username, sasl.password, ssl.ca.location)
Unknown options are errors (exit 2); a Kafka or connection error, such as an unknown topic, exits 1.`;

export const produceUsage = `usage: brook produce --topic T [options]
  --value V ...          a record's value (repeat for more records); without --value, each line
                         of standard input is one record
  --key K                every record's key
  --header K=V ...       every record's headers
  --partition N          the partition (default: the key's hash as Kafka's clients compute it,
                         or partition 0 without a key)
All the records go in one record batch, written with acks=all.
${commonUsage}`;

export const consumeUsage = `usage: brook consume --topic T [options]
  --partition N          one partition (default: every partition)
  --from-beginning       start at each partition's log start offset (the default)
  --offset N             start at offset N (needs --partition)
  --from-time TIME       start at the first record at or after TIME (epoch ms or
                         YYYY-MM-DDTHH:mm:SS[.sss][Z|+HH:MM])
  --max-messages N       stop after N records (default: at the end of the log as it was at the start)
  --follow               keep reading records as they arrive, from every partition at once, until
                         --max-messages or Ctrl-C (--timeout-ms then bounds each request)
  --group G              start where group G committed (where it has no offset: as the options
                         above say) and commit each record printed; consume does not join the
                         group, so G must have no members
--output json prints one JSON object per record and line (key, value and headers as UTF-8 text).
${commonUsage}`;

type Run<Arguments> = Arguments & CommonArguments;

/** Lines of standard input, for produce without --value. */
async function* standardInputLines(): AsyncIterable<string> {
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) yield line;
}

/** The topic's metadata; UNKNOWN_TOPIC_OR_PARTITION when the broker has no such topic. */
async function existingTopic(client: AdminClient, name: string, note = '') {
  const topic = (await client.metadata([name])).topics.get(name);
  if (topic === undefined) {
    throw new KafkaResponseError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `topic ${name}${note}`,
      null,
    );
  }
  return topic;
}

async function produce(
  client: AdminClient,
  request: Run<Extract<ProduceArguments, { command: 'produce' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  const topic = await existingTopic(client, request.topic, ' (brook produce never creates topics)');
  const key = request.key === null ? null : Buffer.from(request.key, 'utf8');
  const partition =
    request.partition ?? (key === null ? 0 : partitionForKey(key, topic.partitions.length));
  const values: string[] = [];
  if (request.values !== null) {
    values.push(...request.values);
  } else {
    for await (const line of (output.input ?? standardInputLines)()) values.push(line);
  }
  if (values.length === 0) {
    throw new AdminCommandError(
      AdminCommandErrorCode.USAGE,
      'no records: give --value or lines on standard input',
    );
  }
  const headers = request.headers.map((header) => ({
    key: header.key,
    value: Buffer.from(header.value, 'utf8'),
  }));
  const batch = await buildBatch({
    records: values.map((value) => ({ key, value: Buffer.from(value, 'utf8'), headers })),
  });
  const baseOffset = await client.produce(request.topic, partition, batch, request.timeoutMs);
  if (request.output === 'json') {
    output.out(toJson({ topic: request.topic, partition, baseOffset, records: values.length }));
    return;
  }
  output.out(
    `Produced ${values.length} record${values.length === 1 ? '' : 's'} to ${request.topic}-${partition} at offset ${baseOffset}.`,
  );
}

interface PrintedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string | null>;
}

function printable(partition: number, record: DecodedRecord): PrintedRecord {
  return {
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : record.key.toString('utf8'),
    value: record.value === null ? null : record.value.toString('utf8'),
    headers: Object.fromEntries(
      record.headers.map((header) => [header.key, header.value?.toString('utf8') ?? null]),
    ),
  };
}

/** A Fetch's bytes per partition; doubled while one batch does not fit, up to the limit. */
const fetchBytesInitial = 1024 * 1024;
const fetchBytesMax = 64 * 1024 * 1024;
const fetchWaitMs = 500;

/** How many records the whole consume may still print; shared by the partitions read at once. */
interface RecordBudget {
  remaining: number;
}

/**
 * Reads one partition from `start` to `end` (exclusive; null when following: no end) or until
 * the budget is spent, handing each record to `emit`.
 */
async function consumePartition(
  client: AdminClient,
  topic: string,
  partition: number,
  start: bigint,
  end: bigint | null,
  budget: RecordBudget,
  emit: (record: PrintedRecord) => void,
  progress: ((text: string) => void) | undefined,
  /** Called after each Fetch that printed records, with the offset after the last one printed. */
  consumed?: (partition: number, nextOffset: bigint) => Promise<void>,
): Promise<void> {
  let offset = start;
  let emitted = 0;
  let fetchBytes = fetchBytesInitial;
  while ((end === null || offset < end) && budget.remaining > 0) {
    const result = await client.fetch(topic, partition, offset, fetchWaitMs, fetchBytes);
    const records = result.records ?? Buffer.alloc(0);
    let position = 0;
    let progressed = false;
    let printedUpTo: bigint | null = null;
    while (position + LOG_OVERHEAD_BYTES <= records.length && budget.remaining > 0) {
      const size = batchSizeBytes(records, position);
      if (position + size > records.length) break;
      const batch = await decodeBatch(records.subarray(position, position + size));
      position += size;
      const next = BigInt(batch.baseOffset + batch.lastOffsetDelta + 1);
      if (next > offset) progressed = true;
      if (!batch.isControl) {
        for (const record of batch.records) {
          if (BigInt(record.offset) < offset) continue;
          if (end !== null && BigInt(record.offset) >= end) continue;
          emit(printable(partition, record));
          printedUpTo = BigInt(record.offset) + 1n;
          emitted++;
          budget.remaining--;
          if (budget.remaining === 0) break;
        }
      }
      if (next > offset) offset = next;
    }
    if (printedUpTo !== null) await consumed?.(partition, printedUpTo);
    if (end !== null)
      progress?.(`${topic}-${partition}: offset ${offset} of ${end}, ${emitted} records`);
    if (!progressed) {
      // At the end: done, or, following, the next Fetch waits (fetchWaitMs) for new records.
      if (records.length === 0 && result.highWatermark <= offset) {
        if (end === null) continue;
        break;
      }
      if (fetchBytes >= fetchBytesMax) {
        throw new AdminCommandError(
          AdminCommandErrorCode.KAFKA_ERROR,
          `${topic}-${partition} at offset ${offset}: a batch larger than ${fetchBytesMax} bytes`,
        );
      }
      fetchBytes *= 2;
    }
  }
}

async function consume(
  client: AdminClient,
  request: Run<Extract<ConsumeArguments, { command: 'consume' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  const topic = await existingTopic(client, request.topic);
  const partitions =
    request.partition === null
      ? topic.partitions.map((entry) => entry.partition)
      : [request.partition];
  if (
    request.partition !== null &&
    !topic.partitions.some((entry) => entry.partition === request.partition)
  ) {
    throw new KafkaResponseError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `partition ${request.topic}-${request.partition}`,
      `the topic has ${topic.partitions.length} partitions`,
    );
  }
  const rows: PrintedRecord[] = [];
  const emit = (record: PrintedRecord): void => {
    // JSON goes out record by record, so a large consume prints as it reads; following, so does
    // the table, one unaligned row per record.
    if (request.output === 'json') output.out(toJson(record));
    else if (request.follow) output.out(tableRow(record).join('  '));
    else rows.push(record);
  };
  const budget: RecordBudget = { remaining: request.maxMessages ?? Number.POSITIVE_INFINITY };
  const starts: Array<{ partition: number; start: bigint; end: bigint }> = [];
  const committed =
    request.group === null
      ? new Map<number, bigint>()
      : await client.committedOffsets(request.group, request.topic);
  for (const partition of partitions) {
    const query = { topic: request.topic, partition };
    const logStartOffset = await client.listOffset({
      ...query,
      timestamp: OffsetTimestamp.EARLIEST,
    });
    const end = await client.listOffset({ ...query, timestamp: OffsetTimestamp.LATEST });
    let start = logStartOffset;
    if (request.start.kind === 'offset') start = request.start.offset;
    if (request.start.kind === 'time') {
      const found = await client.listOffset({
        ...query,
        timestamp: BigInt(Math.trunc(request.start.timestampMs)),
      });
      start = found < 0n ? end : found;
    }
    // A group's committed offset wins over the default start; --offset and --from-time win over it.
    const groupOffset = committed.get(partition);
    if (groupOffset !== undefined && request.start.kind === 'beginning') start = groupOffset;
    if (start < logStartOffset) start = logStartOffset;
    starts.push({ partition, start, end });
  }
  const group = request.group;
  const commit =
    group === null
      ? undefined
      : (partition: number, nextOffset: bigint) =>
          client.commitOffsets(group, request.topic, new Map([[partition, nextOffset]]));
  if (request.follow) {
    // Every partition at once, each long-polling for new records, until the budget is spent
    // (--max-messages) or the process is stopped.
    if (request.output !== 'json') output.out(TABLE_HEADINGS.join('  '));
    await Promise.all(
      starts.map(({ partition, start }) =>
        consumePartition(
          client,
          request.topic,
          partition,
          start,
          null,
          budget,
          emit,
          undefined,
          commit,
        ),
      ),
    );
    return;
  }
  for (const { partition, start, end } of starts) {
    if (budget.remaining <= 0) break;
    await consumePartition(
      client,
      request.topic,
      partition,
      start,
      end,
      budget,
      emit,
      output.progress,
      commit,
    );
  }
  output.progress?.('');
  if (request.output === 'json') return;
  output.out(table([TABLE_HEADINGS, ...rows.map(tableRow)]));
}

const TABLE_HEADINGS = ['PARTITION', 'OFFSET', 'TIMESTAMP', 'KEY', 'HEADERS', 'VALUE'];

function tableRow(row: PrintedRecord): string[] {
  return [
    String(row.partition),
    String(row.offset),
    new Date(row.timestamp).toISOString(),
    row.key ?? '(null)',
    Object.entries(row.headers)
      .map(([key, value]) => `${key}=${value ?? '(null)'}`)
      .join(','),
    row.value ?? '(null)',
  ];
}

export const produceCommand: AdminCommand<Exclude<ProduceArguments, { command: 'help' }>> = {
  name: 'produce',
  usage: produceUsage,
  parse: parseProduceArguments,
  run: produce,
};

export const consumeCommand: AdminCommand<Exclude<ConsumeArguments, { command: 'help' }>> = {
  name: 'consume',
  usage: consumeUsage,
  parse: parseConsumeArguments,
  runsUntilStopped: (request) => request.follow,
  run: consume,
};

/** Runs `brook produce ...` (argv without "produce"); resolves with the exit code. */
export function runProduceCommand(
  argv: readonly string[],
  output: AdminCommandOutput = defaultAdminOutput,
): Promise<number> {
  return runAdminCommand(produceCommand, argv, output);
}

/** Runs `brook consume ...` (argv without "consume"); resolves with the exit code. */
export function runConsumeCommand(
  argv: readonly string[],
  output: AdminCommandOutput = defaultAdminOutput,
): Promise<number> {
  return runAdminCommand(consumeCommand, argv, output);
}
