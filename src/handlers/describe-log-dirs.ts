// DescribeLogDirs (API key 35): the log directory with each partition's size on disk. One broker
// is its own leader, so every offset lag is 0 and no partition has a future (moving) replica.
// v4 adds the file system's total and usable bytes (statfs).

import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { DescribeLogDirsResponseDescribeLogDirsTopicInput } from '../protocol/generated/describe-log-dirs.js';
import type { Partition } from '../replica/partition.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';

export interface DescribeLogDirsHandlerDependencies {
  readonly replicas: ReplicaManager;
  /** The directory every partition lives in (the first entry of log.dirs). */
  readonly logDir: string;
}

export function createDescribeLogDirsHandler(dependencies: DescribeLogDirsHandlerDependencies) {
  const { replicas } = dependencies;
  const logDir = resolve(dependencies.logDir);
  return defineHandler(ApiKey.DescribeLogDirs, {
    minVersion: 0,
    maxVersion: 4,

    async handle(request, context) {
      const topics: DescribeLogDirsResponseDescribeLogDirsTopicInput[] = [];
      if (request.topics === null) {
        for (const topic of replicas.topics()) {
          // filter() skips the holes of partitions this broker holds no replica of (cluster mode).
          const held = topic.partitions.filter((partition) => partition !== undefined);
          topics.push(describeTopic(topic.metadata.name, held));
        }
      } else {
        for (const requested of request.topics) {
          const topic = replicas.topic(requested.topic);
          if (topic === undefined) continue;
          const partitions = requested.partitions
            .map((index) => topic.partitions[index])
            .filter((partition): partition is Partition => partition !== undefined);
          if (partitions.length > 0) topics.push(describeTopic(requested.topic, partitions));
        }
      }
      let totalBytes = -1n;
      let usableBytes = -1n;
      if (context.apiVersion >= 4) {
        const space = await statfs(logDir, { bigint: true });
        totalBytes = space.blocks * space.bsize;
        usableBytes = space.bavail * space.bsize;
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        results: [{ errorCode: ErrorCode.NONE, logDir, topics, totalBytes, usableBytes }],
      };
    },

    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, results: [] };
    },
  });
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
