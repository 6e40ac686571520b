// Where ACL bindings live. The authorizer and the CreateAcls/DeleteAcls handlers see only this
// interface: in single-broker mode the local metadata document keeps the bindings
// (LocalAclStore over the document's `acls` section), in cluster mode etcd does (the same store
// over src/cluster/etcd-acl-store.ts), so an ACL added on one broker applies on every broker once
// its watch delivers it.
//
// Owned by the broker. `add` and `remove` may interleave across their awaits; each one reads the
// current bindings, changes them and writes them in one step of the underlying store; changes
// through one store run one at a time, so none is lost to another on the same broker.

import { Mutex } from '../util/mutex.js';
import { type AclBinding, type AclBindingFilter, bindingKey, bindingMatchesFilter } from './acl.js';

export interface AclStore {
  /** Every binding, in the order they were added. */
  bindings(): readonly AclBinding[];
  /** Adds bindings; one already present is kept once. */
  add(bindings: readonly AclBinding[]): Promise<void>;
  /** Removes the bindings matching each filter; returns, per filter, what it removed. */
  remove(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]>;
  /** Called after every change, local or (cluster mode) made by another broker. */
  onChange(listener: () => void): void;
}

/** The part of the local metadata store the ACL store needs: one section, read and replaced. */
export interface AclSection {
  acls(): readonly AclBinding[];
  setAcls(bindings: readonly AclBinding[]): Promise<void>;
  /** Called after a change made elsewhere (cluster mode: by another broker). */
  onChange?(listener: () => void): void;
}

/** ACLs kept in the local metadata document (single-broker mode). */
export class LocalAclStore implements AclStore {
  private readonly listeners: (() => void)[] = [];
  private readonly changes = new Mutex();

  constructor(private readonly section: AclSection) {
    section.onChange?.(() => this.changed());
  }

  bindings(): readonly AclBinding[] {
    return this.section.acls();
  }

  add(bindings: readonly AclBinding[]): Promise<void> {
    return this.changes.run(() => this.addNow(bindings));
  }

  remove(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    return this.changes.run(() => this.removeNow(filters));
  }

  private async addNow(bindings: readonly AclBinding[]): Promise<void> {
    const current = this.section.acls();
    const present = new Set(current.map(bindingKey));
    const added: AclBinding[] = [];
    for (const binding of bindings) {
      const key = bindingKey(binding);
      if (present.has(key)) continue;
      present.add(key);
      added.push({ ...binding });
    }
    if (added.length === 0) return;
    await this.section.setAcls([...current, ...added]);
    this.changed();
  }

  private async removeNow(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    const current = this.section.acls();
    const removedKeys = new Set<string>();
    const removed = filters.map((filter) =>
      current.filter((binding) => {
        if (!bindingMatchesFilter(binding, filter)) return false;
        removedKeys.add(bindingKey(binding));
        return true;
      }),
    );
    if (removedKeys.size === 0) return removed;
    await this.section.setAcls(current.filter((binding) => !removedKeys.has(bindingKey(binding))));
    this.changed();
    return removed;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/** ACLs in memory only: for tests and benchmarks. */
export class MemoryAclStore extends LocalAclStore {
  constructor(initial: readonly AclBinding[] = []) {
    let stored: readonly AclBinding[] = initial;
    super({
      acls: () => stored,
      setAcls: (next) => {
        stored = next;
        return Promise.resolve();
      },
    });
  }
}
