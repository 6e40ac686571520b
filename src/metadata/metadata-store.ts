// The broker's metadata: topics, their ids, partition counts and configuration overrides.
//
// One implementation today, `LocalMetadataStore`, for a single broker: the whole state is a small
// JSON document under `<log.dirs>/meta/`, replaced atomically on every change (write a temporary
// file, fsync it, rename it over the old one, fsync the directory). Topic changes are rare and
// the document is small, so a snapshot per change is simpler than a journal and just as safe.
// The etcd store for clusters will implement the same interface.
//
// Owned by the broker; every mutation is serialised through one promise chain so that two
// concurrent CreateTopics can never interleave their read-modify-write of the document.

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  ScramCredentialSection,
  StoredScramCredentials,
} from '../security/credential-store.js';
import type { ClientQuotaStore, StoredClientQuota } from '../quota/client-quotas.js';
import type { AclBinding } from '../security/acl.js';
import type { AclSection } from '../security/acl-store.js';
import { BrookError, type BrookErrorCode } from '../util/errors.js';

export interface TopicMetadata {
  readonly name: string;
  /** 16 bytes, random, fixed for the topic's life. */
  readonly topicId: Buffer;
  readonly partitionCount: number;
  /** Topic-level overrides only (`DYNAMIC_TOPIC_CONFIG`), by Kafka name. */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

export interface MetadataStore {
  readonly clusterId: string;
  topics(): readonly TopicMetadata[];
  topic(name: string): TopicMetadata | undefined;
  topicById(topicId: Buffer): TopicMetadata | undefined;
  createTopic(spec: {
    name: string;
    partitionCount: number;
    configs?: Record<string, string>;
    internal?: boolean;
    /** Cluster mode: the id the cluster gave the topic; otherwise a new random one. */
    topicId?: Buffer;
  }): Promise<TopicMetadata>;
  deleteTopic(name: string): Promise<TopicMetadata>;
  setPartitionCount(name: string, partitionCount: number): Promise<TopicMetadata>;
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<TopicMetadata>;
  /** Broker-level dynamic overrides (AlterConfigs on the broker resource). */
  brokerConfigs(): Readonly<Record<string, string>>;
  setBrokerConfigs(configs: Record<string, string>): Promise<void>;
}

export const MetadataErrorCode = {
  TOPIC_EXISTS: 'BROOK_METADATA_TOPIC_EXISTS',
  UNKNOWN_TOPIC: 'BROOK_METADATA_UNKNOWN_TOPIC',
  METADATA_CORRUPT: 'BROOK_METADATA_CORRUPT',
} as const satisfies Record<string, BrookErrorCode>;

export type MetadataErrorCode = (typeof MetadataErrorCode)[keyof typeof MetadataErrorCode];

export class MetadataError extends BrookError {
  declare readonly code: MetadataErrorCode;

  constructor(code: MetadataErrorCode, message: string) {
    super(code, message);
    this.name = 'MetadataError';
  }
}

interface StoredTopic {
  name: string;
  topicId: string;
  partitionCount: number;
  configs: Record<string, string>;
  internal: boolean;
}

interface StoredDocument {
  version: 1;
  clusterId: string;
  topics: StoredTopic[];
  brokerConfigs: Record<string, string>;
  /** SCRAM credentials by user and mechanism (src/security/credential-store.ts); salted, no passwords. */
  scramCredentials?: StoredScramCredentials;
  /** Absent in documents written before client quotas. */
  clientQuotas?: StoredClientQuota[];
  /** ACL bindings (src/security/acl-store.ts); absent in documents written before ACLs. */
  acls?: AclBinding[];
}

const documentName = 'metadata.json';

export class LocalMetadataStore
  implements MetadataStore, ClientQuotaStore, ScramCredentialSection, AclSection
{
  private readonly topicsByName = new Map<string, TopicMetadata>();
  private readonly topicsById = new Map<string, TopicMetadata>();
  private dynamicBrokerConfigs: Record<string, string> = {};
  private storedClientQuotas: readonly StoredClientQuota[] = [];
  private storedScramCredentials: StoredScramCredentials = {};
  private storedAcls: readonly AclBinding[] = [];
  private mutations: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly directory: string,
    readonly clusterId: string,
  ) {}

