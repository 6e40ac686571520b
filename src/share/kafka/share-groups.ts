// KIP-932 share groups: the Kafka door to the shared-subscription engine. A share group reading
// a topic is one engine subscription (`share-group/<group>/<topic>`), so a Kafka share consumer
// and the HTTP door get the same per-record states, locks, delivery counts, dead-letter topic and
// durable state. This file keeps what only the Kafka door has:
//
//   membership   ShareGroupHeartbeat: members, their subscribed topics, epochs, session timeout.
//                Every member is assigned every partition of the topics it subscribes to: the
//                engine hands out records, not partitions.
//   sessions     ShareFetch and ShareAcknowledge carry a share session epoch per member:
//                0 opens a session (the partitions to fetch), each later request gives the next
//                epoch, -1 closes it and gives back the records the member still holds.
//   acquisition  ShareFetch takes records from the engine for the member and answers the whole
//                record batches that contain them, as bytes, with the acquired offset ranges;
//                the client hands its application only the records inside those ranges.
//
// One group id names one group of one type at a time (Kafka's rule): an id a classic group holds
// (`otherGroupType`, the group coordinator's answer) is not a share group here, whatever share
// state it may have, so ShareGroupHeartbeat refuses it GROUP_ID_NOT_FOUND and the admin APIs
// neither list nor change it.
//
// Cluster mode: a group is served only by the broker that owns its state partition in the engine
// (`coordinatorError`); a request for it elsewhere is passed on to the owner (ShareFetch and
// ShareAcknowledge anywhere, the coordinator requests at the id's classic coordinator:
// share-forwarder.ts) or refused NOT_COORDINATOR, and the members and sessions a broker kept of a
// group that moved away are dropped, so they join the new owner afresh. Partitions are counted from the topic's metadata, and read through the engine's
// source partitions (this broker's replica, or the leader's over Fetch).
//
// Owned by the broker (broker.ts); state is in memory except what the engine persists, so after
// a restart members join again and records held before it are redelivered (the engine's rule).
// Everything that changes a member or a session runs synchronously; the awaits (creating a
// subscription, a durable acknowledgement, a long poll) re-read the maps afterwards.

import { ErrorCode } from '../../protocol/errors.js';
import { BATCH_HEADER_BYTES, batchLastOffset, batchSizeBytes } from '../../record/batch.js';
import type { ReplicaManager, TopicPartitions } from '../../replica/replica-manager.js';
import {
  SHARE_GROUP_SUBSCRIPTION_PREFIX,
  type ShareEngine,
  shareGroupOfSubscription,
  shareGroupSubscriptionName,
} from '../share-engine.js';
import { ShareError } from '../share-errors.js';
import type { SourcePartition, TrackedRecord } from '../share-partition.js';
import type { SettleOutcome, Subscription } from '../subscription.js';

export interface ShareGroupsOptions {
  /** The engine; undefined until the broker has started it. */
  readonly engine: () => ShareEngine | undefined;
  readonly replicas: ReplicaManager;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly lockDurationMs: number;
  readonly now?: () => number;
  /**
   * The type of the group named `groupId` that another coordinator keeps ('classic'), or
   * undefined. Optional: absent means share groups have the namespace to themselves.
   */
  readonly otherGroupType?: (groupId: string) => string | undefined;
}

export interface ShareGroupMember {
  readonly memberId: string;
  epoch: number;
  subscribedTopicNames: string[];
  rackId: string | null;
  clientId: string;
  clientHost: string;
  /** Sorted `topic:partition` list last sent to the member, to tell when it changed. */
  assignmentKey: string;
  expiry: NodeJS.Timeout | null;
}

export interface ShareGroup {
  readonly groupId: string;
  groupEpoch: number;
  readonly members: Map<string, ShareGroupMember>;
}

export interface HeartbeatAnswer {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly memberId: string | null;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  /** Present when the member's assignment changed (always on joining). */
  readonly assignment: ReadonlyArray<{ topicId: Buffer; partitions: number[] }> | null;
}

/** One partition of a share session. */
export interface SessionPartition {
  readonly topicId: Buffer;
  readonly partitionIndex: number;
}

export interface ShareSession {
  /** The epoch the next request must carry. */
  nextEpoch: number;
  readonly partitions: Map<string, SessionPartition>;
}

