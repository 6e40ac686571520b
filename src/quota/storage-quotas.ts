// Storage quotas per tenant, a tenant being a topic-name prefix (storage.quota.topic.prefixes):
// the bytes on disk across the tenant's topics may not exceed its limit. A produce to a tenant at
// or over its limit is refused (POLICY_VIOLATION, with a message saying why) until retention,
// DeleteRecords or a topic deletion frees space; a produce that merely crosses it is accepted, so
// a limit is never off by more than one request.
//
// Summing a tenant's partition sizes on every produce would cost O(partitions), so the sum is
// recomputed at most once per `usageRefreshMs` and the bytes accepted since are added to it.
//
// Owned by the broker; synchronous, called from the produce handler before its first await.

export interface StorageQuotaSources {
  /** Every topic's name with the bytes its partitions hold on this broker's disk. */
  topicSizes(): Iterable<{ readonly topic: string; readonly sizeBytes: number }>;
}

const usageRefreshMs = 1000;

interface TenantUsage {
  usedBytes: number;
  computedAtMs: number;
}

export class StorageQuotas {
  /** Longest prefix first, so a topic belongs to its most specific tenant. */
  private readonly limits: ReadonlyArray<[prefix: string, bytesMax: number]>;
  private readonly usage = new Map<string, TenantUsage>();

  constructor(
    limits: ReadonlyMap<string, number>,
    private readonly sources: StorageQuotaSources,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limits = [...limits].sort(([a], [b]) => b.length - a.length);
  }

  /** Why a produce of `bytes` to `topic` is refused, or null when it may go ahead. */
  refusal(topic: string, bytes: number): string | null {
    if (this.limits.length === 0) return null;
    const limit = this.limits.find(([prefix]) => topic.startsWith(prefix));
    if (limit === undefined) return null;
    const [prefix, bytesMax] = limit;
    const usage = this.usageOf(prefix);
    if (usage.usedBytes >= bytesMax) {
      return `the topics prefixed '${prefix}' hold ${usage.usedBytes} bytes, at their storage quota of ${bytesMax} bytes (storage.quota.topic.prefixes); produce is refused until retention or deletion frees space`;
    }
    usage.usedBytes += bytes;
    return null;
  }

  private usageOf(prefix: string): TenantUsage {
    const nowMs = this.now();
    let usage = this.usage.get(prefix);
    if (usage === undefined || nowMs - usage.computedAtMs >= usageRefreshMs) {
      let usedBytes = 0;
      for (const { topic, sizeBytes } of this.sources.topicSizes()) {
        // Bytes of a topic count towards its most specific tenant only.
        const owner = this.limits.find(([candidate]) => topic.startsWith(candidate));
        if (owner?.[0] === prefix) usedBytes += sizeBytes;
      }
      usage = { usedBytes, computedAtMs: nowMs };
      this.usage.set(prefix, usage);
    }
    return usage;
  }
}

/** storage.quota.topic.prefixes: `prefix:bytes` pairs separated by commas. Throws when malformed. */
export function parseStorageQuotas(text: string): Map<string, number> {
  const limits = new Map<string, number>();
  for (const entry of text.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const separator = entry.lastIndexOf(':');
    const bytes = Number(entry.slice(separator + 1));
    if (separator <= 0 || !Number.isSafeInteger(bytes) || bytes < 0) {
      throw new Error(`${JSON.stringify(entry)} is not of the form TOPIC_PREFIX:BYTES`);
    }
    limits.set(entry.slice(0, separator), bytes);
  }
  return limits;
}
