// The coordinators' internal topics, by name. In cluster mode they are topics of the cluster like
// any other (mirrored without the local `internal` mark), so handlers recognise them by name.

import { OFFSETS_TOPIC_NAME } from '../../coordinator/group/ports.js';
import { TRANSACTION_STATE_TOPIC_NAME } from '../../coordinator/txn/ports.js';

export const INTERNAL_TOPIC_NAMES: ReadonlySet<string> = new Set([
  OFFSETS_TOPIC_NAME,
  TRANSACTION_STATE_TOPIC_NAME,
  // The share engine's state (share/share-engine.ts, a layer above: named here, not imported).
  '__share_group_state',
]);
