// The storage layer's public surface: PartitionLog, LogManager, LogDirectories, LogConfig, FileIo
// and errors.
export * from './partition-log.js';
export * from './log-manager.js';
export * from './log-directories.js';
export * from './log-config.js';
export * from './file-io.js';
export * from './errors.js';
export { cleanLog, type CleanResult } from './log-cleaner.js';
export { lockDirectory, LOCK_FILE_NAME } from './directory-lock.js';
export { encodeCheckpoint, decodeCheckpoint, type CheckpointEntry } from './checkpoint.js';
export {
  LeaderEpochCache,
  LEADER_EPOCH_CHECKPOINT,
  type EpochEntry,
} from './leader-epoch-cache.js';