export type SessionCheck =
  | {
      readonly errorCode: 0;
      /** The session, or null when epoch -1 closed it. */
      readonly session: ShareSession | null;
      /** The session epoch -1 closed (for `closeSession`). */
      readonly closed?: ShareSession;
    }
  | { readonly errorCode: number; readonly errorMessage: string };

export const AcknowledgeType = { gap: 0, accept: 1, release: 2, reject: 3, renew: 4 } as const;

export interface AcknowledgementBatch {
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly acknowledgeTypes: readonly number[];
}

/** Records one ShareFetch acquired from one partition, and the bytes that carry them. */
export interface AcquiredPartition {
  readonly records: Buffer[];
  readonly acquired: Array<{ firstOffset: bigint; lastOffset: bigint; deliveryCount: number }>;
}

export interface ShareGroupListing {
  readonly groupId: string;
  /** Kafka's share-group states: Empty without members, Stable with. */
  readonly state: 'Empty' | 'Stable';
}

/** A group-level error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP), or the answer per topic. */
export interface AdminAnswer<Topic> {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly topics: Topic[];
}

export interface AlteredTopic {
  readonly topicName: string;
  readonly topicId: Buffer;
  readonly partitions: Array<{
    partitionIndex: number;
    errorCode: number;
    errorMessage: string | null;
  }>;
}

export interface DeletedTopic {
  readonly topicName: string;
  readonly topicId: Buffer;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

const zeroTopicId = Buffer.alloc(16);
const sessionEpochMax = 0x7fffffff;
/** ShareFetch v1 carries MaxRecords; a client that sends 0 gets this many. */
const defaultMaxRecords = 500;
const readChunkBytes = 1024 * 1024;

export class ShareGroups {
  private readonly groups = new Map<string, ShareGroup>();
  /**
   * By group and member, then by origin: '' for the client's own connection, else the
   * connection another broker forwards that client's requests on (share-forwarder.ts), since a
   * Kafka client keeps a share session with each partition leader.
   */
  private readonly sessions = new Map<string, Map<string, ShareSession>>();
  /** Groups an admin request is changing: no member may join until it is done. */
  private readonly administered = new Set<string>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: ShareGroupsOptions) {
    this.now = options.now ?? Date.now;
  }

  get lockDurationMs(): number {
    return this.options.lockDurationMs;
  }

  close(): void {
    this.closed = true;
    for (const group of this.groups.values())
      for (const member of group.members.values())
        if (member.expiry !== null) clearTimeout(member.expiry);
    this.groups.clear();
    this.sessions.clear();
  }

  group(groupId: string): ShareGroup | undefined {
    return this.ownedElsewhere(groupId) ? undefined : this.groups.get(groupId);
  }

  /** Whether a group of another type holds `groupId` (Kafka: one id, one type). */
  ownedElsewhere(groupId: string): boolean {
    return this.options.otherGroupType?.(groupId) !== undefined;
  }

  /** The GROUP_ID_NOT_FOUND message for `groupId`, in Kafka's words for an id of another type. */
  notFoundMessage(groupId: string): string {
    return this.ownedElsewhere(groupId)
      ? `Group ${groupId} is not a share group.`
      : `share group ${groupId} not found`;
  }

  // ───────────────────────────── ownership ─────────────────────────────

