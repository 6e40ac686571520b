// ACL bindings in etcd (cluster mode), so that an ACL created through any broker applies on every
// broker: each binding one record of an EtcdRecordMap (etcd-record-map.ts), named by the SHA-256
// of its content, so creating it twice writes one key and two brokers changing different ACLs
// never overwrite each other. Keys, under etcd.prefix:
//
//   acls/<sha-256 of the binding>   the binding as JSON
//
// The authorizer reads the bindings from memory, never waiting on etcd; the watch brings other
// brokers' changes and `onChange` tells the authorizer to re-index.

import { createHash } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import {
  type AclBinding,
  type AclSection,
  bindingKey,
  invalidBindingReason,
} from '../security/index.js';
import { EtcdRecordMap } from './etcd-record-map.js';

export class EtcdAclSection implements AclSection {
  private cached: readonly AclBinding[] | null = null;

  private constructor(private readonly records: EtcdRecordMap<AclBinding>) {
    records.onChange(() => (this.cached = null));
  }

  /** Loads the bindings under `<prefix>acls/` (prefix ends with '/') and watches them. */
  static async open(client: Etcd3, prefix: string): Promise<EtcdAclSection> {
    return new EtcdAclSection(await EtcdRecordMap.open(client, `${prefix}acls/`, parseBinding));
  }

  acls(): readonly AclBinding[] {
    this.cached ??= [...this.records.entries().values()];
    return this.cached;
  }

  async setAcls(bindings: readonly AclBinding[]): Promise<void> {
    await this.records.replaceAll(new Map(bindings.map((binding) => [nameOf(binding), binding])));
    this.cached = null;
  }

  /** Called after any broker changed an ACL (this one included). */
  onChange(listener: () => void): void {
    this.records.onChange(() => {
      this.cached = null;
      listener();
    });
  }

  close(): Promise<void> {
    return this.records.close();
  }
}

function nameOf(binding: AclBinding): string {
  return createHash('sha256').update(bindingKey(binding)).digest('hex');
}

function parseBinding(value: unknown, name: string): AclBinding {
  const binding = value as AclBinding;
  const reason =
    typeof value === 'object' && value !== null ? invalidBindingReason(binding) : 'not an object';
  if (reason !== null) throw new Error(`ACL ${name}: ${reason}`);
  return binding;
}