  /** Opens (or creates) the store in `<logDir>/meta`. */
  static async open(
    logDir: string,
    options: { clusterId?: string } = {},
  ): Promise<LocalMetadataStore> {
    const directory = join(logDir, 'meta');
    await mkdir(directory, { recursive: true });
    let document: StoredDocument | undefined;
    try {
      document = parseDocument(await readFile(join(directory, documentName), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const clusterId = document?.clusterId ?? options.clusterId ?? newClusterId();
    const store = new LocalMetadataStore(directory, clusterId);
    for (const topic of document?.topics ?? []) {
      store.index({
        name: topic.name,
        topicId: Buffer.from(topic.topicId, 'hex'),
        partitionCount: topic.partitionCount,
        configs: topic.configs,
        internal: topic.internal,
      });
    }
    store.dynamicBrokerConfigs = document?.brokerConfigs ?? {};
    store.storedScramCredentials = document?.scramCredentials ?? {};
    store.storedClientQuotas = document?.clientQuotas ?? [];
    store.storedAcls = document?.acls ?? [];
    if (document === undefined) await store.persist();
    return store;
  }

  topics(): readonly TopicMetadata[] {
    return [...this.topicsByName.values()];
  }

  topic(name: string): TopicMetadata | undefined {
    return this.topicsByName.get(name);
  }

  topicById(topicId: Buffer): TopicMetadata | undefined {
    return this.topicsById.get(topicId.toString('hex'));
  }

  createTopic(spec: {
    name: string;
    partitionCount: number;
    configs?: Record<string, string>;
    internal?: boolean;
    topicId?: Buffer;
  }): Promise<TopicMetadata> {
    return this.mutate(() => {
      if (this.topicsByName.has(spec.name)) {
        throw new MetadataError(
          MetadataErrorCode.TOPIC_EXISTS,
          `Topic '${spec.name}' already exists.`,
        );
      }
      const topic: TopicMetadata = {
        name: spec.name,
        topicId: spec.topicId ?? newTopicId(),
        partitionCount: spec.partitionCount,
        configs: { ...(spec.configs ?? {}) },
        internal: spec.internal ?? false,
      };
      this.index(topic);
      return topic;
    });
  }

  deleteTopic(name: string): Promise<TopicMetadata> {
    return this.mutate(() => {
      const topic = this.require(name);
      this.topicsByName.delete(name);
      this.topicsById.delete(topic.topicId.toString('hex'));
      return topic;
    });
  }

  setPartitionCount(name: string, partitionCount: number): Promise<TopicMetadata> {
    return this.mutate(() => this.replace(name, { partitionCount }));
  }

  setTopicConfigs(name: string, configs: Record<string, string>): Promise<TopicMetadata> {
    return this.mutate(() => this.replace(name, { configs: { ...configs } }));
  }

  brokerConfigs(): Readonly<Record<string, string>> {
    return this.dynamicBrokerConfigs;
  }

  setBrokerConfigs(configs: Record<string, string>): Promise<void> {
    return this.mutate(() => {
      this.dynamicBrokerConfigs = { ...configs };
    });
  }

  scramCredentials(): Readonly<StoredScramCredentials> {
    return this.storedScramCredentials;
  }

  setScramCredentials(credentials: StoredScramCredentials): Promise<void> {
    return this.mutate(() => {
      this.storedScramCredentials = credentials;
    });
  }

  clientQuotas(): readonly StoredClientQuota[] {
    return this.storedClientQuotas;
  }

  setClientQuotas(quotas: readonly StoredClientQuota[]): Promise<void> {
    return this.mutate(() => {
      this.storedClientQuotas = quotas.map((quota) => ({ ...quota, values: { ...quota.values } }));
    });
  }

  acls(): readonly AclBinding[] {
    return this.storedAcls;
  }

  setAcls(bindings: readonly AclBinding[]): Promise<void> {
    return this.mutate(() => {
      this.storedAcls = bindings.map((binding) => ({ ...binding }));
    });
  }

  private require(name: string): TopicMetadata {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) {
      throw new MetadataError(MetadataErrorCode.UNKNOWN_TOPIC, `Topic '${name}' does not exist.`);
    }
    return topic;
  }

  private replace(name: string, changes: Partial<TopicMetadata>): TopicMetadata {
    const topic = { ...this.require(name), ...changes };
    this.index(topic);
    return topic;
  }

  private index(topic: TopicMetadata): void {
    this.topicsByName.set(topic.name, topic);
    this.topicsById.set(topic.topicId.toString('hex'), topic);
  }

  /**
   * Applies a change in memory and persists the document before the returned promise resolves.
   * If persisting fails the process state and the disk disagree, so the in-memory change is
   * rolled back by reloading nothing: callers see the error and the next successful mutation
   * writes the whole state again.
   */
  private mutate<T>(change: () => T): Promise<T> {
    const run = this.mutations.then(async () => {
      const result = change();
      await this.persist();
      return result;
    });
    this.mutations = run.catch(() => undefined);
    return run;
  }

  private async persist(): Promise<void> {
    const document: StoredDocument = {
      version: 1,
      clusterId: this.clusterId,
      topics: this.topics().map((topic) => ({
        name: topic.name,
        topicId: topic.topicId.toString('hex'),
        partitionCount: topic.partitionCount,
        configs: { ...topic.configs },
        internal: topic.internal,
      })),
      brokerConfigs: this.dynamicBrokerConfigs,
      scramCredentials: this.storedScramCredentials,
      clientQuotas: [...this.storedClientQuotas],
      acls: [...this.storedAcls],
    };
    const path = join(this.directory, documentName);
    const temporaryPath = `${path}.tmp`;
    // Owner-only: the document holds SCRAM keys, which must not be readable by every local user.
    const file = await open(temporaryPath, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify(document, null, 2));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporaryPath, path);
    const directory = await open(this.directory, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  /** Removes the store's files; for tests that reuse a directory. */
  static async destroy(logDir: string): Promise<void> {
    await rm(join(logDir, 'meta'), { recursive: true, force: true });
  }
}

function parseDocument(text: string): StoredDocument {
  const document = JSON.parse(text) as StoredDocument;
  if (document.version !== 1 || !Array.isArray(document.topics)) {
    throw new MetadataError(
      MetadataErrorCode.METADATA_CORRUPT,
      'meta/metadata.json is not a Brook metadata document.',
    );
  }
  return document;
}

/** A topic id is a random version-4 UUID, as Kafka makes them (never the all-zero id). */
function newTopicId(): Buffer {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (22 characters). */
function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}
