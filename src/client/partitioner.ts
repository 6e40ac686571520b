// The partition Kafka's Java client (and kafkajs' default partitioner) picks for a keyed record:
// murmur2 of the key bytes, made positive, modulo the partition count. `brook produce --key K`
// uses it so that a key lands where the operator's applications would put it.

const seed = 0x9747b28c;
const multiplier = 0x5bd1e995;
const shift = 24;

/** Kafka's 32-bit murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed int. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let hash = seed ^ length;
  const wholeWords = length >>> 2;
  for (let index = 0; index < wholeWords; index++) {
    let word = data.readInt32LE(index * 4);
    word = Math.imul(word, multiplier);
    word ^= word >>> shift;
    word = Math.imul(word, multiplier);
    hash = Math.imul(hash, multiplier);
    hash ^= word;
  }
  const tail = length & ~3;
  const remainder = length % 4;
  if (remainder === 3) hash ^= data[tail + 2] << 16;
  if (remainder >= 2) hash ^= data[tail + 1] << 8;
  if (remainder >= 1) {
    hash ^= data[tail];
    hash = Math.imul(hash, multiplier);
  }
  hash ^= hash >>> 13;
  hash = Math.imul(hash, multiplier);
  hash ^= hash >>> 15;
  return hash | 0;
}

/** The partition of a keyed record among `partitionCount`. */
export function partitionForKey(key: Buffer, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}
