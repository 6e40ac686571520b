// AlterConfigs (API key 33), the legacy form: each resource's configs replace its whole set of
// overrides. A topic keeps exactly the configs named (others return to their defaults); the
// broker keeps exactly the dynamic values named for that scope. IncrementalAlterConfigs is the
// form that changes one config at a time.
//
// Every change in a resource is validated before any is applied, so a resource is changed
// completely or not at all; validate_only validates and changes nothing.

import type { BrokerConfigs } from '../metadata/broker-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import type { AlterConfigsRequestAlterConfigsResource } from '../protocol/generated/alter-configs.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import {
  ConfigResourceType,
  alterEachResource,
  resourceOutcome,
  brokerResourceScope,
  replaceTopicOverrides,
  type TopicConfigsWriter,
  topicResource,
  unsupportedResourceType,
} from './shared/config-resources.js';
import { AdminRequestError } from './shared/errors.js';

export interface AlterConfigsHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly brokerConfigs: BrokerConfigs;
  /** Cluster mode: topic overrides go to etcd (config-resources.ts). */
  readonly clusterSetTopicConfigs?: TopicConfigsWriter;
}

export function createAlterConfigsHandler(dependencies: AlterConfigsHandlerDependencies) {
  const { replicas, brokerConfigs } = dependencies;
  return defineHandler(ApiKey.AlterConfigs, {
    ...servedVersions[ApiKey.AlterConfigs],

    async handle(request) {
      const responses = await alterEachResource(replicas, request.resources, (resource) =>
        alter(resource, request.validateOnly),
      );
      return { throttleTimeMs: 0, responses };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        responses: request.resources.map((resource) => resourceOutcome(resource, errorCode, null)),
      };
    },
  });

  async function alter(
    resource: AlterConfigsRequestAlterConfigsResource,
    validateOnly: boolean,
  ): Promise<void> {
    const values = new Map<string, string>();
    for (const config of resource.configs) {
      if (values.has(config.name)) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REQUEST,
          `config ${config.name} is named twice`,
        );
      }
      // A null value sets nothing: the config is left at its default.
      if (config.value !== null) values.set(config.name, config.value);
    }
    switch (resource.resourceType) {
      case ConfigResourceType.TOPIC: {
        const topic = topicResource(replicas, resource.resourceName);
        await replaceTopicOverrides(
          replicas,
          brokerConfigs.current(),
          topic.metadata.name,
          values,
          validateOnly,
          dependencies.clusterSetTopicConfigs,
        );
        return;
      }
      case ConfigResourceType.BROKER: {
        const scope = brokerResourceScope(resource.resourceName, brokerConfigs.current().nodeId);
        const changes = [...values].map(([name, value]) => ({
          name,
          value: value as string | null,
        }));
        for (const name of brokerConfigs.dynamicValues(scope).keys()) {
          if (!values.has(name)) changes.push({ name, value: null });
        }
        await brokerConfigs.alter(scope, changes, validateOnly);
        return;
      }
      default:
        throw unsupportedResourceType(resource.resourceType);
    }
  }
}
