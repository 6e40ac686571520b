// RecordBatch v2: header layout and validation (batch.ts), records (records.ts), codecs.
export * from './batch.js';
export * from './records.js';
export * from './compression.js';
export * from './timestamp-repair.js';
