// startBroker(): one Brook broker, wired from its parts. This is the in-process API tests use
// and what `brook start` runs.
//
//   config ─► metadata store ─► log manager ─► replica manager ─► coordinators ─► handlers ─► server
//
// Start order matters: the metadata store names the topics, so the log manager can give each
// log its topic's config when it opens it; the listeners open last, once every partition is
// ready. Stop runs in the reverse order: no new requests, then coordinators, then the logs
// (flush, checkpoints, clean-shutdown marker), then the lock is released.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  type BrokerConfig,
  type SettingsInput,
  advertisedAddresses,
  httpsListenerName,
  resolveBrokerConfig,
} from './config/broker-config.js';
import { ConfigError, ConfigErrorCode } from './config/errors.js';
import { formatHostPort } from './config/listeners.js';
import { listenerSetting, listenerSettingName } from './config/listener-settings.js';
import { parseTopicConfigs, topicLogConfig } from './config/topic-config.js';
import type { ClassicGroup } from './coordinator/group/classic-group.js';
import { GroupCoordinator } from './coordinator/group/group-coordinator.js';
import type { FindCoordinatorResult, GroupFigures } from './coordinator/group/group-requests.js';
import { OFFSETS_TOPIC_NAME } from './coordinator/group/ports.js';
import { ClusterTopicWriter } from './cluster/cluster-topic-writer.js';
import { transactionMarkerOf } from './record/key-value-batch.js';
import { ErrorCode, errorName } from './protocol/errors.js';
import {
  TRANSACTION_STATE_TOPIC_NAME,
  TransactionCoordinator,
} from './coordinator/txn/transaction-coordinator.js';
import { ProducerIdManager, fileProducerIdBlocks } from './coordinator/txn/producer-id-manager.js';
import { writeMarkersLocally } from './coordinator/txn/state-topic.js';
import { createApiVersionsHandler } from './handlers/api-versions.js';
import { createBrokerConfigs } from './metadata/broker-configs.js';
import type { BrokerNode } from './handlers/metadata.js';
import { type ApiHandler, HandlerRegistry, type RequestContext } from './handlers/registry.js';
import { deferHandler } from './handlers/served-versions.js';
import { ApiKey, type RequestOf } from './protocol/generated/index.js';
import {
  type BrokerSecuritySettings,
  type ListenerOAuthBearer,
  ListenerReconfigurationError,
  type RunningListeners,
  httpsTlsFromConfig,
  listenerSecurityFromConfig,
  prepareListenerReconfiguration,
  oauthBearerFromConfig,
} from './security/broker-security.js';
import { AuditRequests, FileAuditLog } from './security/audit-log.js';
import { JwksError } from './security/jwks.js';
import { TlsConfigurationError, type TlsContext } from './security/tls-context.js';
import { LocalCredentialStore } from './security/credential-store.js';
import { type AclStore, LocalAclStore } from './security/acl-store.js';
import { Authorizer, parseSuperUsers } from './security/authorizer.js';
import { EtcdAclSection } from './cluster/etcd-acl-store.js';
import { ClientQuotas } from './quota/client-quotas.js';
import { StorageQuotas, parseStorageQuotas } from './quota/storage-quotas.js';
import type { HttpDoor, HttpRoute } from './http/http-server.js';
import type { HttpAccess } from './http/http-access.js';
import type { PushApi } from './http/push-api.js';
// The share engine and KIP-932's handlers load only where shared subscriptions are served.
import type { ShareEngine } from './share/share-engine.js';
import { SHARE_STATE_TOPIC_NAME } from './share/share-state-topic.js';
import { type RecordWriterPorts, localRecordWriter, writeRecords } from './share/record-writer.js';
import type { ClusterRecordWriter } from './share/cluster-record-writer.js';
import type { RemoteFetchPool } from './share/remote-fetch-pool.js';
import type { ShareGroups } from './share/kafka/share-groups.js';
import type { CoordinatorRoute } from './share/kafka/share-forwarder.js';
import { LocalMetadataStore, type TopicMetadata } from './metadata/metadata-store.js';
import { openBrokerMembership } from './cluster/broker-membership.js';
import { ClusterTopicAdmin, ClusterTopicSync } from './cluster/cluster-topics.js';
import { viewLeadership } from './cluster/partition-leadership.js';
import { ReplicaFetcher } from './cluster/replica-fetcher.js';
import { FENCED_LEADERSHIP_CONFIRM_WINDOW_MS } from './cluster/session-fenced-view.js';
import { interBrokerConnector, interBrokerSettings } from './cluster/inter-broker-connection.js';
import { NO_LEADER, endpointOn } from './metadata/cluster-metadata.js';
import { IsrManager } from './cluster/isr-manager.js';
import type { BrokerMetrics, GroupSnapshot, PartitionSnapshot } from './observability/metrics.js';
import {
  type ReplicationSnapshot,
  singleBrokerReplication,
} from './observability/replication-metrics.js';
import { clusterReplication, watchIsrChanges } from './cluster/replication-status.js';
import { CoordinatorLeadership } from './coordinator/coordinator-leadership.js';
import {
  appendMarkerAsLeader,
  type MarkerAppendPorts,
  TransactionMarkerSender,
} from './cluster/marker-sender.js';
import {
  type InternalTopicPorts,
  type InternalTopicStorage,
  openInternalTopic,
} from './replica/internal-topic.js';
import {
  type ReplicatedInternalTopic,
  openReplicatedInternalTopic,
} from './replica/replicated-internal-topic.js';
import { ReplicaManager } from './replica/replica-manager.js';
import type { Partition } from './replica/partition.js';
import { type BrookServer, startServer } from './server/server.js';
import { serverLimitsFromConfig } from './server/limits.js';
import type { ServerLogger } from './server/logger.js';
import { RequestLog } from './server/request-log.js';
import {
  type LogLevel,
  type Logger,
  asLogger,
  componentLogger,
  createLogger,
  silentLogger,
} from './util/logger.js';
import type { LogConfig as StorageLogConfig } from './storage/log-config.js';
import { LogDirectories } from './storage/log-directories.js';
import { TailCacheBudget } from './storage/tail-cache-budget.js';
import { type FileIo, nodeFileIo } from './storage/file-io.js';

export interface StartBrokerOptions {
  /** A fully resolved configuration (what `brook start` passes); the other options are ignored. */
  readonly config?: BrokerConfig;
  /**
   * Where the logs live. Without it (and without `config`) the broker uses a fresh temporary
   * directory and removes it on stop(): the quickest broker for a test.
   */
  readonly logDirs?: string | readonly string[];
  /** Listens on PLAINTEXT://host:port; port 0 (the default here) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Or a full listeners setting: 'PLAINTEXT://127.0.0.1:0'. */
  readonly listeners?: string;
  /** Any broker setting by Kafka name: { 'num.partitions': 4 }. */
  readonly settings?: SettingsInput;
  /**
   * Where the broker logs; silent unless given. With `config` (what `brook start` passes) and no
   * logger, the broker logs to stderr at `log.level`.
   */
  readonly logger?: ServerLogger;
  /** The file I/O every log goes through; the real one unless a test injects faults or delays. */
  readonly fileIo?: FileIo;
}

export interface Broker {
  /** host:port,host:port as clients should be given it. */
  readonly bootstrapServers: string;
  readonly listeners: ReadonlyArray<{
    readonly name: string;
    readonly host: string;
    readonly port: number;
  }>;
  /** The HTTP endpoint's bound addresses (http.listeners), named HTTP or HTTPS; empty when it is off. */
  readonly httpListeners: ReadonlyArray<{
    readonly name: string;
    readonly host: string;
    readonly port: number;
  }>;
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clusterId: string;
  /** The partitions this broker serves (for tests and tools in the same process). */
  readonly replicas: ReplicaManager;
  /** The bytes of requests in flight over all connections, and their most at once (ditto). */
  readonly requestMemory: { readonly used: number; readonly peak: number };
  /** Stops listening, finishes what is in flight, flushes and closes every log. Idempotent. */
  stop(): Promise<void>;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  let temporaryDirectory: string | null = null;
  try {
    let config = options.config;
    if (config === undefined) {
      let logDirs = options.logDirs;
      if (logDirs === undefined) {
        temporaryDirectory = await mkdtemp(join(tmpdir(), 'brook-'));
        logDirs = [temporaryDirectory];
      }
      const listeners =
        options.listeners ?? `PLAINTEXT://${options.host ?? '127.0.0.1'}:${options.port ?? 0}`;
      // Inside the try: an invalid setting must not leave the temporary directory behind.
      config = resolveBrokerConfig({
        overrides: {
          ...options.settings,
          'log.dirs': typeof logDirs === 'string' ? logDirs : logDirs.join(','),
          listeners,
        },
      });
    }
    const logger =
      options.logger ??
      (options.config ? createLogger({ level: config.logLevel as LogLevel }) : silentLogger);
    return await assemble(
      config,
      asLogger(logger),
      temporaryDirectory,
      options.fileIo ?? nodeFileIo,
    );
  } catch (error) {
    if (temporaryDirectory !== null) await rm(temporaryDirectory, { recursive: true, force: true });
    throw error;
  }
}

