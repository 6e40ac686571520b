// ACL bindings in etcd (cluster mode), so that an ACL created through any broker applies on
// every broker. Keys, under etcd.prefix:
//
//   acls/<sha-256 of the binding>   the binding as JSON
//
// A binding's key is derived from its content, so creating it twice writes one key and deleting
// it is one delete. Like EtcdMetadataStore, the bindings are loaded with one range read and kept
// current by a watch starting at the revision after it; the authorizer reads them from memory,
// never waiting on etcd. A broker's own write is applied as soon as etcd answers (the watch event
// of the same revision is then ignored), so a client that creates an ACL and at once uses it on
// the same broker is authorized.
//
// Owned by the broker. Writes may interleave across awaits; each key's change is applied only
// when its revision is newer than the one held.

import { createHash } from 'node:crypto';
import type { Etcd3, IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import {
  type AclBinding,
  type AclBindingFilter,
  type AclStore,
  bindingKey,
  bindingMatchesFilter,
  invalidBindingReason,
} from '../security/index.js';

const ACLS_PREFIX = 'acls/';

export class EtcdAclStore implements AclStore {
  private readonly byKey = new Map<string, { binding: AclBinding; revision: number }>();
  /** Revisions of deleted keys, so a late watch event cannot bring a binding back. */
  private readonly deletedAt = new Map<string, number>();
  private readonly listeners: (() => void)[] = [];
  private watcher: Watcher | undefined;
  private cached: readonly AclBinding[] | null = null;

  private constructor(private readonly namespace: Namespace) {}

  /** Reads every binding under `<prefix>acls/` and starts watching them. */
  static async open(client: Etcd3, prefix: string): Promise<EtcdAclStore> {
    const store = new EtcdAclStore(client.namespace(`${prefix}${ACLS_PREFIX}`));
    const response = await store.namespace.getAll().exec();
    for (const kv of response.kvs) store.applyPut(kv);
    const watcher = await store.namespace
      .watch()
      .prefix('')
      .startRevision(String(Number(response.header.revision) + 1))
      .create();
    store.watcher = watcher;
    watcher.on('data', (watchResponse: IWatchResponse) => {
      let changed = false;
      for (const event of watchResponse.events) {
        changed =
          (event.type === 'Put' ? store.applyPut(event.kv) : store.applyDelete(event.kv)) ||
          changed;
      }
      if (changed) store.changed();
    });
    return store;
  }

  bindings(): readonly AclBinding[] {
    this.cached ??= [...this.byKey.values()].map((entry) => entry.binding);
    return this.cached;
  }

  async add(bindings: readonly AclBinding[]): Promise<void> {
    let changed = false;
    for (const binding of bindings) {
      const key = keyOf(binding);
      const response = await this.namespace.put(key).value(JSON.stringify(binding)).exec();
      const revision = Number(response.header.revision);
      changed = this.set(key, { ...binding }, revision) || changed;
    }
    if (changed) this.changed();
  }

  async remove(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    const removed = filters.map((filter) =>
      this.bindings().filter((binding) => bindingMatchesFilter(binding, filter)),
    );
    let changed = false;
    for (const key of new Set(removed.flat().map(keyOf))) {
      const response = await this.namespace.delete().key(key).exec();
      changed = this.unset(key, Number(response.header.revision)) || changed;
    }
    if (changed) this.changed();
    return removed;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Stops watching. The client belongs to the caller. */
  async close(): Promise<void> {
    await this.watcher?.cancel();
  }

  private applyPut(kv: IKeyValue): boolean {
    const key = kv.key.toString('utf8');
    try {
      const binding = JSON.parse(kv.value.toString('utf8')) as AclBinding;
      const reason = invalidBindingReason(binding);
      if (reason !== null) throw new Error(reason);
      return this.set(key, binding, Number(kv.mod_revision));
    } catch (error) {
      // A value Brook did not write: ignore it rather than stop serving.
      process.emitWarning(`ignoring ACL ${key}: ${(error as Error).message}`);
      return false;
    }
  }

  private applyDelete(kv: IKeyValue): boolean {
    return this.unset(kv.key.toString('utf8'), Number(kv.mod_revision));
  }

  private set(key: string, binding: AclBinding, revision: number): boolean {
    const held = this.byKey.get(key)?.revision ?? this.deletedAt.get(key) ?? 0;
    if (held >= revision) return false;
    this.deletedAt.delete(key);
    this.byKey.set(key, { binding, revision });
    this.cached = null;
    return true;
  }

  private unset(key: string, revision: number): boolean {
    const held = this.byKey.get(key);
    if (held === undefined || held.revision >= revision) return false;
    this.byKey.delete(key);
    this.deletedAt.set(key, revision);
    this.cached = null;
    return true;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function keyOf(binding: AclBinding): string {
  return createHash('sha256').update(bindingKey(binding)).digest('hex');
}
