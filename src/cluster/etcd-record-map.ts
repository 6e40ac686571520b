// A map of named JSON records kept in etcd under one key prefix, mirrored in memory by a watch:
// what every broker of a cluster must share but the data path only reads (SCRAM credentials,
// client quotas). Each record is one key, `<prefix><encoded name>`, so two brokers changing
// different records never overwrite each other.
//
// Reads are answered from memory. `replaceAll` writes only the records that differ from the view
// (puts and deletes in transactions of at most TRANSACTION_OPERATIONS_MAX operations) and applies
// them to the view at the revision etcd gave, so the broker that wrote reads its own write at
// once; the watch brings other brokers' writes. A key's change is applied only when its mod
// revision is newer than the one the view holds, so the order of write answers and watch events
// does not matter.

import type { Etcd3, IOperation, IWatchResponse, Namespace, Watcher } from 'etcd3';

const TRANSACTION_OPERATIONS_MAX = 100;

export class EtcdRecordMap<T> {
  private readonly records = new Map<string, T>();
  /** The revision each name was last put or deleted at. */
  private readonly revisions = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private watcher: Watcher | undefined;
  private closed = false;

  private constructor(
    private readonly namespace: Namespace,
    private readonly parse: (value: unknown, name: string) => T,
  ) {}

  /**
   * Reads every record under `prefix` (a full etcd key prefix ending in '/') and starts watching
   * it. `parse` checks a stored value's shape; a record it throws on is left out of the view.
   */
  static async open<T>(
    client: Etcd3,
    prefix: string,
    parse: (value: unknown, name: string) => T,
  ): Promise<EtcdRecordMap<T>> {
    const map = new EtcdRecordMap<T>(client.namespace(prefix), parse);
    await map.load();
    return map;
  }

  entries(): ReadonlyMap<string, T> {
    return this.records;
  }

  /** Called after every change to the view, whoever wrote it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes the records in etcd those of `next`: puts what differs, deletes what `next` lacks. */
  async replaceAll(next: ReadonlyMap<string, T>): Promise<void> {
    const operations: Array<{ name: string; value: string | null }> = [];
    for (const [name, record] of next) {
      const value = JSON.stringify(record);
      const current = this.records.get(name);
      if (current === undefined || JSON.stringify(current) !== value) {
        operations.push({ name, value });
      }
    }
    for (const name of this.records.keys()) {
      if (!next.has(name)) operations.push({ name, value: null });
    }
    for (let first = 0; first < operations.length; first += TRANSACTION_OPERATIONS_MAX) {
      const chunk = operations.slice(first, first + TRANSACTION_OPERATIONS_MAX);
      const writes = (): IOperation[] =>
        chunk.map(({ name, value }) =>
          value === null
            ? this.namespace.delete().key(keyOf(name))
            : this.namespace.put(keyOf(name)).value(value),
        );
      // A transaction without a condition: both branches write the same.
      const result = await this.namespace
        .if(keyOf(chunk[0]!.name), 'Version', '==', 0)
        .then(...writes())
        .else(...writes())
        .commit();
      const revision = Number(result.header.revision);
      for (const { name, value } of chunk) this.apply(name, value, revision);
    }
    if (operations.length > 0) this.notify();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel();
  }

  private async load(): Promise<void> {
    const response = await this.namespace.getAll().exec();
    for (const kv of response.kvs) {
      this.apply(
        nameOf(kv.key.toString('utf8')),
        kv.value.toString('utf8'),
        Number(kv.mod_revision),
      );
    }
    const watcher = await this.namespace
      .watch()
      .prefix('')
      .startRevision(String(Number(response.header.revision) + 1))
      .create();
    this.watcher = watcher;
    watcher.on('data', (changes: IWatchResponse) => {
      if (this.closed) return;
      for (const event of changes.events) {
        const name = nameOf(event.kv.key.toString('utf8'));
        const value = event.type === 'Put' ? event.kv.value.toString('utf8') : null;
        this.apply(name, value, Number(event.kv.mod_revision));
      }
      if (changes.events.length > 0) this.notify();
    });
  }

  /** Applies a put (value) or delete (null) seen at `revision`, unless the view holds a newer one. */
  private apply(name: string, value: string | null, revision: number): void {
    if ((this.revisions.get(name) ?? 0) >= revision) return;
    this.revisions.set(name, revision);
    if (value === null) {
      this.records.delete(name);
      return;
    }
    try {
      this.records.set(name, this.parse(JSON.parse(value), name));
    } catch {
      // A record this broker cannot read is not one it can act on; the others still apply.
      this.records.delete(name);
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function keyOf(name: string): string {
  return encodeURIComponent(name);
}

function nameOf(key: string): string {
  return decodeURIComponent(key);
}
