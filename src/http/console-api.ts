// The web console's JSON routes (GET /ui/api/..., and POST for changes) on the HTTP door.
//
// Whatever a Kafka client could do goes through the broker's own handlers, called in process with
// a request context naming the console (client id "brook-console", the browser's address): a
// topic created here is validated, placed (in a cluster), logged and counted exactly as one from
// kafka-topics. What only the broker knows (local log sizes, a partition's records, a group's lag)
// is read from its parts directly. Changes answer 403 unless console.writes.enabled is true.
//
// With authorizer.enabled the console acts as the caller the HTTP door authenticated (HTTP Basic,
// else User:ANONYMOUS): the handlers it calls check that principal's ACLs as for any Kafka
// client, and what it reads directly is checked here as the Kafka API that would read it (browse:
// Topic Read; groups: Group Describe; offset reset: Group Read and Topic Read, as OffsetCommit;
// the chart, which sums every topic and group: Cluster Describe). A refusal is 403.
//
// The parts arrive once the broker serves (`attach`); before that every route answers 503, as
// /readyz does.
//
// The chart's samples (messages in per second and the total lag of every group) are taken every
// HISTORY_INTERVAL_MS while the console is in use (a route answered in the last
// HISTORY_WATCHED_MS) and once at the start, not for ever: a sample reads every partition's end
// and every group's lag, which at 10,000 partitions and 1,000 groups is milliseconds of work
// every few seconds that nobody may look at. A sample lets the event loop turn every few
// milliseconds (EventLoopSlices), so produce requests are not held behind it.

import { type GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import type { AnyHandler, HandlerRegistry, RequestContext } from '../handlers/registry.js';
import { CLOSE_CONNECTION, NO_RESPONSE } from '../handlers/registry.js';
import { decodeConsumerAssignment } from '../protocol/consumer-protocol.js';
import { errorName } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { BrookError } from '../util/errors.js';
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../security/acl.js';
import { type HttpAccess, openHttpAccess } from './http-access.js';
import { EventLoopSlices } from '../observability/event-loop-slices.js';
import type { AuditRequests } from '../security/audit-log.js';
import { buildBatch, decodeBatch, decodeBatchHeader } from '../record/records.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import {
  type HttpAnswer,
  type HttpRequestInfo,
  type HttpRoute,
  jsonAnswer,
} from './http-server.js';

export interface ConsoleParts {
  /** The handlers the Kafka listeners serve. */
  readonly registry: HandlerRegistry;
  /** Told of each handler's answer, as the server's dispatch tells it (the audit and operations logs). */
  readonly auditor?: AuditRequests;
  readonly replicas: ReplicaManager;
  readonly groups: GroupCoordinator;
  readonly writesEnabled: boolean;
  /** What the ACLs allow each caller; everyone everything without it. */
  readonly access?: HttpAccess;
}

/** Throws 403 unless the request's caller may perform `operation` on the resource. */
function requirePermission(
  parts: ConsoleParts,
  request: HttpRequestInfo,
  operation: AclOperation,
  resourceType: ResourceType,
  name: string,
): void {
  if (permitted(parts, request, operation, resourceType, name, false)) return;
  const kind =
    resourceType === ResourceType.TOPIC
      ? 'TOPIC'
      : resourceType === ResourceType.GROUP
        ? 'GROUP'
        : 'CLUSTER';
  throw new ConsoleProblem(
    403,
    `${kind}_AUTHORIZATION_FAILED`,
    `${request.principal} is not allowed this on ${kind.toLowerCase()} ${name}`,
  );
}

function permitted(
  parts: ConsoleParts,
  request: HttpRequestInfo,
  operation: AclOperation,
  resourceType: ResourceType,
  name: string,
  quiet = true,
): boolean {
  const caller = { principal: request.principal, remoteAddress: request.remoteAddress };
  return (parts.access ?? openHttpAccess).authorize(caller, operation, resourceType, name, quiet);
}

