// DescribeLogDirs (API key 35): each entry of log.dirs with the partitions it holds and their size
// on disk. The broker is its own leader or a follower that does not move replicas between its
// directories, so every offset lag is 0 and no partition has a future (moving) replica. A failed
// directory (one of its logs holds a sticky storage failure, storage/log-directories.ts) answers
// KAFKA_STORAGE_ERROR and no partitions, as Kafka reports an offline directory.
// v4 adds the file system's total and usable bytes (statfs).

import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { DescribeLogDirsResponseDescribeLogDirsTopicInput } from '../protocol/generated/describe-log-dirs.js';
import type { Partition } from '../replica/partition.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import type { LogDirectories } from '../storage/log-directories.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export interface DescribeLogDirsHandlerDependencies {
  readonly replicas: ReplicaManager;
  /** The entries of log.dirs, and which holds each partition's log. */
  readonly logDirectories: Pick<LogDirectories, 'states' | 'directoryOf'>;
}

export function createDescribeLogDirsHandler(dependencies: DescribeLogDirsHandlerDependencies) {
  const { replicas, logDirectories } = dependencies;
  return defineHandler(ApiKey.DescribeLogDirs, {
    ...servedVersions[ApiKey.DescribeLogDirs],

    async handle(request, context) {
      const held: Array<{ name: string; partitions: readonly Partition[] }> = [];
      if (request.topics === null) {
        for (const topic of replicas.topics()) {
          // filter() skips the holes of partitions this broker holds no replica of (cluster mode).
          const partitions = topic.partitions.filter((partition) => partition !== undefined);
          held.push({ name: topic.metadata.name, partitions });
        }
      } else {
        for (const requested of request.topics) {
          const topic = replicas.topic(requested.topic);
          if (topic === undefined) continue;
          const partitions = requested.partitions
            .map((index) => topic.partitions[index])
            .filter((partition): partition is Partition => partition !== undefined);
          held.push({ name: requested.topic, partitions });
        }
      }
      const states = logDirectories.states();
      // Per directory, per topic: the partitions it holds. A log no directory claims is counted
      // in the first, where it would have been before there were several.
      const byDirectory = new Map<string, Map<string, Partition[]>>(
        states.map((state) => [state.directory, new Map()]),
      );
      for (const { name, partitions } of held) {
        for (const partition of partitions) {
          const directory =
            logDirectories.directoryOf(name, partition.partitionIndex) ?? states[0].directory;
          const topics = byDirectory.get(directory)!;
          const listed = topics.get(name);
          if (listed === undefined) topics.set(name, [partition]);
          else listed.push(partition);
        }
      }
      const results = await Promise.all(
        states.map(async (state) => {
          const logDir = resolve(state.directory);
          if (state.failed) {
            const failed = { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, logDir, topics: [] };
            return { ...failed, totalBytes: -1n, usableBytes: -1n };
          }
          const topics = [...byDirectory.get(state.directory)!].map(([name, partitions]) =>
            describeTopic(name, partitions),
          );
          const space = context.apiVersion >= 4 ? await spaceOf(logDir) : null;
          return {
            errorCode: ErrorCode.NONE,
            logDir,
            topics,
            totalBytes: space?.totalBytes ?? -1n,
            usableBytes: space?.usableBytes ?? -1n,
          };
        }),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
    },

    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, results: [] };
    },
  });
}

/** The file system's total and usable bytes, or null when it cannot be read (-1 is answered). */
async function spaceOf(
  directory: string,
): Promise<{ totalBytes: bigint; usableBytes: bigint } | null> {
  try {
    const space = await statfs(directory, { bigint: true });
    return { totalBytes: space.blocks * space.bsize, usableBytes: space.bavail * space.bsize };
  } catch {
    return null;
  }
}

function describeTopic(
  name: string,
  partitions: readonly Partition[],
): DescribeLogDirsResponseDescribeLogDirsTopicInput {
  return {
    name,
    partitions: partitions.map((partition) => ({
      partitionIndex: partition.partitionIndex,
      partitionSize: BigInt(partition.log.sizeInBytes),
      offsetLag: 0n,
      isFutureKey: false,
    })),
  };
}
