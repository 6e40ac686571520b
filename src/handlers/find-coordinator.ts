// FindCoordinator (key 10): which broker coordinates a group (key type 0) or a transactional id
// (key type 1): the leader of the key's partition of `__consumer_offsets` or
// `__transaction_state` (in a cluster, from the view; COORDINATOR_NOT_AVAILABLE while it has
// none). Key type 2 (share), with a share group's id as the key, names the broker that serves
// that KIP-932 share group: the leader of its `__share_group_state` partition. v4+ batches
// several keys in one request. librdkafka 2.0.2 needs v0 advertised or it never looks a
// coordinator up.

import type {
  FindCoordinatorResult,
  GroupCoordinator,
} from '../coordinator/group/group-coordinator.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import type {
  FindCoordinatorResponseCoordinatorInput,
  FindCoordinatorResponseInput,
} from '../protocol/generated/find-coordinator.js';
import type { CoordinatorNode } from '../coordinator/group/ports.js';
import { type RequestContext, defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

const batchedKeysVersionMin = 4;
const TRANSACTION_KEY_TYPE = 1;
const SHARE_KEY_TYPE = 2;

function coordinatorEntry(result: FindCoordinatorResult): FindCoordinatorResponseCoordinatorInput {
  return {
    key: result.key,
    nodeId: result.node?.nodeId ?? -1,
    host: result.node?.host ?? '',
    port: result.node?.port ?? -1,
    errorCode: result.errorCode,
    errorMessage: result.errorMessage,
  };
}

function singleKeyResponse(
  result: FindCoordinatorResult,
  version: number,
): FindCoordinatorResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    errorMessage: version >= 1 ? result.errorMessage : null,
    nodeId: result.node?.nodeId ?? -1,
    host: result.node?.host ?? '',
    port: result.node?.port ?? -1,
  };
}

/**
 * `transactions` answers key type 1 where given; without it the group coordinator answers every
 * key type (this broker for transactional ids). `shareGroups` answers key type 2 where given.
 *
 * `addressOn` gives a broker's address on the listener a request came in on, so a client on an
 * SSL listener is sent to the SSL port of the coordinator, not the first listener's.
 */
export function createFindCoordinatorHandler(
  coordinator: GroupCoordinator,
  addressOn?: (context: RequestContext, nodeId: number) => CoordinatorNode | undefined,
  transactions?: TransactionCoordinator,
  shareGroups?: (groupId: string) => FindCoordinatorResult,
) {
  const find = (keyType: number, key: string, context: RequestContext): FindCoordinatorResult => {
    const result: FindCoordinatorResult =
      keyType === TRANSACTION_KEY_TYPE && transactions !== undefined
        ? { key, ...transactions.findCoordinator(key) }
        : keyType === SHARE_KEY_TYPE && shareGroups !== undefined
          ? shareGroups(key)
          : coordinator.findCoordinator(keyType, key);
    if (addressOn === undefined || result.node === null || result.node === undefined) {
      return result;
    }
    const onListener = addressOn(context, result.node.nodeId);
    return onListener === undefined ? result : { ...result, node: onListener };
  };
  return defineHandler(ApiKey.FindCoordinator, {
    ...servedVersions[ApiKey.FindCoordinator],
    handle(request, context) {
      if (context.apiVersion >= batchedKeysVersionMin) {
        return {
          throttleTimeMs: 0,
          coordinators: request.coordinatorKeys.map((key) =>
            coordinatorEntry(find(request.keyType, key, context)),
          ),
        };
      }
      return singleKeyResponse(find(request.keyType, request.key, context), context.apiVersion);
    },
    errorResponse(request, errorCode, context) {
      const failed = (key: string): FindCoordinatorResult => ({
        key,
        errorCode,
        errorMessage: null,
        node: null,
      });
      if (context.apiVersion >= batchedKeysVersionMin) {
        return {
          throttleTimeMs: 0,
          coordinators: request.coordinatorKeys.map((key) => coordinatorEntry(failed(key))),
        };
      }
      return singleKeyResponse(failed(request.key), context.apiVersion);
    },
  });
}