/** The most records one browse returns, and the bytes it reads at most to find them. */
const BROWSE_RECORDS_MAX = 500;
const BROWSE_BYTES_MAX = 4 * 1024 * 1024;
/** How often the chart's samples are taken, and how many are kept (ten minutes). */
export const HISTORY_INTERVAL_MS = 5_000;
const HISTORY_SAMPLES_MAX = 120;
/** Samples are taken while a console route was answered within this long (ten minutes). */
export const HISTORY_WATCHED_MS = 10 * 60_000;
/** How long a sample runs before letting the event loop turn. */
const HISTORY_SLICE_MS = 2;

interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
}

/** A console request refused: answered as a problem document with this status and title. */
class ConsoleProblem extends BrookError {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
  ) {
    super('BROOK_CONSOLE_REQUEST', detail);
    this.name = 'ConsoleProblem';
  }
}

function problemAnswer(problem: Problem): HttpAnswer {
  return {
    status: problem.status,
    contentType: 'application/problem+json',
    body: `${JSON.stringify({ type: 'about:blank', ...problem })}\n`,
  };
}

function badRequest(detail: string): ConsoleProblem {
  return new ConsoleProblem(400, 'bad request', detail);
}

/** JSON of the console: offsets and ids as numbers or text, never bigint. */
function answer(value: unknown, status = 200): HttpAnswer {
  return jsonAnswer(
    status,
    JSON.parse(
      JSON.stringify(value, (_key, item) =>
        typeof item === 'bigint'
          ? Number(item)
          : Buffer.isBuffer(item)
            ? item.toString('hex')
            : item,
      ),
    ),
  );
}

export interface HistorySample {
  readonly timeMs: number;
  /** Records appended per second since the previous sample, over every non-internal topic. */
  readonly messagesInPerSecond: number;
  /** Consumer lag summed over every group and partition. */
  readonly lag: number;
}

export interface ConsoleApi {
  readonly routes: ReadonlyMap<string, HttpRoute>;
  attach(parts: ConsoleParts): void;
  detach(): void;
}