async function assemble(
  config: BrokerConfig,
  logger: Logger,
  temporaryDirectory: string | null,
  fileIo: FileIo,
): Promise<Broker> {
  const configLogger = componentLogger(logger, 'config');
  const clusterLogger = componentLogger(logger, 'cluster');
  // Every entry of log.dirs holds logs (storage/log-directories.ts); the metadata, the cluster
  // identity and the producer-id blocks live in the first, as Kafka's metadata.log.dir defaults.
  const logDir = config.logDirs[0];
  const metadata = await LocalMetadataStore.open(logDir, {
    clusterId: config.clusterId ?? undefined,
  });
  // Broker settings that AlterConfigs may change at run time; topic log configs derive from the
  // current ones, and every log is reconfigured when they change.
  let onBrokerConfigChange = (): void => undefined;
  // Listener settings (listener.name.*) go to the listeners once they run.
  let prepareListenerChange: (next: BrokerConfig, previous: BrokerConfig) => () => void =
    () => () =>
      undefined;
  const brokerConfigs = createBrokerConfigs({
    initial: config,
    metadata,
    warn: (message) => configLogger.warn(message),
    onChange: () => onBrokerConfigChange(),
    prepare: (next, previous) => prepareListenerChange(next, previous),
  });
  const storageConfigOf = (topic: TopicMetadata | undefined): StorageLogConfig =>
    storageLogConfig(brokerConfigs.current(), topic?.configs ?? {});

  // Metrics and the HTTP endpoint exist only when http.listeners names an address, so a broker
  // without them pays nothing on the data path. The endpoint opens before recovery, so /healthz
  // answers and /readyz says "recovering" while the logs load; the sources fill in once the
  // parts they read exist.
  const door = config.httpListeners.length > 0 ? await loadHttpDoorCode() : null;
  const observed = door === null ? null : observedParts(config.logDirs, door);
  const webConsole = door === null ? null : door.consoleApi();
  let httpDoor: HttpDoor | undefined;
  // Stored listener.name.* values (a rotated certificate) apply from the start.
  const httpsTlsContext = httpsTls(brokerConfigs.current());
  if (observed !== null) {
    httpDoor = await door!.startHttpDoor({
      listeners: config.httpListeners,
      routes: new Map([...observed.routes, ...webConsole!.routes, ...door!.consoleStaticRoutes()]),
      logger: componentLogger(logger, 'http'),
      tls: httpsTlsContext,
    });
  }
  // Every log's tail cache together, whichever directory holds the log.
  const tailCacheBudget = new TailCacheBudget(
    config.logTailCacheMaxBytes < 0 ? Number.POSITIVE_INFINITY : config.logTailCacheMaxBytes,
  );
  let logDirectories: LogDirectories;
  try {
    logDirectories = await LogDirectories.open({
      io: observed?.metrics.timedFileIo(fileIo) ?? fileIo,
      directories: config.logDirs,
      defaultConfig: storageConfigOf(undefined),
      topicConfig: (topic) => storageConfigOf(metadata.topic(topic)),
      retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
      tailCacheBudget,
      logger: componentLogger(logger, 'storage'),
    });
  } catch (error) {
    await httpDoor?.stop();
    throw error;
  }

  // Cluster mode (etcd.endpoints set): the log directory must belong to the cluster in etcd.
  const cluster = await openBrokerMembership(config, logDir, {
    onRetry: (message) => clusterLogger.warn(message),
    onWarning: (message) => clusterLogger.warn(message),
  }).catch(async (error: unknown) => {
    await logDirectories.close().catch(() => undefined);
    await httpDoor?.stop();
    throw error;
  });
  const clusterId = cluster?.store.clusterId ?? metadata.clusterId;
  // Client quotas and SCRAM credentials: the local metadata store's, or in cluster mode etcd's,
  // so a quota altered or a user created through any broker holds on all of them.
  const clientQuotas = new ClientQuotas(cluster?.userSettings ?? metadata, {
    windowCount: config.quotaWindowNum,
    windowMs: config.quotaWindowSizeSeconds * 1000,
  });
  cluster?.userSettings.onClientQuotasChange(() => clientQuotas.reload());
  // Outside cluster mode the broker is itself, at the address of the listener the client used.
  const clusterBrokers = (context?: RequestContext): BrokerNode[] =>
    cluster === null
      ? [advertisedOn(context)]
      : // Fenced (etcd session lost), this broker lists only the others (session-fenced-view.ts).
        [...cluster.view.brokers().values()].flatMap((broker) => {
          // A client is told each broker's address on the listener it came in on (Kafka omits
          // brokers without that listener).
          const endpoint = endpointOn(broker, context?.listenerName);
          return endpoint === undefined
            ? []
            : [
                {
                  nodeId: broker.brokerId,
                  host: endpoint.host,
                  port: endpoint.port,
                  rack: broker.rack,
                },
              ];
        });

  // Outside cluster mode this broker is the controller; in it, whichever broker etcd elected.
  const controllerId = (): number =>
    cluster === null ? config.nodeId : (cluster.store.controller()?.brokerId ?? -1);
  let ledHere = (_topic: string, _partition: number, _leaderEpoch: number): boolean => false;
  let nextTerm = (_topic: string, _partition: number, _timeoutMs: number): Promise<void> =>
    Promise.resolve();
  const leadership =
    cluster === null
      ? undefined
      : viewLeadership(
          // Fenced (etcd session lost), this broker leads nothing (session-fenced-view.ts).
          cluster.view,
          config.nodeId,
          (topic, partition, leaderEpoch) => ledHere(topic, partition, leaderEpoch),
          (topic, partition, timeoutMs) => nextTerm(topic, partition, timeoutMs),
          () => cluster.view.isFenced,
        );

  let topicSync: ClusterTopicSync | null = null;
  let replicaFetcher: ReplicaFetcher | null = null;
  let isrManager: IsrManager | null = null;
  let etcdAcls: EtcdAclSection | null = null;
  let advertised: BrokerNode[] = [];
  /** This broker's advertised address per listener name (the first listener's when not found). */
  let advertisedByListener = new Map<string, BrokerNode>();
  const advertisedOn = (context?: RequestContext): BrokerNode =>
    (context === undefined ? undefined : advertisedByListener.get(context.listenerName)) ??
    advertised[0];
  let server: BrookServer | undefined;
  let coordinator: GroupCoordinator | undefined;
  let transactionCoordinator: TransactionCoordinator | undefined;
  let coordinatorLeadership: CoordinatorLeadership | null = null;
  let markerSender: TransactionMarkerSender | null = null;
  let shareEngine: ShareEngine | undefined;
  let shareLeadership: CoordinatorLeadership | null = null;
  let clusterShareWriter: ClusterRecordWriter | null = null;
  let shareRemoteFetches: RemoteFetchPool | null = null;
  let pushApi: PushApi | undefined;
  let oauthBearer: ListenerOAuthBearer | null = null;
  // The audit log (audit.log.file): admin actions and authentication failures, one JSON line
  // each. Anything that decides access (the authorizer) records through this port too.
  // With audit.log.topic, lines are also produced there once the topic is open (see below).
  let auditTopicLine: ((line: string) => void) | undefined;
  let auditTopicWriter: ClusterTopicWriter | null = null;
  const auditLog =
    config.auditLogFile === null && config.auditLogTopic === null
      ? null
      : new FileAuditLog(config.auditLogFile, (line) => auditTopicLine?.(line));
  try {
    const replicas = new ReplicaManager(
      metadata,
      {
        openLog: (topic, partition, logConfig) =>
          logDirectories.createLog(topic, partition, logConfig),
        deleteLog: (topic, partition) => logDirectories.deleteLog(topic, partition),
      },
      (topic) => storageConfigOf(topic),
      () => brokerConfigs.current().producerIdExpirationMs,
      // Cluster mode: logs only for the partitions this broker is a replica of.
      cluster === null
        ? undefined
        : (topic, partition) => {
            const assignment = cluster.store.topics().get(topic);
            if (assignment === undefined) return undefined;
            return assignment.partitions[partition]?.includes(config.nodeId) ?? false;
          },
    );
    await replicas.openAll();
    if (cluster !== null) await dropLocalInternalTopics(metadata, logDirectories, logger);
    // Cluster mode: topics live in etcd; this broker mirrors them (ids, configs, its logs).
    topicSync =
      cluster === null
        ? null
        : new ClusterTopicSync(cluster.store, replicas, (message) => clusterLogger.warn(message));
    await topicSync?.start();
    const runningTopicSync = topicSync;
    const topicAdmin =
      cluster === null || runningTopicSync === null
        ? null
        : new ClusterTopicAdmin(cluster.store, () => cluster.controller, runningTopicSync);
    // Topic configs in cluster mode live in etcd (the internal topics' too, once created); a topic
    // the view does not hold is altered here as on one broker.
    const setTopicConfigs =
      topicAdmin === null || cluster === null
        ? undefined
        : async (name: string, configs: Record<string, string>) => {
            if (cluster.store.topics().has(name)) await topicAdmin.setTopicConfigs(name, configs);
            else await replicas.setTopicConfigs(name, configs);
          };
    // The coordinators' internal topics: local to this broker on its own; in cluster mode topics
    // of the cluster like any other, led and replicated as the view says.
    let offsetsTopic: InternalTopicStorage | ReplicatedInternalTopic;
    // Cluster mode with a share door: __share_group_state, a topic of the cluster (below).
    let clusterShareStateTopic: ReplicatedInternalTopic | null = null;
    let transactionStateTopic: InternalTopicStorage | ReplicatedInternalTopic;
    const internalTopics: InternalTopicStorage[] = [];
    const localInternalTopicPorts: InternalTopicPorts = {
      metadata,
      existingLog: (topic, partition) => logDirectories.getLog(topic, partition),
      createLog: (topic, partition, logConfig) =>
        logDirectories.createLog(topic, partition, logConfig),
      logConfig: (topic) => storageConfigOf(topic),
    };
    if (cluster === null || topicAdmin === null || runningTopicSync === null) {
      const localOffsetsTopic = await openInternalTopic(localInternalTopicPorts, {
        name: OFFSETS_TOPIC_NAME,
        partitionCount: config.offsetsTopicNumPartitions,
        segmentBytes: config.offsetsTopicSegmentBytes,
      });
      const localTransactionStateTopic = await openInternalTopic(localInternalTopicPorts, {
        name: TRANSACTION_STATE_TOPIC_NAME,
        partitionCount: config.transactionStateLogNumPartitions,
        segmentBytes: config.offsetsTopicSegmentBytes,
      });
      offsetsTopic = localOffsetsTopic;
      transactionStateTopic = localTransactionStateTopic;
      internalTopics.push(localOffsetsTopic, localTransactionStateTopic);
    } else {
      const replicatedPorts = {
        view: cluster.view,
        brokerId: config.nodeId,
        partition: (topic: string, index: number) => replicas.partition(topic, index),
        ledHere: (topic: string, index: number, leaderEpoch: number) =>
          ledHere(topic, index, leaderEpoch),
        whenMirrored: async (topic: string) => {
          await runningTopicSync.whenApplied(topic, (assignment) => assignment !== undefined);
        },
        createTopic: async (spec: {
          name: string;
          partitionCount: number;
          replicationFactor: number;
          configs: Record<string, string>;
        }) => {
          await topicAdmin.createTopic(spec);
        },
        minInsyncReplicas: (topic: string) =>
          Number(
            cluster.store.topics().get(topic)?.configs['min.insync.replicas'] ??
              config.minInsyncReplicas,
          ),
        onWarning: (message: string) => logger.warn(message),
      };
      const compacted = {
        'cleanup.policy': 'compact',
        'segment.bytes': String(config.offsetsTopicSegmentBytes),
      };
      offsetsTopic = openReplicatedInternalTopic(replicatedPorts, {
        name: OFFSETS_TOPIC_NAME,
        partitionCount: config.offsetsTopicNumPartitions,
        replicationFactor: config.offsetsTopicReplicationFactor,
        configs: compacted,
        replicationTimeoutMs: config.offsetsCommitTimeoutMs,
      });
      transactionStateTopic = openReplicatedInternalTopic(replicatedPorts, {
        name: TRANSACTION_STATE_TOPIC_NAME,
        partitionCount: config.transactionStateLogNumPartitions,
        replicationFactor: config.transactionStateLogReplicationFactor,
        configs: {
          ...compacted,
          'min.insync.replicas': String(cluster.settings.transactionStateLogMinIsr),
        },
        replicationTimeoutMs: config.offsetsCommitTimeoutMs,
      });
      // Shared subscriptions in cluster mode (the HTTP door, KIP-932 share groups): each is
      // served by the leader of its __share_group_state partition (a share group's: the one its
      // id hashes to), which replicates like __consumer_offsets.
      if (httpDoor !== undefined || config.groupShareEnable) {
        clusterShareStateTopic = openReplicatedInternalTopic(replicatedPorts, {
          name: SHARE_STATE_TOPIC_NAME,
          partitionCount: config.shareStateTopicNumPartitions,
          replicationFactor: config.offsetsTopicReplicationFactor,
          configs: compacted,
          replicationTimeoutMs: config.offsetsCommitTimeoutMs,
        });
      }
    }
    // Shared subscriptions (push delivery, issue 12): only with one of their doors, the HTTP
    // door or KIP-932 share groups (group.share.enable). Cluster mode: above.
    const shareStateTopic =
      (httpDoor === undefined && !config.groupShareEnable) || cluster !== null
        ? null
        : await openInternalTopic(localInternalTopicPorts, {
            name: SHARE_STATE_TOPIC_NAME,
            partitionCount: config.shareStateTopicNumPartitions,
            segmentBytes: config.offsetsTopicSegmentBytes,
          });
    if (shareStateTopic !== null) internalTopics.push(shareStateTopic);
    for (const topic of internalTopics) replicas.registerInternalTopic(topic);
    onBrokerConfigChange = () => {
      replicas.reconfigureAll();
      for (const topic of internalTopics) topic.reconfigure();
    };
    // Producer state (idempotence, open transactions) is recovered before any request is served.
    await Promise.all(
      replicas.topics().flatMap((topic) => topic.partitions.map((partition) => partition.ready)),
    );

    // Cluster mode: lead or follow each partition as the view says (replica-fetcher.ts); the
    // mirror's passes open new logs, which the fetcher then applies the view to.
    if (cluster !== null && runningTopicSync !== null) {
      const fetcher = new ReplicaFetcher({
        brokerId: config.nodeId,
        view: cluster.store,
        replicas,
        connector: interBrokerConnector(cluster.store, interBrokerSettings(config)),
        log: (message, error) =>
          componentLogger(logger, 'replication').warn(message, { error: String(error) }),
      });
      replicaFetcher = fetcher;
      await fetcher.start();
      runningTopicSync.onApplied(() => void fetcher.refresh());
      // Where this broker leads, it shrinks and expands the ISR in etcd (isr-manager.ts).
      isrManager = new IsrManager({
        brokerId: config.nodeId,
        view: cluster.view,
        writePartitionState: (topic, partition, expectedPartitionEpoch, next) =>
          cluster.store.updatePartitionState(topic, partition, expectedPartitionEpoch, next, null),
        partition: (topic, partition) => replicas.partition(topic, partition),
        replicaLagTimeMaxMs: cluster.settings.replicaLagTimeMaxMs,
        log: (message, error) =>
          componentLogger(logger, 'replication').warn(message, { error: String(error) }),
      });
      isrManager.start();
    }
    const runningReplicaFetcher = replicaFetcher;
    const runningIsrManager = isrManager;
    ledHere = (topic, partitionIndex, leaderEpoch) => {
      const partition = replicas.partition(topic, partitionIndex);
      return partition?.replicaState != null && partition.leaderEpoch === leaderEpoch;
    };
    nextTerm = (topic, partitionIndex, timeoutMs) =>
      replicas.partition(topic, partitionIndex)?.nextTerm(timeoutMs) ?? Promise.resolve();
    // Fenced from etcd, this broker leads a partition while its in-sync followers still fetch
    // from it at its epoch, or while nobody else could be elected (session-fenced-view.ts).
    cluster?.view.useFencedLeadership((topic, partitionIndex, leaderEpoch) => {
      const partition = replicas.partition(topic, partitionIndex);
      const replicaState = partition?.replicaState;
      if (partition === undefined || replicaState == null || partition.leaderEpoch !== leaderEpoch)
        return false;
      const confirmation = replicaState.leadershipConfirmation(FENCED_LEADERSHIP_CONFIRM_WINDOW_MS);
      if (confirmation === 'alone') {
        const unclean = cluster.store.topics().get(topic)?.configs[
          'unclean.leader.election.enable'
        ];
        return !(unclean === undefined
          ? cluster.settings.uncleanLeaderElectionEnable
          : unclean === 'true');
      }
      return confirmation === 'confirmed';
    });

    const node = (): BrokerNode => advertised[0];

    coordinator = new GroupCoordinator(
      {
        offsetsTopic,
        partitions: {
          logEndOffset: (topic, partition) => replicas.partition(topic, partition)?.highWatermark,
          logStartOffset: (topic, partition) =>
            replicas.partition(topic, partition)?.logStartOffset,
          // Cluster mode: a partition this broker holds no replica of still takes commits.
          exists:
            cluster === null
              ? undefined
              : (topic, partition) =>
                  (cluster.store.topics().get(topic)?.partitions.length ?? 0) > partition,
        },
        node,
        logger: componentLogger(logger, 'group'),
        // One group id, one type: a share group's id is not a classic group's.
        otherGroupType: (groupId) => (shareGroups?.has(groupId) === true ? 'share' : undefined),
      },
      {
        groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        groupMinSessionTimeoutMs: config.groupMinSessionTimeoutMs,
        groupMaxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
        groupMaxSize: config.groupMaxSize,
        offsetsRetentionMs: config.offsetsRetentionMs,
        offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
        offsetsCommitTimeoutMs: config.offsetsCommitTimeoutMs,
      },
    );
    await coordinator.start();
    const groupCoordinator = coordinator;
    const groupCoordinatorForDeletes = coordinator;
    replicas.onTopicDeleted((topic) => groupCoordinatorForDeletes.deleteOffsetsOfTopics([topic]));
    if (observed !== null) replicas.onTopicDeleted((topic) => observed.metrics.topicDeleted(topic));

    const storageQuotas = new StorageQuotas(
      parseStorageQuotas(config.storageQuotaTopicPrefixes ?? ''),
      {
        *topicSizes() {
          for (const topic of replicas.topics()) {
            let sizeBytes = 0;
            for (const partition of topic.partitions) sizeBytes += partition?.log.sizeInBytes ?? 0;
            yield { topic: topic.metadata.name, sizeBytes };
          }
        },
      },
    );
    const minInsyncReplicasOf = (topic: string): number =>
      Number(
        replicas.topic(topic)?.metadata.configs['min.insync.replicas'] ?? config.minInsyncReplicas,
      );
    const registry = new HandlerRegistry();
    // KIP-932 share groups, the engine's Kafka door: listed in ApiVersions only when enabled;
    // ListGroups and DeleteGroups see its groups too.
    const shareGroups =
      (shareStateTopic === null && clusterShareStateTopic === null) || !config.groupShareEnable
        ? null
        : new (await import('./share/kafka/share-groups.js')).ShareGroups({
            engine: () => shareEngine,
            replicas,
            sessionTimeoutMs: config.groupShareSessionTimeoutMs,
            heartbeatIntervalMs: config.groupShareHeartbeatIntervalMs,
            lockDurationMs: config.shareRecordLockDurationMs,
            otherGroupType: (groupId) => coordinator?.groupType(groupId),
          });
    // Cluster mode: a share group's requests that reach another broker than its owner go there
    // (ShareFetch, ShareAcknowledge; at the id's classic coordinator, its other requests).
    const runningShareForwarder =
      shareGroups === null || cluster === null
        ? undefined
        : (await import('./share/kafka/share-forwarder.js')).shareForwarder(
            interBrokerConnector(cluster.store, interBrokerSettings(config)),
          );
    const shareGroupRoute = (groups: ShareGroups): CoordinatorRoute => ({
      servedElsewhere: (groupId) => groups.servedElsewhere(groupId),
      isClassicCoordinator: (groupId) =>
        coordinator?.findCoordinator(0, groupId).node?.nodeId === config.nodeId,
    });
    registry
      .register(
        deferHandler(ApiKey.Produce, async () =>
          (await import('./handlers/produce.js')).createProduceHandler({
            replicas,
            traffic: observed?.metrics,
            leadership,
            storageQuotaRefusal: (topic, bytes) => storageQuotas.refusal(topic, bytes),
            minInsyncReplicasOf,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.Fetch, async () =>
          (await import('./handlers/fetch.js')).createFetchHandler({
            replicas,
            // Asked on Fetch below v10 only (kafka-python polls with v4): cheap, no config parsing.
            compressionTypeOf: (topic) =>
              topic.configs['compression.type'] ??
              String(brokerConfigs.current().settings.get('compression.type')?.value ?? 'producer'),
            log: (message, error) =>
              componentLogger(logger, 'fetch').error(message, { error: String(error) }),
            traffic: observed?.metrics,
            leadership,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.ListOffsets, async () =>
          (await import('./handlers/list-offsets.js')).createListOffsetsHandler({
            replicas,
            leadership,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.Metadata, async () =>
          (await import('./handlers/metadata.js')).createMetadataHandler({
            replicas,
            clusterId,
            brokers: clusterBrokers,
            nodeId: config.nodeId,
            controllerId,
            cluster:
              cluster === null || topicAdmin === null
                ? undefined
                : {
                    view: cluster.view,
                    fenced: () => cluster.view.isFenced,
                    createTopic: async (name, partitionCount) => {
                      await topicAdmin.createTopic({
                        name,
                        partitionCount,
                        replicationFactor: brokerConfigs.current().defaultReplicationFactor,
                      });
                    },
                  },
            autoCreateTopicsEnable: () => brokerConfigs.current().autoCreateTopicsEnable,
            numPartitions: () => brokerConfigs.current().numPartitions,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.JoinGroup, async () =>
          (await import('./handlers/join-group.js')).createJoinGroupHandler(groupCoordinator),
        ),
      )
      .register(
        deferHandler(ApiKey.SyncGroup, async () =>
          (await import('./handlers/sync-group.js')).createSyncGroupHandler(groupCoordinator),
        ),
      )
      .register(
        deferHandler(ApiKey.Heartbeat, async () =>
          (await import('./handlers/heartbeat.js')).createHeartbeatHandler(groupCoordinator),
        ),
      )
      .register(
        deferHandler(ApiKey.LeaveGroup, async () =>
          (await import('./handlers/leave-group.js')).createLeaveGroupHandler(groupCoordinator),
        ),
      )
      .register(
        deferHandler(ApiKey.OffsetCommit, async () =>
          (await import('./handlers/offset-commit.js')).createOffsetCommitHandler(groupCoordinator),
        ),
      )
      .register(
        deferHandler(ApiKey.OffsetFetch, async () =>
          (await import('./handlers/offset-fetch.js')).createOffsetFetchHandler(groupCoordinator),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeGroups, async () =>
          (await import('./handlers/describe-groups.js')).createDescribeGroupsHandler(
            groupCoordinator,
            shareGroups,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.ListGroups, async () =>
          (await import('./handlers/list-groups.js')).createListGroupsHandler(
            groupCoordinator,
            shareGroups,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.DeleteGroups, async () =>
          shareGroups === null || runningShareForwarder === undefined
            ? (await import('./handlers/delete-groups.js')).createDeleteGroupsHandler(
                groupCoordinator,
                shareGroups,
              )
            : (await import('./share/kafka/share-forwarder.js')).deleteGroupsViaOwners(
                (await import('./handlers/delete-groups.js')).createDeleteGroupsHandler(
                  groupCoordinator,
                  shareGroups,
                ),
                shareGroupRoute(shareGroups),
                runningShareForwarder,
              ),
        ),
      )
      .register(
        deferHandler(ApiKey.OffsetDelete, async () =>
          (await import('./handlers/offset-delete.js')).createOffsetDeleteHandler(groupCoordinator),
        ),
      )
      .register(
        deferHandler(ApiKey.CreateTopics, async () =>
          (await import('./handlers/create-topics.js')).createCreateTopicsHandler({
            replicas,
            brokerConfigs,
            cluster:
              cluster === null || topicAdmin === null
                ? undefined
                : {
                    liveBrokerCount: () => cluster.store.brokers().size,
                    createTopic: async (spec) =>
                      (
                        await topicAdmin.createTopic(
                          spec.assignment === undefined
                            ? spec
                            : {
                                name: spec.name,
                                assignment: spec.assignment,
                                configs: spec.configs,
                              },
                        )
                      ).topicId,
                  },
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.DeleteTopics, async () =>
          (await import('./handlers/delete-topics.js')).createDeleteTopicsHandler({
            replicas,
            deleteTopicEnable: () => brokerConfigs.current().deleteTopicEnable,
            clusterDeleteTopic:
              topicAdmin === null ? undefined : (name) => topicAdmin.deleteTopic(name),
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.CreatePartitions, async () =>
          (await import('./handlers/create-partitions.js')).createCreatePartitionsHandler({
            replicas,
            nodeId: config.nodeId,
            clusterAddPartitions:
              topicAdmin === null
                ? undefined
                : (name, partitionCount, assignment) =>
                    topicAdmin.addPartitions(name, partitionCount, assignment),
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.DeleteRecords, async () =>
          (await import('./handlers/delete-records.js')).createDeleteRecordsHandler({
            replicas,
            leadership,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.OffsetForLeaderEpoch, async () =>
          (await import('./handlers/offset-for-leader-epoch.js')).createOffsetForLeaderEpochHandler(
            { replicas, leadership },
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeConfigs, async () =>
          (await import('./handlers/describe-configs.js')).createDescribeConfigsHandler({
            replicas,
            brokerConfigs,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.AlterConfigs, async () =>
          (await import('./handlers/alter-configs.js')).createAlterConfigsHandler({
            replicas,
            brokerConfigs,
            clusterSetTopicConfigs: setTopicConfigs,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.IncrementalAlterConfigs, async () =>
          (
            await import('./handlers/incremental-alter-configs.js')
          ).createIncrementalAlterConfigsHandler({
            replicas,
            brokerConfigs,
            clusterSetTopicConfigs: setTopicConfigs,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeCluster, async () =>
          (await import('./handlers/describe-cluster.js')).createDescribeClusterHandler({
            clusterId,
            controllerId,
            brokers: clusterBrokers,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeLogDirs, async () =>
          (await import('./handlers/describe-log-dirs.js')).createDescribeLogDirsHandler({
            replicas,
            logDirectories,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.ElectLeaders, async () =>
          (await import('./handlers/elect-leaders.js')).createElectLeadersHandler({
            replicas,
            electLeaders:
              topicAdmin === null
                ? undefined
                : (type, partitions) => topicAdmin.electLeaders(type, partitions),
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.AlterPartitionReassignments, async () =>
          (
            await import('./handlers/alter-partition-reassignments.js')
          ).createAlterPartitionReassignmentsHandler({
            replicas,
            nodeId: config.nodeId,
            alterReassignment:
              topicAdmin === null
                ? undefined
                : (topic, partition, target) =>
                    topicAdmin.alterReassignment(topic, partition, target),
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.ListPartitionReassignments, async () =>
          (
            await import('./handlers/list-partition-reassignments.js')
          ).createListPartitionReassignmentsHandler({ cluster: cluster?.store ?? undefined }),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeClientQuotas, async () =>
          (await import('./handlers/describe-client-quotas.js')).createDescribeClientQuotasHandler(
            clientQuotas,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.AlterClientQuotas, async () =>
          (await import('./handlers/alter-client-quotas.js')).createAlterClientQuotasHandler(
            clientQuotas,
          ),
        ),
      );
    // Transactions and idempotent producers (issue 5).
    // Cluster mode: a partition this broker holds no replica of is in a transaction all the same.
    const partitionExists = (topic: string, partition: number): boolean =>
      cluster === null
        ? replicas.partition(topic, partition) !== undefined
        : (cluster.store.topics().get(topic)?.partitions.length ?? 0) > partition;
    // Markers are appended by each partition's leader, as a produce with acks=all; in cluster
    // mode the coordinator sends them there (marker-sender.ts), on one broker it appends them.
    const markerAppendPorts: MarkerAppendPorts = {
      replicas,
      leadership,
      minInsyncReplicasOf,
      replicationTimeoutMs: config.requestTimeoutMs,
      // A transaction's marker into a group's offsets partition settles the offsets it wrote
      // there (TxnOffsetCommit), so the group coordinator appends it.
      appendCoordinatorMarker: (topic, partition, batch) => {
        if (topic !== OFFSETS_TOPIC_NAME) return undefined;
        const marker = transactionMarkerOf(batch);
        if (marker === null) return Promise.resolve(ErrorCode.INVALID_RECORD);
        return groupCoordinator.appendTransactionMarker(partition, batch, marker);
      },
    };
    markerSender =
      cluster === null
        ? null
        : new TransactionMarkerSender({
            brokerId: config.nodeId,
            view: cluster.view,
            connector: interBrokerConnector(cluster.store, interBrokerSettings(config)),
            appendLocally: (topic, partition, batch) =>
              appendMarkerAsLeader(markerAppendPorts, topic, partition, batch),
            requestTimeoutMs: config.requestTimeoutMs,
            log: (message) => componentLogger(logger, 'transactions').warn(message),
          });
    const runningMarkerSender = markerSender;
    transactionCoordinator = new TransactionCoordinator(
      {
        stateTopic: transactionStateTopic,
        producerIds: new ProducerIdManager(
          cluster === null
            ? fileProducerIdBlocks(nodeFileIo, logDir)
            : (size) => cluster.store.claimProducerIdBlock(size),
        ),
        // The group's offsets partition joins a transaction too (AddOffsetsToTxn), though no
        // client may name it: it is internal.
        partitionExists: (topic, partition) =>
          topic === OFFSETS_TOPIC_NAME
            ? partition >= 0 && partition < offsetsTopic.partitionCount
            : partitionExists(topic, partition),
        writeMarkers: (markers, signal) =>
          runningMarkerSender === null
            ? writeMarkersLocally(markerAppendPorts, markers)
            : runningMarkerSender.write(markers, signal),
        coordinatorEpoch:
          cluster === null
            ? undefined
            : (partition) =>
                cluster.store.partitionState(TRANSACTION_STATE_TOPIC_NAME, partition)
                  ?.leaderEpoch ?? 0,
        offsetsPartitionOf: (groupId) => ({
          topic: OFFSETS_TOPIC_NAME,
          partition: groupCoordinator.partitionFor(groupId),
        }),
        commitOffsets: (groupId, offsets) =>
          groupCoordinator.commitOffsetsHeldByTransaction(groupId, offsets),
        node,
      },
      {
        transactionMaxTimeoutMs: config.transactionMaxTimeoutMs,
        abortTimedOutTransactionCleanupIntervalMs:
          config.transactionAbortTimedOutTransactionCleanupIntervalMs,
        get transactionalIdExpirationMs() {
          return brokerConfigs.current().transactionalIdExpirationMs;
        },
        removeExpiredTransactionalIdsIntervalMs:
          config.transactionRemoveExpiredTransactionCleanupIntervalMs,
        transactionMarkersTimeoutMs: config.transactionMarkersTimeoutMs,
      },
    );
    await transactionCoordinator.start();
    const runningTransactionCoordinator = transactionCoordinator;
    // Cluster mode: each coordinator loads the partitions this broker comes to lead and unloads
    // those it stops leading.
    const runningTransactionCoordinatorForLeadership = transactionCoordinator;
    // FindCoordinator key type 2: the broker serving a share group, the leader of the group's
    // __share_group_state partition (this broker on its own).
    const shareCoordinatorOf = (groupId: string): FindCoordinatorResult => {
      const engine = shareEngine;
      const stateTopic = clusterShareStateTopic;
      const found =
        engine === undefined
          ? undefined
          : stateTopic === null
            ? node()
            : stateTopic.leaderOf(engine.shareGroupStatePartition(groupId));
      if (found === undefined)
        return {
          key: groupId,
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          errorMessage: `share group ${groupId} has no coordinator yet`,
          node: null,
        };
      return { key: groupId, errorCode: ErrorCode.NONE, errorMessage: null, node: found };
    };
    coordinatorLeadership =
      cluster === null
        ? null
        : new CoordinatorLeadership(
            cluster.view,
            config.nodeId,
            [
              {
                topic: OFFSETS_TOPIC_NAME,
                loadPartition: (partition) => groupCoordinator.loadPartition(partition),
                unloadPartition: (partition) => groupCoordinator.unloadPartition(partition),
              },
              {
                topic: TRANSACTION_STATE_TOPIC_NAME,
                loadPartition: (partition) =>
                  runningTransactionCoordinatorForLeadership.loadPartition(partition),
                unloadPartition: (partition) =>
                  runningTransactionCoordinatorForLeadership.unloadPartition(partition),
              },
            ],
            (message) => logger.warn(message),
          );
    coordinatorLeadership?.start();
    registry
      .register(
        deferHandler(ApiKey.FindCoordinator, async () =>
          (await import('./handlers/find-coordinator.js')).createFindCoordinatorHandler(
            groupCoordinator,
            (context, nodeId) =>
              nodeId === config.nodeId
                ? advertisedOn(context)
                : clusterBrokers(context).find((broker) => broker.nodeId === nodeId),
            runningTransactionCoordinator,
            shareGroups === null ? undefined : (groupId) => shareCoordinatorOf(groupId),
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.InitProducerId, async () =>
          (await import('./handlers/init-producer-id.js')).createInitProducerIdHandler(
            runningTransactionCoordinator,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.AddPartitionsToTxn, async () =>
          (await import('./handlers/add-partitions-to-txn.js')).createAddPartitionsToTxnHandler(
            runningTransactionCoordinator,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.AddOffsetsToTxn, async () =>
          (await import('./handlers/add-offsets-to-txn.js')).createAddOffsetsToTxnHandler(
            runningTransactionCoordinator,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.EndTxn, async () =>
          (await import('./handlers/end-txn.js')).createEndTxnHandler(
            runningTransactionCoordinator,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.TxnOffsetCommit, async () =>
          (await import('./handlers/txn-offset-commit.js')).createTxnOffsetCommitHandler({
            partitionExists,
            commitTransactionalOffsets: (params) =>
              groupCoordinator.commitTransactionalOffsets(params),
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeProducers, async () =>
          (await import('./handlers/describe-producers.js')).createDescribeProducersHandler({
            replicas,
          }),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeTransactions, async () =>
          (await import('./handlers/describe-transactions.js')).createDescribeTransactionsHandler(
            runningTransactionCoordinator,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.ListTransactions, async () =>
          (await import('./handlers/list-transactions.js')).createListTransactionsHandler(
            runningTransactionCoordinator,
          ),
        ),
      )
      .register(
        deferHandler(ApiKey.WriteTxnMarkers, async () =>
          (await import('./handlers/write-txn-markers.js')).createWriteTxnMarkersHandler(
            markerAppendPorts,
          ),
        ),
      );
    const credentials = new LocalCredentialStore(cluster?.userSettings ?? metadata);
    registry
      .register(
        deferHandler(ApiKey.SaslHandshake, async () =>
          (await import('./handlers/sasl-handshake.js')).createSaslHandshakeHandler(),
        ),
      )
      .register(
        deferHandler(ApiKey.SaslAuthenticate, async () =>
          (await import('./handlers/sasl-authenticate.js')).createSaslAuthenticateHandler(),
        ),
      )
      .register(
        deferHandler(ApiKey.DescribeUserScramCredentials, async () =>
          (
            await import('./handlers/describe-user-scram-credentials.js')
          ).createDescribeUserScramCredentialsHandler(credentials),
        ),
      )
      .register(
        deferHandler(ApiKey.AlterUserScramCredentials, async () =>
          (
            await import('./handlers/alter-user-scram-credentials.js')
          ).createAlterUserScramCredentialsHandler(credentials),
        ),
      );
    // ACLs (authorizer.enabled): in the local metadata document, or in etcd in cluster mode.
    let aclStore: AclStore | null = null;
    if (config.authorizerEnabled) {
      if (cluster !== null) {
        etcdAcls = await EtcdAclSection.open(cluster.client, cluster.settings.etcdPrefix);
      }
      aclStore = new LocalAclStore(etcdAcls ?? metadata);
    }
    registry
      .register(
        deferHandler(ApiKey.DescribeAcls, async () =>
          (await import('./handlers/describe-acls.js')).createDescribeAclsHandler(aclStore),
        ),
      )
      .register(
        deferHandler(ApiKey.CreateAcls, async () =>
          (await import('./handlers/create-acls.js')).createCreateAclsHandler(aclStore),
        ),
      )
      .register(
        deferHandler(ApiKey.DeleteAcls, async () =>
          (await import('./handlers/delete-acls.js')).createDeleteAclsHandler(aclStore),
        ),
      );
    if (shareGroups !== null) {
      const [
        { createShareGroupHeartbeatHandler },
        { createShareGroupDescribeHandler },
        { createShareFetchHandler },
        { createShareAcknowledgeHandler },
        { createDescribeShareGroupOffsetsHandler },
        { createAlterShareGroupOffsetsHandler },
        { createDeleteShareGroupOffsetsHandler },
        { viaClassicCoordinator },
      ] = await Promise.all([
        import('./share/kafka/share-group-heartbeat.js'),
        import('./share/kafka/share-group-describe.js'),
        import('./share/kafka/share-fetch.js'),
        import('./share/kafka/share-acknowledge.js'),
        import('./share/kafka/describe-share-group-offsets.js'),
        import('./share/kafka/alter-share-group-offsets.js'),
        import('./share/kafka/delete-share-group-offsets.js'),
        import('./share/kafka/share-forwarder.js'),
      ]);
      // Kafka clients send a share group's coordinator requests to the id's classic coordinator
      // (FindCoordinator key type 0): that broker passes them on to the group's owner.
      const runningShareGroups = shareGroups;
      const viaCoordinator = <K extends ApiKey>(
        handler: ApiHandler<K>,
        groupIdsOf: (request: RequestOf<K>) => readonly string[],
      ): ApiHandler<K> =>
        runningShareForwarder === undefined
          ? handler
          : viaClassicCoordinator(
              handler,
              groupIdsOf,
              shareGroupRoute(runningShareGroups),
              runningShareForwarder,
            );
      registry
        .register(
          viaCoordinator(createShareGroupHeartbeatHandler(shareGroups), (request) => [
            request.groupId,
          ]),
        )
        .register(
          viaCoordinator(
            createShareGroupDescribeHandler(shareGroups, replicas),
            (request) => request.groupIds,
          ),
        )
        .register(createShareFetchHandler(shareGroups, config.nodeId, runningShareForwarder))
        .register(createShareAcknowledgeHandler(shareGroups, config.nodeId, runningShareForwarder))
        .register(
          viaCoordinator(createDescribeShareGroupOffsetsHandler(shareGroups, replicas), (request) =>
            request.groups.map((group) => group.groupId),
          ),
        )
        .register(
          viaCoordinator(createAlterShareGroupOffsetsHandler(shareGroups), (request) => [
            request.groupId,
          ]),
        )
        .register(
          viaCoordinator(createDeleteShareGroupOffsetsHandler(shareGroups), (request) => [
            request.groupId,
          ]),
        );
    }
    registry.register(createApiVersionsHandler(registry));
    const authorizer =
      aclStore === null
        ? null
        : new Authorizer(
            {
              superUsers: parseSuperUsers(config.superUsers),
              allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
            },
            aclStore,
          );
    // The HTTP side (push API, console) checks the same ACLs, for callers authenticated with
    // HTTP Basic against the same credentials.
    const access: HttpAccess | null =
      door === null
        ? null
        : authorizer === null
          ? door.openHttpAccess
          : door.httpAccess(credentials, authorizer, auditLog ?? undefined);
    if (access !== null) httpDoor?.useAccess(access);
    const authorizedHandlers =
      authorizer === null
        ? registry
        : (await import('./handlers/shared/authorization.js')).authorizedRegistry(registry, {
            authorizer,
            topicNameById: (topicId) => replicas.topicById(topicId)?.metadata.name,
            topicExists: (name) => replicas.topic(name) !== undefined,
          });
    // The one way admin actions are audited: the audit log when it is on, the operations log's
    // topic and config changes always (security/audit-log.ts); the console calls it too.
    const auditor = new AuditRequests(auditLog, componentLogger(logger, 'admin'));

    let shareWriter: RecordWriterPorts = localRecordWriter(replicas);
    if (shareStateTopic !== null) {
      const log = (message: string, error: unknown): void =>
        logger.error(message, { error: error instanceof Error ? error.message : String(error) });
      const { ShareEngine } = await import('./share/share-engine.js');
      shareEngine = new ShareEngine(shareStateTopic, replicas, {
        shareRecordLockDurationMs: config.shareRecordLockDurationMs,
        shareDeliveryCountLimit: config.shareDeliveryCountLimit,
        sharePartitionMaxRecordLocks: config.sharePartitionMaxRecordLocks,
        log,
      });
      await shareEngine.start();
    } else if (clusterShareStateTopic !== null && cluster !== null && topicAdmin !== null) {
      // Cluster mode: the engine serves the subscriptions of the state partitions this broker
      // leads, loading and unloading them as the view moves (as the coordinators do).
      const log = (message: string, error: unknown): void =>
        logger.error(message, { error: error instanceof Error ? error.message : String(error) });
      const stateTopic = clusterShareStateTopic;
      const [
        { ShareEngine },
        { clusterRecordWriter },
        { RemoteSourcePartition },
        { RemoteFetchPool },
      ] = await Promise.all([
        import('./share/share-engine.js'),
        import('./share/cluster-record-writer.js'),
        import('./share/remote-source-partition.js'),
        import('./share/remote-fetch-pool.js'),
      ]);
      const shareConnector = interBrokerConnector(cluster.store, interBrokerSettings(config));
      const producerIds = transactionCoordinator;
      clusterShareWriter = clusterRecordWriter({
        brokerId: config.nodeId,
        view: cluster.view,
        replicas,
        connector: shareConnector,
        minInsyncReplicasOf: (topic) =>
          Number(
            cluster.store.topics().get(topic)?.configs['min.insync.replicas'] ??
              config.minInsyncReplicas,
          ),
        createTopic: async (name) => {
          await topicAdmin.createTopic({ name, partitionCount: 1 });
        },
        requestTimeoutMs: config.requestTimeoutMs,
        // As an idempotent producer's InitProducerId: an id of the cluster-wide blocks in etcd.
        initProducerId: async () => {
          const answer = await producerIds.initProducerId({
            transactionalId: null,
            transactionTimeoutMs: 0,
            producerId: -1,
            producerEpoch: -1,
          });
          if (answer.errorCode !== ErrorCode.NONE)
            throw new Error(`InitProducerId answered ${errorName(answer.errorCode)}`);
          return { producerId: answer.producerId, producerEpoch: answer.producerEpoch };
        },
      });
      shareWriter = clusterShareWriter;
      const remoteFetches = new RemoteFetchPool({
        brokerId: config.nodeId,
        view: cluster.view,
        connector: shareConnector,
      });
      shareRemoteFetches = remoteFetches;
      const engine = new ShareEngine(stateTopic, replicas, {
        shareRecordLockDurationMs: config.shareRecordLockDurationMs,
        shareDeliveryCountLimit: config.shareDeliveryCountLimit,
        sharePartitionMaxRecordLocks: config.sharePartitionMaxRecordLocks,
        log,
        brokerId: config.nodeId,
        ownerOf: (index) => stateTopic.leaderOf(index)?.nodeId,
        writer: clusterShareWriter,
        remoteSource: (topic, partitionIndex) =>
          new RemoteSourcePartition({ topic, partitionIndex, fetches: remoteFetches }),
      });
      shareEngine = engine;
      shareLeadership = new CoordinatorLeadership(
        cluster.view,
        config.nodeId,
        [
          {
            topic: SHARE_STATE_TOPIC_NAME,
            loadPartition: (partition) => engine.loadPartition(partition),
            unloadPartition: (partition) => engine.unloadPartition(partition),
          },
        ],
        (message) => logger.warn(message),
      );
      // The topic is asked for by the first request for a subscription (ownerOf), so a cluster
      // whose HTTP door serves only metrics replicates no share state.
      shareLeadership.start();
    }
    if (shareEngine !== undefined && shareGroups !== null) {
      // A share group whose state partition moved away takes its members and sessions with it.
      const runningShareGroups = shareGroups;
      shareEngine.onSubscriptionClosed((name) => runningShareGroups.subscriptionClosed(name));
    }
    if (shareEngine !== undefined && httpDoor !== undefined) {
      const log = (message: string, error: unknown): void =>
        logger.error(message, { error: error instanceof Error ? error.message : String(error) });
      const view = cluster?.view;
      const httpListenerOf =
        view === undefined
          ? undefined
          : (brokerId: number, secure: boolean): string | undefined => {
              const broker = view.brokers().get(brokerId);
              const endpoint =
                broker === undefined
                  ? undefined
                  : endpointOn(broker, secure ? HTTPS_DOOR_LISTENER : HTTP_DOOR_LISTENER);
              if (endpoint === undefined || endpoint === broker) return undefined;
              return `${secure ? 'https' : 'http'}://${formatHostPort(endpoint.host, endpoint.port)}`;
            };
      const engine = shareEngine;
      pushApi = door!.createPushApi({
        engine,
        writer: shareWriter,
        log,
        access: access!,
        httpListenerOf,
        clusterSubscriptions:
          view === undefined || httpListenerOf === undefined
            ? undefined
            : {
                brokerId: config.nodeId,
                servesStatePartition: (index) => engine.servesStatePartition(index),
                // Read from the view, so listing never creates __share_group_state; before it
                // exists no subscription does either.
                statePartitionLeaders: () => {
                  const assignment = view.topics().get(SHARE_STATE_TOPIC_NAME);
                  return (assignment?.partitions ?? []).map((_, index) => {
                    const leader = view.partitionState(SHARE_STATE_TOPIC_NAME, index)?.leader;
                    return leader === undefined || leader === NO_LEADER ? undefined : leader;
                  });
                },
                httpListenerOf,
                peerTls: () => {
                  const tls = httpsTlsContext?.serverOptions;
                  return (
                    tls && { ca: tls.ca, cert: tls.cert, key: tls.key, passphrase: tls.passphrase }
                  );
                },
                peerTimeoutMs: Math.min(config.requestTimeoutMs, door!.peerListTimeoutMs),
              },
      });
      const runningPushApi = pushApi;
      httpDoor.mount(
        '/v1/',
        (request, response, url, caller) => runningPushApi.handle(request, response, url, caller),
        (request, socket, head, url, caller) =>
          runningPushApi.upgrade(request, socket, head, url, caller),
      );
    }

    if (config.auditLogTopic !== null) {
      const auditTopic = config.auditLogTopic;
      const warn = (message: string) => logger.warn(message);
      if (cluster === null) {
        auditTopicLine = await openAuditTopic(auditTopic, replicas, warn);
      } else {
        // Cluster mode: every broker's lines reach the topic, through its partition's leader.
        const writer = new ClusterTopicWriter({
          topic: auditTopic,
          brokerId: config.nodeId,
          view: cluster.store,
          connector: interBrokerConnector(cluster.store, interBrokerSettings(config)),
          appendLocally: (partition, batch) =>
            appendMarkerAsLeader(markerAppendPorts, auditTopic, partition, batch),
          requestTimeoutMs: config.requestTimeoutMs,
          warn,
        });
        auditTopicWriter = writer;
        auditTopicLine = (line) => writer.write([Buffer.from(line)]);
      }
    }
    const securityLogger = componentLogger(logger, 'security');
    oauthBearer = await oauthBearerSettings(brokerConfigs.current(), (message) =>
      securityLogger.warn(message),
    );
    const runningListeners: RunningListeners = {
      security: listenerSecurity(brokerConfigs.current(), credentials, oauthBearer),
      https:
        httpsTlsContext === null ? null : { listener: httpsListenerName, tls: httpsTlsContext },
      credentials,
      oauthBearer,
    };
    prepareListenerChange = (next, previous) =>
      listenerChange(runningListeners, next, previous, securityLogger);
    server = await startServer({
      listeners: config.listeners,
      registry: authorizedHandlers,
      limits: serverLimitsFromConfig(config),
      logger: componentLogger(logger, 'server'),
      observer: observed?.metrics,
      requestLog: new RequestLog({
        logger: componentLogger(logger, 'request'),
        allRequests: config.requestLogEnabled,
        sampleRate: config.requestLogSampleRate,
        slowMs: config.requestLogSlowMs,
      }),
      security: runningListeners.security,
      throttler: clientQuotas,
      auditor,
      connectionCreationRateOf: (address) => clientQuotas.connectionCreationRateOf(address),
      ioThreads: config.numIoThreads,
    });
    const countLocalPartitions = localPartitionCounter(replicas);
    observed?.attach({
      replicas,
      groups: coordinator,
      server,
      tailCache: tailCacheBudget,
      replication:
        cluster === null
          ? () => singleBrokerReplication(countLocalPartitions())
          : () =>
              clusterReplication({
                brokerId: config.nodeId,
                view: cluster.store,
                partition: (topic, index) => replicas.partition(topic, index),
                minInsyncReplicasOf: (topic) =>
                  Number(
                    cluster.store.topics().get(topic)?.configs['min.insync.replicas'] ??
                      config.minInsyncReplicas,
                  ),
                fetcherConnections: () => runningReplicaFetcher?.leaderConnections() ?? [],
              }),
      isrChanges:
        cluster === null
          ? undefined
          : (changed) => watchIsrChanges(config.nodeId, cluster.store, changed),
    });
    webConsole?.attach({
      registry: authorizedHandlers,
      replicas,
      groups: coordinator,
      writesEnabled: config.consoleWritesEnabled,
      access: access!,
      auditor,
    });
    const advertisedAddressList = advertisedAddresses(config, server.listeners);
    advertised = advertisedAddressList.map((address) => ({
      nodeId: config.nodeId,
      host: address.host,
      port: address.port,
      rack: null,
    }));
    advertisedByListener = new Map(
      advertisedAddressList.map((address, index) => [address.name, advertised[index]]),
    );
    await cluster?.register(
      advertised[0].host,
      advertised[0].port,
      [
        ...advertisedAddressList.map(({ name, host, port }) => ({ name, host, port })),
        // The HTTP door's listeners too, where another broker redirects a subscription's requests.
        ...(httpDoor?.listeners ?? []).map(({ name, host, port }) => ({
          name: name === httpsListenerName ? HTTPS_DOOR_LISTENER : HTTP_DOOR_LISTENER,
          host: isWildcardHost(host) ? advertised[0].host : host,
          port,
        })),
      ],
      // KIP-112: the replicas whose logs this broker cannot keep are offline to the cluster from
      // the moment it registers; the controller elects others and takes them out of the ISRs.
      () => logDirectories.listOfflineLogs(),
    );
    if (cluster !== null) {
      const runningCluster = cluster;
      const fetcherOfLogs = replicaFetcher;
      logDirectories.onOfflineLogsChange(() => {
        clusterLogger.warn(
          'a log failed: its replica is reported offline, so that its leadership moves to another in-sync replica',
        );
        void runningCluster.publishOfflineReplicas();
        void fetcherOfLogs?.refresh();
      });
    }

    const runningServer = server;
    const runningHttpDoor = httpDoor;
    const runningCoordinator = coordinator;
    const runningCoordinatorLeadership = coordinatorLeadership;
    const runningPushApi = pushApi;
    const runningShareEngine = shareEngine;
    const runningShareLeadership = shareLeadership;
    const runningClusterShareWriter = clusterShareWriter;
    const runningShareRemoteFetches = shareRemoteFetches;
    const runningOAuthBearer = oauthBearer;
    let stopping: Promise<void> | null = null;
    return {
      bootstrapServers: advertised
        .map((address) => formatHostPort(address.host, address.port))
        .join(','),
      listeners: server.listeners,
      httpListeners: httpDoor?.listeners ?? [],
      config,
      nodeId: config.nodeId,
      clusterId,
      replicas,
      requestMemory: server.requestMemory,
      stop() {
        stopping ??= (async () => {
          observed?.detach();
          webConsole?.detach();
          // Cluster mode: leaderships move to other in-sync replicas while this broker still
          // serves, so clients see a retriable NOT_LEADER_OR_FOLLOWER and not a dead leader.
          if (cluster?.settings.controlledShutdownEnable === true) {
            const kept = await cluster.controlledShutdown().catch((error: Error) => {
              clusterLogger.warn(
                `controlled shutdown failed (${error.message}); leaving without it`,
              );
              return [];
            });
            if (kept.length > 0)
              clusterLogger.warn(
                `controlled shutdown: still leading ${kept.join(', ')}; leaving anyway`,
              );
          }
          runningCoordinatorLeadership?.stop();
          runningShareLeadership?.stop();
          // Replication first: no fetch of ours outlives the logs or waits on a stopping leader.
          await runningIsrManager?.stop();
          await runningReplicaFetcher?.stop();
          await etcdAcls?.close();
          await cluster?.leave();
          await runningTopicSync?.stop();
          // Coordinators first: a JoinGroup parked on a rebalance is answered at once instead of
          // holding the server's shutdown grace period.
          runningCoordinator.close();
          runningTransactionCoordinator.close();
          runningMarkerSender?.close();
          await runningServer.stop();
          runningOAuthBearer?.close();
          auditLog?.close();
          auditTopicWriter?.close();
          runningPushApi?.close();
          // Share groups before the engine: its closing subscriptions then find no group to drop.
          runningShareForwarder?.close();
          shareGroups?.close();
          runningShareEngine?.close();
          runningClusterShareWriter?.close();
          runningShareRemoteFetches?.close();
          // Producer state snapshots, so the next start need not replay the active segments.
          await Promise.all([
            ...replicas
              .topics()
              .flatMap((topic) => topic.partitions.map((partition) => partition.close())),
            ...internalTopics.map((topic) => topic.close()),
          ]);
          await logDirectories.close();
          await runningHttpDoor?.stop();
          if (temporaryDirectory !== null)
            await rm(temporaryDirectory, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (error) {
    coordinatorLeadership?.stop();
    shareLeadership?.stop();
    clusterShareWriter?.close();
    shareRemoteFetches?.close();
    await isrManager?.stop().catch(() => undefined);
    await replicaFetcher?.stop().catch(() => undefined);
    await topicSync?.stop().catch(() => undefined);
    await etcdAcls?.close().catch(() => undefined);
    await cluster?.leave().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    oauthBearer?.close();
    auditLog?.close();
    coordinator?.close();
    transactionCoordinator?.close();
    markerSender?.close();
    auditTopicWriter?.close();
    pushApi?.close();
    shareEngine?.close();
    await logDirectories.close().catch(() => undefined);
    await httpDoor?.stop();
    throw error;
  }
}

/**
 * Cluster mode: `__consumer_offsets` and `__transaction_state` are topics of the cluster, mirrored
 * like any other. Entries left in the local metadata store from when they were local to this
 * broker (marked internal) are removed with their logs, so the mirror can create them with the
 * cluster's topic ids; their state was this broker's alone and is not the cluster's.
 */
async function dropLocalInternalTopics(
  metadata: LocalMetadataStore,
  logDirectories: LogDirectories,
  logger: ServerLogger,
): Promise<void> {
  for (const name of [OFFSETS_TOPIC_NAME, TRANSACTION_STATE_TOPIC_NAME]) {
    const local = metadata.topic(name);
    if (local === undefined || !local.internal) continue;
    logger.warn(`cluster mode: removing the local ${name} of single-broker mode`);
    for (let partition = 0; partition < local.partitionCount; partition += 1) {
      if (logDirectories.getLog(name, partition) !== undefined)
        await logDirectories.deleteLog(name, partition);
    }
    await metadata.deleteTopic(name);
  }
}

/**
 * Cluster mode: the names the HTTP door's listeners are registered under in etcd, beside the
 * Kafka listeners (no Kafka listener name can hold a colon).
 */
const HTTP_DOOR_LISTENER = 'door:HTTP';
const HTTPS_DOOR_LISTENER = 'door:HTTPS';

/** An address bound on every interface, which no other broker can connect to as such. */
function isWildcardHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The metrics, and the HTTP routes that serve them and the health checks. */
interface ObservedParts {
  readonly metrics: BrokerMetrics;
  readonly routes: ReadonlyMap<string, HttpRoute>;
  /** The broker serves: the metrics may read its parts, and /readyz says ready. */
  attach(parts: ObservedBrokerParts): void;
  /** The broker stops: /readyz says so at once, before the listeners close. */
  detach(): void;
}

interface ObservedBrokerParts {
  readonly replicas: ReplicaManager;
  readonly groups: GroupCoordinator;
  readonly server: BrookServer;
  readonly tailCache: TailCacheBudget;
  readonly replication: () => ReplicationSnapshot;
  /** Cluster mode: starts counting ISR changes; returns the function that stops it. */
  readonly isrChanges?: (changed: (change: 'shrink' | 'expand') => void) => () => void;
}

/**
 * The code behind http.listeners (metrics with prom-client, the console, the push API with ws),
 * loaded only when it names an address: a broker without it never loads that code, which would
 * only add to its resident memory and to every mark-compact's work.
 */
async function loadHttpDoorCode() {
  // cluster-subscription-list.js imports node:http and node:https (and with them Node's HTTP
  // client): a broker without the door loads neither.
  const [metrics, server, access, push, consoleApiModule, consoleStatic, subscriptionList] =
    await Promise.all([
      import('./observability/metrics.js'),
      import('./http/http-server.js'),
      import('./http/http-access.js'),
      import('./http/push-api.js'),
      import('./http/console-api.js'),
      import('./http/console-static.js'),
      import('./http/cluster-subscription-list.js'),
    ]);
  return {
    BrokerMetrics: metrics.BrokerMetrics,
    jsonAnswer: server.jsonAnswer,
    startHttpDoor: server.startHttpDoor,
    httpAccess: access.httpAccess,
    openHttpAccess: access.openHttpAccess,
    createPushApi: push.createPushApi,
    consoleApi: consoleApiModule.consoleApi,
    consoleStaticRoutes: consoleStatic.consoleStaticRoutes,
    peerListTimeoutMs: subscriptionList.PEER_LIST_TIMEOUT_MS,
  };
}

type HttpDoorCode = Awaited<ReturnType<typeof loadHttpDoorCode>>;

function observedParts(logDirs: readonly string[], door: HttpDoorCode): ObservedParts {
  const { BrokerMetrics, jsonAnswer } = door;
  let parts: ObservedBrokerParts | null = null;
  let stopIsrChanges: (() => void) | undefined;
  let phase: 'recovering' | 'ready' | 'stopping' = 'recovering';
  const metrics = new BrokerMetrics({
    partitions: () => (parts === null ? [] : partitionSnapshots(parts.replicas)),
    groups: () => (parts === null ? [] : groupSnapshots(parts.groups)),
    tracked: {
      partitions: {
        items: () => (parts === null ? [] : localPartitions(parts.replicas)),
        // Attaching the parts changes the layout too: the replica manager's counts from 0.
        layout: () => (parts === null ? -1 : parts.replicas.layoutVersion),
        changes: (partition: Partition) => partition.figuresChanges,
        figures: partitionSnapshot,
      },
      // The groups come from the attached coordinator only, so it is there when they are read.
      groups: {
        items: () => parts?.groups.trackedGroupFigures.items() ?? [],
        layout: () => (parts === null ? null : parts.groups.trackedGroupFigures.layout()),
        changes: (group: ClassicGroup) => group.figuresChanges,
        figures: (group: ClassicGroup) =>
          groupSnapshot(parts!.groups.trackedGroupFigures.figures(group)),
      },
    },
    connections: () => parts?.server.connectionCount ?? 0,
    networkThreadConnections: () => parts?.server.networkThreadConnections() ?? [],
    requestMemory: () => parts?.server.requestMemory ?? { used: 0, maxBytes: -1 },
    tailCache: () => ({
      bytes: parts?.tailCache.bytes ?? 0,
      maxBytes:
        parts === null || parts.tailCache.bytesMax === Infinity ? -1 : parts.tailCache.bytesMax,
    }),
    logDirs: () => logDirs,
    replication: () => parts?.replication() ?? singleBrokerReplication(0),
  });
  const routes = new Map<string, HttpRoute>([
    [
      '/metrics',
      async (_query, request) => ({
        status: 200,
        ...(await metrics.scrape({ gzip: request.acceptsGzip })),
      }),
    ],
    ['/healthz', () => jsonAnswer(200, { status: 'alive' })],
    ['/readyz', () => jsonAnswer(phase === 'ready' ? 200 : 503, { status: phase })],
  ]);
  return {
    metrics,
    routes,
    attach(attached) {
      parts = attached;
      stopIsrChanges = attached.isrChanges?.((change) => metrics.isrChanged(change));
      phase = 'ready';
    },
    detach() {
      phase = 'stopping';
      stopIsrChanges?.();
    },
  };
}

/**
 * Counts the partitions this broker holds a replica of, walking them only when the layout moved
 * (a scrape asks every time; ten thousand partitions take a quarter of a millisecond to walk).
 */
function localPartitionCounter(replicas: ReplicaManager): () => number {
  let countedAt = -1;
  let count = 0;
  return () => {
    if (countedAt === replicas.layoutVersion) return count;
    countedAt = replicas.layoutVersion;
    count = 0;
    for (const topic of replicas.topics())
      for (const partition of topic.partitions) if (partition !== undefined) count++;
    return count;
  };
}

/**
 * The partitions this broker holds a replica of, by topic, then partition: an array, as a
 * scrape's walk meets them all, and an array walks several times faster than a generator.
 */
function localPartitions(replicas: ReplicaManager): Partition[] {
  const partitions: Partition[] = [];
  for (const topic of replicas.topics()) {
    for (const partition of topic.partitions) {
      // Cluster mode: a partition this broker holds no replica of is a hole.
      if (partition !== undefined) partitions.push(partition);
    }
  }
  return partitions;
}

function* partitionSnapshots(replicas: ReplicaManager): Iterable<PartitionSnapshot> {
  for (const partition of localPartitions(replicas)) yield partitionSnapshot(partition);
}

function partitionSnapshot(partition: Partition): PartitionSnapshot {
  return {
    topic: partition.topic,
    partition: partition.partitionIndex,
    logStartOffset: partition.logStartOffset,
    logEndOffset: partition.logEndOffset,
    highWatermark: partition.highWatermark,
    sizeBytes: partition.log.sizeInBytes,
    segments: partition.log.segmentCount,
  };
}

function* groupSnapshots(groups: GroupCoordinator): Iterable<GroupSnapshot> {
  for (const figures of groups.groupFigures()) yield groupSnapshot(figures);
}

function groupSnapshot({ groupId, state, members, lag }: GroupFigures): GroupSnapshot {
  return { group: groupId, state, members, lag };
}

/**
 * A topic's effective configs (broker defaults under its overrides) in the shape storage takes.
 * Overrides are stored as text, exactly as clients sent them; they were validated on the way in.
 */
export function storageLogConfig(
  config: BrokerConfig,
  overrides: Readonly<Record<string, string>>,
): StorageLogConfig {
  return topicLogConfig(config, parseTopicConfigs(Object.entries(overrides)));
}

/**
 * audit.log.topic on a single broker: lines queued as they come and produced in one batch per
 * event-loop turn, as a client's produce would be. The topic is created when missing. (Cluster
 * mode writes through ClusterTopicWriter instead; the topic must exist there.)
 */
async function openAuditTopic(
  topic: string,
  replicas: ReplicaManager,
  warn: (message: string) => void,
): Promise<(line: string) => void> {
  if (replicas.topic(topic) === undefined) {
    await replicas.createTopic({ name: topic, partitionCount: 1 });
  }
  let queued: string[] = [];
  let warned = false;
  return (line) => {
    queued.push(line);
    if (queued.length > 1) return;
    setImmediate(() => {
      const lines = queued;
      queued = [];
      const records = lines.map((text) => ({ key: null, value: Buffer.from(text), headers: [] }));
      writeRecords(localRecordWriter(replicas), topic, records, 'leader').catch((error: Error) => {
        if (!warned) warn(`audit lines cannot be produced to ${topic}: ${error.message}`);
        warned = true;
      });
    });
  };
}

/** The security settings of each listener, listener.name.* values applied. */
function securitySettings(config: BrokerConfig): BrokerSecuritySettings {
  return {
    listenerSecurityProtocols: config.listenerSecurityProtocols,
    setting: (listener, name, mechanism) => listenerSetting(config, listener, name, mechanism),
  };
}

/** OAUTHBEARER's token checks; a JWKS that cannot be read at start is a configuration error. */
async function oauthBearerSettings(
  config: BrokerConfig,
  warn: (message: string) => void,
): Promise<ListenerOAuthBearer> {
  try {
    return await oauthBearerFromConfig(securitySettings(config), warn);
  } catch (error) {
    if (!(error instanceof JwksError)) throw error;
    throw new ConfigError(
      ConfigErrorCode.INVALID_VALUE,
      error.message,
      'sasl.oauthbearer.jwks.endpoint.url',
    );
  }
}

/**
 * The TLS of http.listeners' https:// address, or null without one; an unusable keystore or
 * truststore is a configuration error naming the key that gave it.
 */
function httpsTls(config: BrokerConfig): TlsContext | null {
  if (!config.httpListeners.some((listener) => listener.name === httpsListenerName)) return null;
  try {
    return httpsTlsFromConfig(securitySettings(config), httpsListenerName);
  } catch (error) {
    if (!(error instanceof TlsConfigurationError)) throw error;
    const overridden = config.listenerOverrides
      .get(httpsListenerName)
      ?.has('ssl.keystore.location');
    throw new ConfigError(
      ConfigErrorCode.INVALID_VALUE,
      `https:// in http.listeners: ${error.message}`,
      overridden === true ? 'listener.name.https.ssl.keystore.location' : 'ssl.keystore.location',
    );
  }
}

/**
 * What an AlterConfigs of listener.name.* values does to the running listeners: refused with
 * INVALID_CONFIG (a ConfigError naming the key) when a listener cannot take its new settings, the
 * old ones staying in use; else applied once the change is persisted.
 */
function listenerChange(
  running: RunningListeners,
  next: BrokerConfig,
  previous: BrokerConfig,
  logger: ServerLogger,
): () => void {
  let apply: () => void;
  try {
    apply = prepareListenerReconfiguration(
      running,
      securitySettings(previous),
      securitySettings(next),
    );
  } catch (error) {
    if (!(error instanceof ListenerReconfigurationError)) throw error;
    const overridden = next.listenerOverrides.get(error.listener)?.has(error.setting) === true;
    throw new ConfigError(
      ConfigErrorCode.INVALID_VALUE,
      `listener ${error.listener} cannot take the change, and keeps its settings: ${error.message}`,
      overridden
        ? listenerSettingName({ listener: error.listener, mechanism: null, setting: error.setting })
        : error.setting,
    );
  }
  return () => {
    try {
      apply();
    } catch (error) {
      // A file replaced between the check and now: the listener keeps what it had.
      logger.error('listener settings changed but cannot be applied; keeping the previous ones', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
}

/** Each listener's security; an unusable keystore or truststore is a configuration error. */
function listenerSecurity(
  config: BrokerConfig,
  credentials: LocalCredentialStore,
  oauthBearer: ListenerOAuthBearer | null,
): ReturnType<typeof listenerSecurityFromConfig> {
  try {
    return listenerSecurityFromConfig(securitySettings(config), credentials, oauthBearer);
  } catch (error) {
    if (!(error instanceof TlsConfigurationError)) throw error;
    throw new ConfigError(ConfigErrorCode.INVALID_VALUE, error.message, 'ssl.keystore.location');
  }
}
