// DescribeCluster (API key 60): the brokers as the requesting client reaches them, the controller
// (this broker: it runs the whole cluster), and the cluster id. Brook serves brokers only, so a
// request for controller endpoints (endpoint type 2, v1) is UNSUPPORTED_ENDPOINT_TYPE.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { BrokerNode } from './metadata.js';
import { defineHandler, type RequestContext } from './registry.js';
import { servedVersions } from './served-versions.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  ResourceType,
  allAuthorizedOperations,
} from '../security/acl.js';

const ENDPOINT_TYPE_BROKERS = 1;

/**
 * Without an authorizer every principal may do everything the cluster resource supports, and
 * Kafka says so when asked; with one, the authorization layer (shared/authorization.ts) replaces
 * this with the principal's own.
 */
const ALL_CLUSTER_OPERATIONS = allAuthorizedOperations(ResourceType.CLUSTER);

export interface DescribeClusterHandlerDependencies {
  readonly clusterId: string;
  /** This broker outside cluster mode; the elected controller in it (-1 while there is none). */
  readonly controllerId: () => number;
  /** The brokers as clients reach them through the listener the request came in on. */
  readonly brokers: (context: RequestContext) => readonly BrokerNode[];
}

export function createDescribeClusterHandler(dependencies: DescribeClusterHandlerDependencies) {
  return defineHandler(ApiKey.DescribeCluster, {
    ...servedVersions[ApiKey.DescribeCluster],

    handle(request, context) {
      if (request.endpointType !== ENDPOINT_TYPE_BROKERS) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
          errorMessage: `endpoint type ${request.endpointType} is not served; Brook lists brokers (endpoint type 1) only`,
          endpointType: request.endpointType,
          clusterId: dependencies.clusterId,
          controllerId: -1,
          brokers: [],
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        endpointType: ENDPOINT_TYPE_BROKERS,
        clusterId: dependencies.clusterId,
        controllerId: dependencies.controllerId(),
        brokers: dependencies.brokers(context).map((broker) => ({
          brokerId: broker.nodeId,
          host: broker.host,
          port: broker.port,
          rack: broker.rack,
        })),
        clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
          ? ALL_CLUSTER_OPERATIONS
          : AUTHORIZED_OPERATIONS_OMITTED,
      };
    },

    errorResponse(_request, errorCode) {
      return {
        throttleTimeMs: 0,
        errorCode,
        clusterId: dependencies.clusterId,
        brokers: [],
      };
    },
  });
}