export function consoleApi(): ConsoleApi {
  let parts: ConsoleParts | null = null;
  let historyTimer: NodeJS.Timeout | null = null;
  const history: HistorySample[] = [];
  let previous: { timeMs: number; endOffsets: number } | null = null;

  /** When a console route last answered (the chart is sampled while the console is in use). */
  let lastUsedMs = Number.NEGATIVE_INFINITY;
  let sampling = false;

  const sample = async (): Promise<void> => {
    if (parts === null || sampling) return;
    sampling = true;
    try {
      await takeSample(parts);
    } catch {
      // A sample that fails (a group unloaded while it read) leaves a gap in the chart.
    } finally {
      sampling = false;
    }
  };

  const takeSample = async (attached: ConsoleParts): Promise<void> => {
    const slices = new EventLoopSlices(HISTORY_SLICE_MS);
    const timeMs = Date.now();
    let endOffsets = 0;
    for (const topic of attached.replicas.topics()) {
      if (topic.metadata.internal) continue;
      for (const partition of topic.partitions) endOffsets += partition?.logEndOffset ?? 0;
      if (slices.due(topic.partitions.length)) await slices.next();
    }
    let lag = 0;
    for (const { groupId } of attached.groups.listGroups().groups) {
      const partitions = attached.groups.groupLag(groupId).partitions;
      for (const partition of partitions) lag += partition.lag ?? 0;
      if (slices.due(partitions.length)) await slices.next();
    }
    if (parts !== attached) return; // detached meanwhile
    const messagesInPerSecond =
      previous === null
        ? 0
        : Math.max(0, endOffsets - previous.endOffsets) /
          Math.max(0.001, (timeMs - previous.timeMs) / 1000);
    previous = { timeMs, endOffsets };
    history.push({ timeMs, messagesInPerSecond, lag });
    if (history.length > HISTORY_SAMPLES_MAX) history.shift();
  };

  const route =
    (
      handler: (parts: ConsoleParts, query: URLSearchParams, request: HttpRequestInfo) => unknown,
      writes = false,
    ): HttpRoute =>
    async (query, request) => {
      lastUsedMs = Date.now();
      if (parts === null)
        return problemAnswer({
          status: 503,
          title: 'not ready',
          detail: 'the broker is starting or stopping',
        });
      if (writes && !parts.writesEnabled)
        return problemAnswer({
          status: 403,
          title: 'console writes are off',
          detail:
            'the console only reads; start the broker with console.writes.enabled=true to change topics, produce or reset offsets',
        });
      try {
        return answer(await handler(parts, query, request));
      } catch (error) {
        if (error instanceof ConsoleProblem)
          return problemAnswer({ status: error.status, title: error.title, detail: error.message });
        throw error;
      }
    };

  const routes = new Map<string, HttpRoute>([
    ['/ui/api/overview', route(overview)],
    ['/ui/api/topics', route(listTopics)],
    ['/ui/api/topic', route(describeTopic)],
    ['POST /ui/api/topics', route(createTopic, true)],
    ['POST /ui/api/topics/delete', route(deleteTopic, true)],
    ['/ui/api/messages', route(browseMessages)],
    ['POST /ui/api/produce', route(produceMessage, true)],
    ['/ui/api/groups', route(listGroups)],
    ['/ui/api/group', route(describeGroup)],
    ['POST /ui/api/groups/reset-offsets', route(resetOffsets, true)],
    [
      '/ui/api/history',
      route((attached, _query, request) => {
        requirePermission(
          attached,
          request,
          AclOperation.DESCRIBE,
          ResourceType.CLUSTER,
          CLUSTER_RESOURCE_NAME,
        );
        return { intervalMs: HISTORY_INTERVAL_MS, samples: history };
      }),
    ],
  ]);

  return {
    routes,
    attach(attached) {
      parts = attached;
      void sample();
      historyTimer = setInterval(() => {
        if (Date.now() - lastUsedMs < HISTORY_WATCHED_MS) void sample();
      }, HISTORY_INTERVAL_MS);
      historyTimer.unref();
    },
    detach() {
      parts = null;
      if (historyTimer !== null) clearInterval(historyTimer);
      historyTimer = null;
    },
  };
}

// ─────────────────────────── calling the broker's handlers ───────────────────────────

let nextConsoleRequest = 1;

/**
 * Calls the handler of `apiKey` at its highest version, as a request from the console. The
 * answer is the handler's response type of that key; each route reads the few fields it needs.
 */
