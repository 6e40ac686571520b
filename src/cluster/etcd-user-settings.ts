// What a cluster's brokers must agree on about its users: SCRAM credentials and client quotas,
// each record a key in etcd (etcd-record-map.ts), so a user created or a quota altered through any
// broker holds on every broker. The security and quota modules see only the small stores they
// already read in single-broker mode (ScramCredentialSection, ClientQuotaStore).
//
// Keys, under etcd.prefix:
//   scram-credentials/<user>    { <mechanism>: { salt, iterations, storedKey, serverKey } }
//   client-quotas/<entity key>  { <quota key>: number }

import type { Etcd3 } from 'etcd3';
import type { ClientQuotaStore, StoredClientQuota } from '../quota/client-quotas.js';
import type {
  ScramCredentialSection,
  StoredScramCredential,
  StoredScramCredentials,
} from '../security/credential-store.js';
import { EtcdRecordMap } from './etcd-record-map.js';

export class EtcdUserSettings implements ScramCredentialSection, ClientQuotaStore {
  private constructor(
    private readonly credentials: EtcdRecordMap<Record<string, StoredScramCredential>>,
    private readonly quotas: EtcdRecordMap<Record<string, number>>,
  ) {}

  /** Loads both sections under the cluster's `prefix` (ends with '/') and watches them. */
  static async open(client: Etcd3, prefix: string): Promise<EtcdUserSettings> {
    const credentials = await EtcdRecordMap.open(
      client,
      `${prefix}scram-credentials/`,
      parseCredentials,
    );
    const quotas = await EtcdRecordMap.open(client, `${prefix}client-quotas/`, parseQuotaValues);
    return new EtcdUserSettings(credentials, quotas);
  }

  scramCredentials(): Readonly<StoredScramCredentials> {
    return Object.fromEntries(this.credentials.entries());
  }

  setScramCredentials(credentials: StoredScramCredentials): Promise<void> {
    return this.credentials.replaceAll(new Map(Object.entries(credentials)));
  }

  clientQuotas(): readonly StoredClientQuota[] {
    return [...this.quotas.entries()].map(([entity, values]) => ({ entity, values }));
  }

  setClientQuotas(quotas: readonly StoredClientQuota[]): Promise<void> {
    return this.quotas.replaceAll(
      new Map(quotas.map(({ entity, values }) => [entity, { ...values }])),
    );
  }

  /** Called after any broker changed a client quota (this one included). */
  onClientQuotasChange(listener: () => void): () => void {
    return this.quotas.onChange(listener);
  }

  async close(): Promise<void> {
    await Promise.all([this.credentials.close(), this.quotas.close()]);
  }
}

function parseCredentials(value: unknown, user: string): Record<string, StoredScramCredential> {
  if (typeof value !== 'object' || value === null) {
    throw new Error(`the SCRAM credentials of ${user} are not an object`);
  }
  for (const [mechanism, stored] of Object.entries(value as Record<string, unknown>)) {
    const credential = stored as Partial<StoredScramCredential> | null;
    if (
      typeof credential?.salt !== 'string' ||
      !Number.isInteger(credential.iterations) ||
      typeof credential.storedKey !== 'string' ||
      typeof credential.serverKey !== 'string'
    ) {
      throw new Error(`the ${mechanism} credential of ${user} is malformed`);
    }
  }
  return value as Record<string, StoredScramCredential>;
}

function parseQuotaValues(value: unknown, entity: string): Record<string, number> {
  if (typeof value !== 'object' || value === null) {
    throw new Error(`the client quotas of ${entity} are not an object`);
  }
  for (const [key, bound] of Object.entries(value as Record<string, unknown>)) {
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new Error(`client quota ${key} of ${entity} is not a number`);
    }
  }
  return value as Record<string, number>;
}