  /**
   * Why this broker does not serve share group `groupId`, or null when it does. Cluster mode: a
   * group is served only by the leader of its state partition once loaded (NOT_COORDINATOR
   * elsewhere, COORDINATOR_LOAD_IN_PROGRESS while it loads, COORDINATOR_NOT_AVAILABLE while the
   * partition has no leader). What this broker still remembers of a group it no longer serves
   * (members, sessions) is dropped here: the owner's members join again.
   */
  coordinatorError(groupId: string): { errorCode: number; errorMessage: string } | null {
    const engine = this.options.engine();
    if (engine === undefined || this.closed)
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: 'share groups are not started',
      };
    const ownership = engine.shareGroupOwnership(groupId);
    if (ownership === 'served') return null;
    this.forget(groupId);
    if (ownership === 'loading')
      return {
        errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        errorMessage: `share group ${groupId} is being loaded here; retry`,
      };
    if (ownership.owner === undefined)
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: `share group ${groupId} has no coordinator yet (its state partition has no leader)`,
      };
    return {
      errorCode: ErrorCode.NOT_COORDINATOR,
      errorMessage: `share group ${groupId} is coordinated by broker ${ownership.owner}`,
    };
  }

  /**
   * The broker that serves share group `groupId` when another one does (cluster mode), where
   * this broker passes the group's ShareFetch and ShareAcknowledge on (share-forwarder.ts).
   */
  servedElsewhere(groupId: string): number | undefined {
    const ownership = this.options.engine()?.shareGroupOwnership(groupId);
    return typeof ownership === 'object' ? ownership.owner : undefined;
  }

  /**
   * The engine closed a subscription (deleted, or its state partition unloaded): when that was
   * the group's move to another broker, the members and sessions kept here go with it.
   */
  subscriptionClosed(name: string): void {
    const groupId = shareGroupOfSubscription(name);
    if (groupId !== null && this.groups.has(groupId)) this.coordinatorError(groupId);
  }

  private forget(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    for (const member of group.members.values()) {
      if (member.expiry !== null) clearTimeout(member.expiry);
      this.sessions.delete(sessionKey(groupId, member.memberId));
    }
    this.groups.delete(groupId);
  }

  /** Every partition index of the topic (cluster mode: those this broker holds no replica of too). */
  partitionIndexesOf(topic: TopicPartitions): number[] {
    return Array.from({ length: topic.metadata.partitionCount }, (_, index) => index);
  }

  // ───────────────────────────── membership ─────────────────────────────

  async heartbeat(request: {
    groupId: string;
    memberId: string;
    memberEpoch: number;
    rackId: string | null;
    subscribedTopicNames: string[] | null;
    clientId: string;
    clientHost: string;
  }): Promise<HeartbeatAnswer> {
    const interval = this.options.heartbeatIntervalMs;
    const refuse = (errorCode: number, errorMessage: string): HeartbeatAnswer => ({
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    const engine = this.options.engine();
    if (engine === undefined || this.closed)
      return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'share groups are not started');
    const { groupId, memberId, memberEpoch } = request;
    if (groupId === '') return refuse(ErrorCode.INVALID_REQUEST, 'GroupId can not be empty');
    if (memberId === '') return refuse(ErrorCode.INVALID_REQUEST, 'MemberId can not be empty');
    const notServed = this.coordinatorError(groupId);
    if (notServed !== null) return refuse(notServed.errorCode, notServed.errorMessage);
    if (this.ownedElsewhere(groupId))
      return refuse(ErrorCode.GROUP_ID_NOT_FOUND, this.notFoundMessage(groupId));

    if (memberEpoch === -1) {
      this.removeMember(groupId, memberId, 'the member left the share group');
      return { ...refuse(0, ''), errorMessage: null, memberId, memberEpoch: -1 };
    }

    let group = this.groups.get(groupId);
    let member = group?.members.get(memberId);
    if (memberEpoch === 0 && this.administered.has(groupId))
      return refuse(
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        `share group ${groupId} is being changed by an admin request; retry`,
      );
    if (memberEpoch === 0) {
      if (request.subscribedTopicNames === null || request.subscribedTopicNames.length === 0)
        return refuse(ErrorCode.INVALID_REQUEST, 'SubscribedTopicNames must be set when joining');
      if (group === undefined) {
        group = { groupId, groupEpoch: 0, members: new Map() };
        this.groups.set(groupId, group);
      }
      if (member === undefined) {
        member = {
          memberId,
          epoch: 0,
          subscribedTopicNames: [],
          rackId: null,
          clientId: request.clientId,
          clientHost: request.clientHost,
          assignmentKey: '',
          expiry: null,
        };
        group.members.set(memberId, member);
      }
      // A member joining again (epoch 0) is sent its assignment again.
      member.assignmentKey = '';
    } else {
      if (group === undefined || member === undefined)
        return refuse(
          ErrorCode.UNKNOWN_MEMBER_ID,
          `member ${memberId} is not in share group ${groupId}`,
        );
      if (memberEpoch !== member.epoch)
        return refuse(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `member epoch ${memberEpoch} is not the current ${member.epoch}`,
        );
    }
    if (request.subscribedTopicNames !== null)
      member.subscribedTopicNames = [...new Set(request.subscribedTopicNames)].sort();
    if (request.rackId !== null) member.rackId = request.rackId;
    member.clientId = request.clientId;
    member.clientHost = request.clientHost;
    this.touch(group, member);

    const topics = member.subscribedTopicNames
      .map((name) => this.options.replicas.topic(name))
      .filter((topic): topic is TopicPartitions => topic !== undefined && !topic.metadata.internal);
    // The engine's subscription exists before the member may fetch, so its start position
    // ("latest") is the end of the topic when the group first asked for it.
    try {
      for (const topic of topics) await engine.shareGroupSubscription(groupId, topic.metadata.name);
    } catch (error) {
      // Cluster mode: the group moved, or its state could not be written; the client retries.
      if (!(error instanceof ShareError)) throw error;
      return refuse(coordinatorErrorCodeOf(error), error.message);
    }
    // The member may have left while the subscriptions were made.
    if (this.groups.get(groupId)?.members.get(memberId) !== member)
      return refuse(ErrorCode.UNKNOWN_MEMBER_ID, `member ${memberId} left share group ${groupId}`);

    const assignment = topics.map((topic) => ({
      topicId: topic.metadata.topicId,
      partitions: this.partitionIndexesOf(topic),
    }));
    const assignmentKey = topics
      .map((topic) => `${topic.metadata.name}:${topic.metadata.partitionCount}`)
      .join(',');
    let changed = false;
    if (assignmentKey !== member.assignmentKey || member.epoch === 0) {
      group.groupEpoch += 1;
      member.epoch = group.groupEpoch;
      member.assignmentKey = assignmentKey;
      changed = true;
    }
    return {
      errorCode: 0,
      errorMessage: null,
      memberId,
      memberEpoch: member.epoch,
      heartbeatIntervalMs: interval,
      assignment: changed ? assignment : null,
    };
  }

  /** Restarts the member's session timeout. */
  private touch(group: ShareGroup, member: ShareGroupMember): void {
    if (member.expiry !== null) clearTimeout(member.expiry);
    member.expiry = setTimeout(() => {
      member.expiry = null;
      this.removeMember(group.groupId, member.memberId, 'the member session timed out');
    }, this.options.sessionTimeoutMs);
    member.expiry.unref();
  }

  private removeMember(groupId: string, memberId: string, reason: string): void {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return;
    if (member.expiry !== null) clearTimeout(member.expiry);
    group.members.delete(memberId);
    group.groupEpoch += 1;
    this.sessions.delete(sessionKey(groupId, memberId));
    this.releaseHeld(groupId, memberId, reason);
  }

  /** Gives back every record the member holds in any of the group's subscriptions. */
  private releaseHeld(groupId: string, memberId: string, reason: string): void {
    const engine = this.options.engine();
    if (engine === undefined) return;
    for (const topic of this.options.replicas.topics()) {
      const subscription = this.existingSubscription(groupId, topic.metadata.name);
      subscription?.releaseConsumer(memberId, reason);
    }
  }

  private existingSubscription(groupId: string, topic: string): Subscription | undefined {
    const engine = this.options.engine();
    if (engine === undefined) return undefined;
    const name = shareGroupSubscriptionName(groupId, topic);
    return engine.list().includes(name) ? engine.subscription(name) : undefined;
  }

  /**
   * The topics share group `groupId` reads, from the engine's subscriptions (they outlive the
   * members and a restart); null when the group has neither members nor subscriptions.
   */
  readTopics(groupId: string): Map<string, Subscription> | null {
    if (this.ownedElsewhere(groupId)) return null;
    const engine = this.options.engine();
    const prefix = shareGroupSubscriptionName(groupId, '');
    const topics = new Map<string, Subscription>();
    for (const name of engine?.list() ?? [])
      if (name.startsWith(prefix))
        topics.set(name.slice(prefix.length), engine!.subscription(name));
    return topics.size === 0 && !this.groups.has(groupId) ? null : topics;
  }

  // ───────────────────────────── administration ─────────────────────────────

  /**
   * Every share group: those with members and those whose durable state outlives them (an
   * engine subscription `share-group/<group>/<topic>`; topic names have no '/', so the group id
   * is everything before the last one).
   */
  list(): ShareGroupListing[] {
    const states = new Map<string, ShareGroupListing['state']>();
    const prefix = SHARE_GROUP_SUBSCRIPTION_PREFIX;
    for (const name of this.options.engine()?.list() ?? []) {
      if (!name.startsWith(prefix)) continue;
      states.set(name.slice(prefix.length, name.lastIndexOf('/')), 'Empty');
    }
    for (const [groupId, group] of this.groups)
      if (this.coordinatorError(groupId) === null)
        states.set(groupId, group.members.size === 0 ? 'Empty' : 'Stable');
    return [...states]
      .filter(([groupId]) => !this.ownedElsewhere(groupId))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([groupId, state]) => ({ groupId, state }));
  }

  /** Whether share group `groupId` exists: it has members or durable state. */
  has(groupId: string): boolean {
    return this.readTopics(groupId) !== null;
  }

  /**
   * Runs `change` for an existing share group without members, refusing joins until it is done
   * (Kafka lets an admin request change a share group only while it is empty).
   */
  private async administer<T>(
    groupId: string,
    change: () => Promise<T>,
  ): Promise<T | { errorCode: number; errorMessage: string }> {
    const notServed = this.coordinatorError(groupId);
    if (notServed !== null) return notServed;
    if (!this.has(groupId))
      return {
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        errorMessage: this.notFoundMessage(groupId),
      };
    const members = this.groups.get(groupId)?.members.size ?? 0;
    if (members > 0)
      return {
        errorCode: ErrorCode.NON_EMPTY_GROUP,
        errorMessage: `share group ${groupId} has ${members} active member(s); stop them first`,
      };
    if (this.administered.has(groupId))
      return {
        errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        errorMessage: `share group ${groupId} is being changed by another admin request; retry`,
      };
    this.administered.add(groupId);
    try {
      return await change();
    } finally {
      this.administered.delete(groupId);
    }
  }

  /** DeleteGroups of a share group: its durable state for every topic, then the group. */
  async deleteGroup(groupId: string): Promise<number> {
    const outcome = await this.administer(groupId, async () => {
      const engine = this.options.engine()!;
      for (const topic of this.readTopics(groupId)?.keys() ?? [])
        await engine.delete(shareGroupSubscriptionName(groupId, topic));
      this.groups.delete(groupId);
      return { errorCode: ErrorCode.NONE, errorMessage: '' };
    });
    return outcome.errorCode;
  }

  /**
   * AlterShareGroupOffsets: sets each named partition's start offset, reading a topic the group
   * did not read yet from then on. Resolves once the new state is durable.
   */
  async alterStartOffsets(
    groupId: string,
    topics: ReadonlyArray<{
      topicName: string;
      partitions: ReadonlyArray<{ partitionIndex: number; startOffset: bigint }>;
    }>,
  ): Promise<AdminAnswer<AlteredTopic>> {
    const outcome = await this.administer(groupId, async (): Promise<AlteredTopic[]> => {
      const answers: AlteredTopic[] = [];
      for (const { topicName, partitions } of topics) {
        const topic = this.options.replicas.topic(topicName);
        const answer = (errorCode: number, errorMessage: string | null) =>
          partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode, errorMessage }));
        if (topic === undefined || topic.metadata.internal) {
          answers.push({
            topicName,
            topicId: zeroTopicId,
            partitions: answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic named ${topicName}`),
          });
          continue;
        }
        const subscription = await this.subscriptionFor(groupId, topicName);
        const results = partitions.map(({ partitionIndex, startOffset }) => {
          const fail = (errorCode: number, errorMessage: string) => ({
            partitionIndex,
            errorCode,
            errorMessage,
          });
          const partition = subscription.sourceOf(partitionIndex);
          if (partition === undefined)
            return fail(
              ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              `topic ${topicName} has no partition ${partitionIndex}`,
            );
          if (startOffset < 0n || startOffset > BigInt(partition.highWatermark))
            return fail(
              ErrorCode.INVALID_REQUEST,
              `start offset ${startOffset} of ${topicName}-${partitionIndex} is outside 0..${partition.highWatermark} (the log end)`,
            );
          const reset = subscription.resetPartition(partitionIndex, Number(startOffset));
          if (reset !== 'ok')
            return fail(
              ErrorCode.NON_EMPTY_GROUP,
              `records of ${topicName}-${partitionIndex} are still held (${reset})`,
            );
          return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null };
        });
        try {
          await subscription.durable();
        } catch (error) {
          const message = `the share state write failed: ${error instanceof Error ? error.message : String(error)}`;
          for (const result of results)
            if (result.errorCode === ErrorCode.NONE)
              Object.assign(result, {
                errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
                errorMessage: message,
              });
        }
        answers.push({ topicName, topicId: topic.metadata.topicId, partitions: results });
      }
      return answers;
    });
    return Array.isArray(outcome)
      ? { errorCode: ErrorCode.NONE, errorMessage: null, topics: outcome }
      : { ...outcome, topics: [] };
  }

  /** DeleteShareGroupOffsets: forgets the group's state for each topic (durably). */
  async deleteTopicState(
    groupId: string,
    topicNames: readonly string[],
  ): Promise<AdminAnswer<DeletedTopic>> {
    const outcome = await this.administer(groupId, async (): Promise<DeletedTopic[]> => {
      const engine = this.options.engine()!;
      const answers: DeletedTopic[] = [];
      for (const topicName of topicNames) {
        const topicId = this.options.replicas.topic(topicName)?.metadata.topicId ?? zeroTopicId;
        const name = shareGroupSubscriptionName(groupId, topicName);
        if (!engine.list().includes(name)) {
          answers.push({
            topicName,
            topicId,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `share group ${groupId} has no state for topic ${topicName}`,
          });
          continue;
        }
        try {
          await engine.delete(name);
          answers.push({ topicName, topicId, errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (error) {
          answers.push({
            topicName,
            topicId,
            errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
            errorMessage: `the share state write failed: ${error instanceof Error ? error.message : String(error)}`,
          });
        }
      }
      return answers;
    });
    return Array.isArray(outcome)
      ? { errorCode: ErrorCode.NONE, errorMessage: null, topics: outcome }
      : { ...outcome, topics: [] };
  }

  // ───────────────────────────── sessions ─────────────────────────────

  /**
   * Checks a ShareFetch's or ShareAcknowledge's session epoch and moves the session on:
   * 0 opens a new one (only ShareFetch may), -1 must name an open one, any other epoch must be
   * the one the session expects next. `origin` tells the member's sessions apart (see
   * `sessions`).
   */
  checkSession(
    groupId: string,
    memberId: string,
    epoch: number,
    opening: 'may-open' | 'must-exist',
    origin = '',
  ): SessionCheck {
    const notServed = this.coordinatorError(groupId);
    if (notServed !== null) return notServed;
    const key = sessionKey(groupId, memberId);
    if (this.groups.get(groupId)?.members.get(memberId) === undefined)
      return {
        errorCode: ErrorCode.SHARE_SESSION_NOT_FOUND,
        errorMessage: `member ${memberId} is not in share group ${groupId}`,
      };
    if (epoch === 0) {
      if (opening === 'must-exist')
        return {
          errorCode: ErrorCode.INVALID_SHARE_SESSION_EPOCH,
          errorMessage: 'ShareAcknowledge cannot open a share session (epoch 0)',
        };
      const session: ShareSession = { nextEpoch: 1, partitions: new Map() };
      const sessions = this.sessions.get(key) ?? new Map<string, ShareSession>();
      sessions.set(origin, session);
      this.sessions.set(key, sessions);
      return { errorCode: 0, session };
    }
    const session = this.sessions.get(key)?.get(origin);
    if (session === undefined)
      return {
        errorCode: ErrorCode.SHARE_SESSION_NOT_FOUND,
        errorMessage: `no share session for member ${memberId}`,
      };
    if (epoch === -1) {
      this.sessions.get(key)?.delete(origin);
      if (this.sessions.get(key)?.size === 0) this.sessions.delete(key);
      return { errorCode: 0, session: null, closed: session };
    }
    if (epoch !== session.nextEpoch)
      return {
        errorCode: ErrorCode.INVALID_SHARE_SESSION_EPOCH,
        errorMessage: `share session epoch ${epoch} is not the expected ${session.nextEpoch}`,
      };
    session.nextEpoch = session.nextEpoch === sessionEpochMax ? 1 : session.nextEpoch + 1;
    return { errorCode: 0, session };
  }

  /**
   * Forgets a forwarded session whose connection closed (the forwarding broker's client went
   * away): no request can name it again. What the member holds stays held until its locks
   * expire or the member leaves, as when a client's own connection drops.
   */
  dropSession(groupId: string, memberId: string, origin: string, session: ShareSession): void {
    const sessions = this.sessions.get(sessionKey(groupId, memberId));
    if (sessions?.get(origin) !== session) return;
    sessions.delete(origin);
    if (sessions.size === 0) this.sessions.delete(sessionKey(groupId, memberId));
  }

  /**
   * A closed session gives back what its member still holds (KIP-932): all of it when it was the
   * member's last session, else only what it holds in the closed session's partitions. A member
   * keeps a session with each partition leader (forwarded here in cluster mode): closing the one
   * with one broker must not take back what it fetched through another and will acknowledge
   * there.
   */
  closeSession(groupId: string, memberId: string, closed: ShareSession | undefined): void {
    const reason = 'the share session closed';
    if (closed === undefined || !this.sessions.has(sessionKey(groupId, memberId))) {
      this.releaseHeld(groupId, memberId, reason);
      return;
    }
    const partitionsByTopic = new Map<string, Set<number>>();
    for (const { topicId, partitionIndex } of closed.partitions.values()) {
      const topic = this.resolveTopicName(topicId);
      if (topic === null) continue;
      const partitions = partitionsByTopic.get(topic) ?? new Set<number>();
      partitions.add(partitionIndex);
      partitionsByTopic.set(topic, partitions);
    }
    for (const [topic, partitions] of partitionsByTopic)
      this.existingSubscription(groupId, topic)?.releaseConsumer(memberId, reason, partitions);
  }

  // ───────────────────────────── records ─────────────────────────────

  /** The topic and partition a session partition names, or the error to answer for it. */
  resolve(
    topicId: Buffer,
    partitionIndex: number,
  ):
    | { topic: TopicPartitions; partitionIndex: number; leaderEpoch: number }
    | { errorCode: number } {
    const topic = this.options.replicas.topicById(topicId);
    if (topic === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_ID };
    if (
      !Number.isInteger(partitionIndex) ||
      partitionIndex < 0 ||
      partitionIndex >= topic.metadata.partitionCount
    )
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    // Cluster mode: a partition this broker holds no replica of is read from its leader.
    const leaderEpoch = topic.partitions[partitionIndex]?.leaderEpoch ?? -1;
    return { topic, partitionIndex, leaderEpoch };
  }

  resolveTopicName(topicId: Buffer): string | null {
    return this.options.replicas.topicById(topicId)?.metadata.name ?? null;
  }

  subscriptionFor(groupId: string, topic: string): Promise<Subscription> {
    const engine = this.options.engine();
    if (engine === undefined) return Promise.reject(new Error('share groups are not started'));
    return engine.shareGroupSubscription(groupId, topic);
  }

  /**
   * Applies acknowledgement batches of one partition for `memberId`. Resolves to the partition's
   * acknowledge error code (0, INVALID_REQUEST, INVALID_RECORD_STATE) once every change it made
   * is durable. A record the member does not hold is left as it is.
   */
  async acknowledge(
    subscription: Subscription,
    partitionIndex: number,
    memberId: string,
    batches: readonly AcknowledgementBatch[],
  ): Promise<{ errorCode: number; errorMessage: string | null }> {
    let errorCode: number = 0;
    let errorMessage: string | null = null;
    const fail = (code: number, message: string): void => {
      if (errorCode !== 0) return;
      errorCode = code;
      errorMessage = message;
    };
    for (const batch of batches) {
      const first = Number(batch.firstOffset);
      const last = Number(batch.lastOffset);
      const types = batch.acknowledgeTypes;
      if (
        last < first ||
        types.length === 0 ||
        (types.length !== 1 && types.length !== last - first + 1)
      ) {
        fail(ErrorCode.INVALID_REQUEST, `acknowledgement batch ${first}-${last} is malformed`);
        continue;
      }
      for (let offset = first; offset <= last; offset += 1) {
        const type = types.length === 1 ? types[0] : types[offset - first];
        let outcome: SettleOutcome;
        if (type === AcknowledgeType.gap) continue;
        else if (type === AcknowledgeType.accept)
          outcome = subscription.acknowledge(partitionIndex, offset, memberId);
        else if (type === AcknowledgeType.release)
          outcome = subscription.release(partitionIndex, offset, memberId);
        else if (type === AcknowledgeType.reject)
          outcome = subscription.reject(
            partitionIndex,
            offset,
            memberId,
            'rejected by the share consumer',
          );
        else if (type === AcknowledgeType.renew)
          outcome = subscription.renew(partitionIndex, offset, memberId);
        else {
          fail(ErrorCode.INVALID_REQUEST, `acknowledge type ${type} is not known`);
          continue;
        }
        if (outcome !== 'ok')
          fail(
            ErrorCode.INVALID_RECORD_STATE,
            `record ${offset} of partition ${partitionIndex} is not held by this member (${outcome})`,
          );
      }
    }
    try {
      await subscription.durable();
    } catch (error) {
      return {
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        errorMessage: `the share state write failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    return { errorCode, errorMessage };
  }

  /**
   * Acquires up to `maxRecords` records of one partition for `memberId` and reads the whole
   * batches that hold them. Batches are handed on as bytes; records inside them that were not
   * acquired (held by another member, done, or past the acquired range) are outside every
   * acquired range, so the client skips them.
   */
  async acquire(
    subscription: Subscription,
    partitionIndex: number,
    memberId: string,
    maxRecords: number,
  ): Promise<AcquiredPartition> {
    // The partition as the subscription reads it: this broker's replica, or its leader's.
    const partition = subscription.sourceOf(partitionIndex);
    if (partition === undefined) return { records: [], acquired: [] };
    const taken = subscription.acquireFor(memberId, partitionIndex, maxRecords);
    if (taken.length === 0) return { records: [], acquired: [] };
    taken.sort((a, b) => a.offset - b.offset);
    const acquired = rangesOf(taken);
    const last = taken[taken.length - 1].offset;
    return { records: await batchesThrough(partition, taken[0].offset, last), acquired };
  }

  maxRecordsOf(requested: number): number {
    return requested > 0 ? requested : defaultMaxRecords;
  }
}

/**
 * The whole batches holding offsets `first` to `last`, as views of what the log read: a read
 * stops only before a batch whose last offset reaches its bound, so it is bounded by the last
 * stable offset and cut after the batch that holds `last`.
 */
async function batchesThrough(
  partition: SourcePartition,
  first: number,
  last: number,
): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  let next = first;
  while (next <= last) {
    const { chunks } = await partition.read(next, readChunkBytes, partition.lastStableOffset, true);
    if (chunks.length === 0) break;
    let progressed = false;
    for (const chunk of chunks) {
      let position = 0;
      while (position + BATCH_HEADER_BYTES <= chunk.length && next <= last) {
        const size = batchSizeBytes(chunk, position);
        const batchLast = batchLastOffset(chunk, position);
        if (batchLast >= next) {
          batches.push(chunk.subarray(position, position + size));
          next = batchLast + 1;
          progressed = true;
        }
        position += size;
      }
    }
    if (!progressed) break;
  }
  return batches;
}

/** Consecutive offsets with one delivery count form one acquired range. */
function rangesOf(
  records: readonly TrackedRecord[],
): Array<{ firstOffset: bigint; lastOffset: bigint; deliveryCount: number }> {
  const ranges: Array<{ first: number; last: number; deliveryCount: number }> = [];
  for (const record of records) {
    const previous = ranges[ranges.length - 1];
    if (
      previous !== undefined &&
      previous.last === record.offset - 1 &&
      previous.deliveryCount === record.deliveryCount
    )
      previous.last = record.offset;
    else
      ranges.push({
        first: record.offset,
        last: record.offset,
        deliveryCount: record.deliveryCount,
      });
  }
  return ranges.map(({ first, last, deliveryCount }) => ({
    firstOffset: BigInt(first),
    lastOffset: BigInt(last),
    deliveryCount,
  }));
}

/**
 * A refusal of the engine while a subscription was made (the group moved, or its state could not
 * be written) as the retriable coordinator error to answer.
 */
function coordinatorErrorCodeOf(error: ShareError): number {
  return error.problem === 'subscription-moved'
    ? ErrorCode.NOT_COORDINATOR
    : error.problem === 'subscription-unavailable'
      ? ErrorCode.COORDINATOR_NOT_AVAILABLE
      : ErrorCode.UNKNOWN_SERVER_ERROR;
}

function sessionKey(groupId: string, memberId: string): string {
  return `${groupId}\u0000${memberId}`;
}