async function callHandler(
  parts: ConsoleParts,
  apiKey: number,
  body: unknown,
  request: HttpRequestInfo,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<any> {
  const handler: AnyHandler = await parts.registry.load(apiKey);
  const context: RequestContext = {
    connectionId: -1,
    listenerName: 'HTTP',
    remoteAddress: request.remoteAddress,
    remotePort: request.remotePort,
    clientId: 'brook-console',
    apiKey,
    apiVersion: handler.maxVersion,
    correlationId: nextConsoleRequest++,
    principal: request.principal,
    signal: new AbortController().signal,
  };
  const response: unknown = await handler.handle(body, context);
  if (response === NO_RESPONSE || response === CLOSE_CONNECTION)
    throw new Error(`API key ${apiKey} gave no response`);
  parts.auditor?.requestAnswered(context, body, response);
  return response;
}

function checkError(
  errorCode: number,
  errorMessage: string | null | undefined,
  what: string,
): void {
  if (errorCode === 0) return;
  const name = errorName(errorCode);
  const status = name.endsWith('_AUTHORIZATION_FAILED')
    ? 403
    : name === 'UNKNOWN_TOPIC_OR_PARTITION'
      ? 404
      : name === 'TOPIC_ALREADY_EXISTS'
        ? 409
        : 400;
  throw new ConsoleProblem(status, name, `${what}: ${errorMessage ?? name}`);
}

interface MetadataView {
  brokers: { nodeId: number; host: string; port: number; rack?: string | null }[];
  clusterId?: string | null;
  controllerId?: number;
  topics: {
    errorCode: number;
    name: string | null;
    isInternal?: boolean;
    partitions?: {
      partitionIndex: number;
      leaderId: number;
      leaderEpoch?: number;
      replicaNodes: number[];
      isrNodes: number[];
    }[];
  }[];
}

function metadata(
  parts: ConsoleParts,
  topics: string[] | null,
  request: HttpRequestInfo,
): Promise<MetadataView> {
  return callHandler(
    parts,
    ApiKey.Metadata,
    {
      topics: topics === null ? null : topics.map((name) => ({ topicId: Buffer.alloc(16), name })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    },
    request,
  );
}

// ─────────────────────────── routes ───────────────────────────

async function overview(
  parts: ConsoleParts,
  _query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  const view = await metadata(parts, [], request);
  return {
    clusterId: view.clusterId ?? null,
    controllerId: view.controllerId ?? -1,
    brokers: view.brokers.map(({ nodeId, host, port, rack }) => ({
      nodeId,
      host,
      port,
      rack: rack ?? null,
    })),
    writesEnabled: parts.writesEnabled,
  };
}

async function listTopics(
  parts: ConsoleParts,
  _query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  const view = await metadata(parts, null, request);
  const internal = parts.replicas
    .internalTopicMetadata()
    .map((topic) => topic.name)
    .filter((name) => permitted(parts, request, AclOperation.DESCRIBE, ResourceType.TOPIC, name));
  const names = [
    ...view.topics
      .filter((topic) => topic.errorCode === 0 && topic.name !== null)
      .map((topic) => topic.name!),
    ...internal.filter((name) => !view.topics.some((topic) => topic.name === name)),
  ].sort();
  return names.map((name) => {
    const local = parts.replicas.topic(name);
    const partitions = local?.partitions.filter((partition) => partition !== undefined) ?? [];
    const fromMetadata = view.topics.find((topic) => topic.name === name);
    return {
      name,
      internal: local?.metadata.internal ?? fromMetadata?.isInternal ?? internal.includes(name),
      partitions: fromMetadata?.partitions?.length ?? local?.metadata.partitionCount ?? 0,
      sizeBytes: partitions.reduce((sum, partition) => sum + partition.log.sizeInBytes, 0),
      messages: partitions.reduce(
        (sum, partition) => sum + Math.max(0, partition.highWatermark - partition.logStartOffset),
        0,
      ),
    };
  });
}

function requiredText(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null || value === '') throw badRequest(`the query needs ${name}`);
  return value;
}

function integer(text: string | null | undefined, name: string, minimum = 0): number | undefined {
  if (text === null || text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < minimum)
    throw badRequest(
      `${name} must be an integer of at least ${minimum}, not ${JSON.stringify(text)}`,
    );
  return value;
}

async function describeTopic(
  parts: ConsoleParts,
  query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  const name = requiredText(query, 'name');
  const view = await metadata(parts, [name], request);
  const topic = view.topics[0];
  checkError(topic?.errorCode ?? 3, null, `topic ${name}`);
  const local = parts.replicas.topic(name);
  const configs = await callHandler(
    parts,
    ApiKey.DescribeConfigs,
    {
      resources: [{ resourceType: 2, resourceName: name, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    },
    request,
  );
  const result = configs.results[0];
  return {
    name,
    topicId: local?.metadata.topicId.toString('hex') ?? null,
    internal: topic.isInternal ?? false,
    partitions: (topic.partitions ?? [])
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((partition) => {
        const here = local?.partitions[partition.partitionIndex];
        return {
          partition: partition.partitionIndex,
          leader: partition.leaderId,
          leaderEpoch: partition.leaderEpoch ?? null,
          replicas: partition.replicaNodes,
          isr: partition.isrNodes,
          local: here !== undefined,
          logStartOffset: here?.logStartOffset ?? null,
          highWatermark: here?.highWatermark ?? null,
          logEndOffset: here?.logEndOffset ?? null,
          sizeBytes: here?.log.sizeInBytes ?? null,
          segments: here?.log.segmentInfos().length ?? null,
        };
      }),
    configs:
      result?.errorCode === 0
        ? (
            result.configs as {
              name: string;
              value: string | null;
              configSource?: number;
              isSensitive: boolean;
            }[]
          ).map((config) => ({
            name: config.name,
            value: config.isSensitive ? null : config.value,
            // DescribeConfigs' DYNAMIC_TOPIC_CONFIG: set on this topic.
            overridden: config.configSource === 1,
          }))
        : [],
  };
}

function jsonBody(request: HttpRequestInfo): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(request.body.toString('utf8') || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw badRequest(`the body must be a JSON object (${(error as Error).message})`);
  }
}

function bodyText(
  body: Record<string, unknown>,
  name: string,
  required = true,
): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') {
    if (required) throw badRequest(`the body needs ${name}`);
    return undefined;
  }
  if (typeof value !== 'string' && typeof value !== 'number')
    throw badRequest(`${name} must be text`);
  return String(value);
}

