// Brook's public API for programs and tests that embed a broker.
export { type Broker, type StartBrokerOptions, startBroker } from './broker.js';
// Every error Brook raises on purpose, with its stable code (docs/errors.md).
export { BrookError, type BrookErrorCode, brookErrorCodes } from './util/errors.js';
// A local cluster (etcd and broker processes) in one call, for tests and `brook dev-cluster`.
export {
  type Cluster,
  type ClusterBrokerInfo,
  type StartClusterOptions,
  startCluster,
} from './cluster/start-cluster.js';
