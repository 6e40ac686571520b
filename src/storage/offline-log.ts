// The stand-in log of a partition whose directory could not be opened at start (log.dirs with
// several entries; log-directories.ts). The partition stays known to the broker (Metadata lists
// it, as it lists a partition whose disk failed while running) but every produce, fetch and
// ListOffsets answers KAFKA_STORAGE_ERROR, and nothing is ever written anywhere in its name: the
// real log waits, untouched, on the directory that could not be opened.
//
// It is a PartitionLog that opened as an empty log (the clean-shutdown path that reads nothing)
// over a file seam where no file operation succeeds, and that refuses appends from the start
// with a sticky BROOK_LOG_OFFLINE. Its offsets (0) mean nothing; readers must check
// `offline` before they answer from them.

import { KafkaStorageErrorCode, StorageError, StorageErrorCode } from './errors.js';
import type { FileIo, LogFile } from './file-io.js';
import type { LogConfig } from './log-config.js';
import { PartitionLog } from './partition-log.js';

/** Opens the stand-in for the log at `directory` (inside the offline entry of log.dirs). */
export function openOfflineLog(options: {
  directory: string;
  config: LogConfig;
  /** Why the log directory could not be opened, as logged at start. */
  reason: string;
}): Promise<PartitionLog> {
  const error = new StorageError(
    StorageErrorCode.LOG_OFFLINE,
    `the log ${options.directory} is offline: its log directory could not be opened at start (${options.reason}); restore the directory and restart the broker`,
    KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
  );
  return PartitionLog.open({
    directory: options.directory,
    config: options.config,
    io: offlineFileIo(error),
    // The path that opens an empty log from the marker alone, reading nothing.
    sharedCleanShutdown: true,
    closedEmptyAt: 0,
    offline: error,
  });
}

/** A file seam where every read, write and sync fails, and opening and closing cost nothing. */
function offlineFileIo(error: StorageError): FileIo {
  const fail = (): Promise<never> => Promise.reject(error);
  const file = (path: string): LogFile => ({
    path,
    write: fail,
    read: fail,
    datasync: fail,
    truncate: fail,
    size: fail,
    close: () => Promise.resolve(),
  });
  return {
    open: (path) => Promise.resolve(file(path)),
    readFile: fail,
    fileSize: fail,
    writeFileAtomic: fail,
    createExclusive: fail,
    readdir: fail,
    mkdir: fail,
    rename: fail,
    unlink: fail,
    removeDirectory: fail,
    exists: () => Promise.resolve(false),
    syncDirectory: fail,
  };
}