async function createTopic(
  parts: ConsoleParts,
  _query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  const body = jsonBody(request);
  const name = bodyText(body, 'name')!;
  const partitions = integer(bodyText(body, 'partitions', false), 'partitions', 1) ?? -1;
  const replicationFactor =
    integer(bodyText(body, 'replicationFactor', false), 'replicationFactor', 1) ?? -1;
  const configs = body.configs ?? {};
  if (typeof configs !== 'object' || configs === null || Array.isArray(configs))
    throw badRequest('configs must be an object of name: value');
  const response = await callHandler(
    parts,
    ApiKey.CreateTopics,
    {
      topics: [
        {
          name,
          numPartitions: partitions,
          replicationFactor,
          assignments: [],
          configs: Object.entries(configs).map(([configName, value]) => ({
            name: configName,
            value: String(value),
          })),
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    },
    request,
  );
  const result = response.topics[0];
  checkError(result.errorCode, result.errorMessage, `cannot create topic ${name}`);
  return { name, partitions: result.numPartitions, replicationFactor: result.replicationFactor };
}

async function deleteTopic(
  parts: ConsoleParts,
  query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  const name = query.get('name') ?? bodyText(jsonBody(request), 'name')!;
  const response = await callHandler(
    parts,
    ApiKey.DeleteTopics,
    { topics: [{ name, topicId: Buffer.alloc(16) }], topicNames: [], timeoutMs: 30_000 },
    request,
  );
  const result = response.responses[0];
  checkError(result.errorCode, result.errorMessage, `cannot delete topic ${name}`);
  return { deleted: name };
}

function localPartition(parts: ConsoleParts, query: URLSearchParams) {
  const topic = requiredText(query, 'topic');
  const index = integer(requiredText(query, 'partition'), 'partition')!;
  const partition = parts.replicas.partition(topic, index);
  if (partition === undefined)
    throw new ConsoleProblem(
      404,
      'UNKNOWN_TOPIC_OR_PARTITION',
      `${topic}-${index} is not on this broker`,
    );
  return { topic, index, partition };
}

function renderBytes(bytes: Buffer | null): {
  text: string | null;
  json: unknown;
  hex: string | null;
} {
  if (bytes === null) return { text: null, json: undefined, hex: null };
  const text = bytes.toString('utf8');
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: the page shows it as text or hex.
  }
  return {
    text: Buffer.from(text, 'utf8').equals(bytes) ? text : null,
    json,
    hex: bytes.subarray(0, 64 * 1024).toString('hex'),
  };
}

async function browseMessages(
  parts: ConsoleParts,
  query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  requirePermission(
    parts,
    request,
    AclOperation.READ,
    ResourceType.TOPIC,
    requiredText(query, 'topic'),
  );
  const { topic, index, partition } = localPartition(parts, query);
  const limit = Math.min(integer(query.get('limit'), 'limit', 1) ?? 50, BROWSE_RECORDS_MAX);
  const timestamp = integer(query.get('timestamp'), 'timestamp');
  let from = integer(query.get('offset'), 'offset');
  if (timestamp !== undefined) {
    from = (await partition.log.offsetForTimestamp(timestamp))?.offset ?? partition.highWatermark;
  }
  from = Math.max(from ?? partition.logStartOffset, partition.logStartOffset);
  const upperBound = partition.highWatermark;
  const records: unknown[] = [];
  let position = from;
  let bytesRead = 0;
  while (records.length < limit && position < upperBound && bytesRead < BROWSE_BYTES_MAX) {
    const read = await partition.read(position, 1024 * 1024, upperBound, true);
    if (read.byteLength === 0) break;
    bytesRead += read.byteLength;
    let next = position;
    for (const chunk of read.chunks) {
      for (let offset = 0; offset + 61 <= chunk.length;) {
        const header = decodeBatchHeader(chunk, offset);
        const size = header.batchLength + 12;
        if (offset + size > chunk.length) break;
        next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1);
        if (!header.isControl) {
          const batch = await decodeBatch(chunk.subarray(offset, offset + size));
          for (const record of batch.records) {
            if (record.offset < position || records.length >= limit) continue;
            records.push({
              offset: record.offset,
              timestamp: batch.isLogAppendTime ? batch.maxTimestamp : record.timestamp,
              key: renderBytes(record.key),
              value: renderBytes(record.value),
              headers: record.headers.map((header) => ({
                key: header.key,
                value: renderBytes(header.value),
              })),
            });
          }
        }
        offset += size;
      }
    }
    if (next <= position) break;
    position = next;
  }
  return {
    topic,
    partition: index,
    from,
    logStartOffset: partition.logStartOffset,
    highWatermark: partition.highWatermark,
    records,
  };
}

