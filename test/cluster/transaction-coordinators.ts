// Where a transactional id is coordinated in a cluster, for the tests that place a partition's
// leader away from it (the coordinator is the leader of the id's __transaction_state partition).

import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { waitFor } from '../helpers/poll.js';
import { callBroker } from '../helpers/wire-client.js';

/** FindCoordinator key type 1: the transaction coordinator. */
const TRANSACTION_KEY_TYPE = 1;

/**
 * The broker id coordinating `transactionalId`, once one does (the first FindCoordinator creates
 * `__transaction_state`, and the answer is COORDINATOR_NOT_AVAILABLE until it is placed).
 */
export function transactionCoordinatorOf(
  bootstrap: () => string,
  transactionalId: string,
  timeoutMs: number,
): Promise<number> {
  return waitFor(
    async () => {
      const response = await callBroker<FindCoordinatorResponse>(
        bootstrap(),
        ApiKey.FindCoordinator,
        4,
        { keyType: TRANSACTION_KEY_TYPE, coordinatorKeys: [transactionalId] },
      );
      const coordinator = response.coordinators[0];
      return coordinator?.errorCode === ErrorCode.NONE ? coordinator.nodeId : undefined;
    },
    `a transaction coordinator for ${transactionalId}`,
    { timeoutMs },
  );
}
