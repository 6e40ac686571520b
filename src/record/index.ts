// RecordBatch v2: header layout and validation (batch.ts), records (records.ts), codecs, key/value
// batches for internal topics (key-value-batch.ts).
export * from './batch.js';
export * from './records.js';
export * from './compression.js';
export * from './timestamp-repair.js';
export * from './key-value-batch.js';