async function produceMessage(
  parts: ConsoleParts,
  _query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  const body = jsonBody(request);
  const topic = bodyText(body, 'topic')!;
  const partition = integer(bodyText(body, 'partition', false), 'partition') ?? 0;
  const key = bodyText(body, 'key', false);
  const value = body.value === null ? null : (bodyText(body, 'value', false) ?? '');
  const headers = body.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    throw badRequest('headers must be an object of name: value');
  const batch = await buildBatch({
    records: [
      {
        key: key === undefined ? null : Buffer.from(key),
        value: value === null ? null : Buffer.from(value),
        headers: Object.entries(headers).map(([name, headerValue]) => ({
          key: name,
          value: Buffer.from(String(headerValue)),
        })),
      },
    ],
  });
  const response = await callHandler(
    parts,
    ApiKey.Produce,
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    },
    request,
  );
  const result = response.responses[0].partitionResponses[0];
  checkError(result.errorCode, result.errorMessage, `cannot produce to ${topic}-${partition}`);
  return { topic, partition, offset: result.baseOffset };
}

function listGroups(
  parts: ConsoleParts,
  _query: URLSearchParams,
  request: HttpRequestInfo,
): unknown {
  return parts.groups
    .listGroups()
    .groups.filter(({ groupId }) =>
      permitted(parts, request, AclOperation.DESCRIBE, ResourceType.GROUP, groupId),
    )
    .map(({ groupId, state, protocolType }) => {
      const lag = parts.groups.groupLag(groupId).partitions;
      return {
        groupId,
        state,
        protocolType,
        members: parts.groups.describeGroup(groupId).members.length,
        lag: lag.reduce((sum, partition) => sum + (partition.lag ?? 0), 0),
      };
    })
    .sort((a, b) => a.groupId.localeCompare(b.groupId));
}

function describeGroup(
  parts: ConsoleParts,
  query: URLSearchParams,
  request: HttpRequestInfo,
): unknown {
  const groupId = requiredText(query, 'id');
  requirePermission(parts, request, AclOperation.DESCRIBE, ResourceType.GROUP, groupId);
  const description = parts.groups.describeGroup(groupId);
  if (description.state === 'Dead' || description.state === '')
    throw new ConsoleProblem(404, 'GROUP_ID_NOT_FOUND', `no group ${groupId}`);
  return {
    groupId,
    state: description.state,
    protocolType: description.protocolType,
    protocol: description.protocolName,
    members: description.members.map((member) => {
      let assignment: { topic: string; partitions: number[] }[] = [];
      if (description.protocolType === 'consumer' && member.assignment.length > 0) {
        try {
          assignment = decodeConsumerAssignment(
            member.assignment,
          ).assignment.assignedPartitions.map(({ topic, partitions }) => ({ topic, partitions }));
        } catch {
          // An assignment in another encoding is shown as none rather than failing the page.
        }
      }
      return {
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment,
      };
    }),
    offsets: parts.groups.groupLag(groupId).partitions.map((partition) => ({
      topic: partition.topic,
      partition: partition.partition,
      committedOffset: partition.committedOffset,
      logEndOffset: partition.logEndOffset,
      lag: partition.lag,
      memberId: partition.memberId,
    })),
  };
}

async function resetOffsets(
  parts: ConsoleParts,
  _query: URLSearchParams,
  request: HttpRequestInfo,
): Promise<unknown> {
  const body = jsonBody(request);
  const groupId = bodyText(body, 'group')!;
  const topic = bodyText(body, 'topic')!;
  const to = bodyText(body, 'to')!;
  requirePermission(parts, request, AclOperation.READ, ResourceType.GROUP, groupId);
  requirePermission(parts, request, AclOperation.READ, ResourceType.TOPIC, topic);
  const state = parts.groups.describeGroup(groupId).state;
  if (state !== 'Empty' && state !== 'Dead' && state !== '')
    throw new ConsoleProblem(
      409,
      'group is active',
      `group ${groupId} is ${state}; stop its consumers before resetting offsets (as kafka-consumer-groups requires)`,
    );
  const topicPartitions = parts.replicas.topic(topic);
  if (topicPartitions === undefined)
    throw new ConsoleProblem(404, 'UNKNOWN_TOPIC_OR_PARTITION', `no topic ${topic}`);
  const offsets: { partition: number; offset: number }[] = [];
  for (const partition of topicPartitions.partitions) {
    if (partition === undefined) continue;
    let offset: number;
    if (to === 'earliest') offset = partition.logStartOffset;
    else if (to === 'latest') offset = partition.highWatermark;
    else if (to === 'offset') {
      offset = integer(bodyText(body, 'offset'), 'offset')!;
      offset = Math.min(Math.max(offset, partition.logStartOffset), partition.highWatermark);
    } else if (to === 'timestamp') {
      const timestamp = integer(bodyText(body, 'timestamp'), 'timestamp')!;
      offset =
        (await partition.log.offsetForTimestamp(timestamp))?.offset ?? partition.highWatermark;
    } else
      throw badRequest(
        `to must be earliest, latest, offset or timestamp, not ${JSON.stringify(to)}`,
      );
    offsets.push({ partition: partition.partitionIndex, offset });
  }
  const results = await parts.groups.commitOffsets({
    groupId,
    memberId: '',
    generationId: -1,
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: offsets.map(({ partition, offset }) => ({
          partition,
          offset: BigInt(offset),
          leaderEpoch: -1,
          metadata: null,
        })),
      },
    ],
  });
  for (const result of results)
    for (const partition of result.partitions)
      checkError(
        partition.errorCode,
        null,
        `cannot reset ${groupId} on ${topic}-${partition.partition}`,
      );
  return { group: groupId, topic, offsets };
}
