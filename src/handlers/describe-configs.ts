// DescribeConfigs (API key 32): every config of a topic or of the broker with its value, whether
// it is the default and where it comes from, read-only and sensitive flags, synonyms when asked
// (v1+), and the config's type and documentation (v3+).
//
// A topic lists every topic config, not only its overrides: clients show the defaults too, and a
// broker that lists nothing breaks them. A BROKER resource named by
// this broker's node id lists every broker setting; the one named "" (the cluster default) lists
// the values set as cluster defaults through AlterConfigs, as Kafka does.

import { ConfigSource } from '../config/broker-config.js';
import { brokerConfigDefinitions } from '../config/broker-definitions.js';
import { configTypeCode } from '../config/definitions.js';
import {
  type DescribedConfig,
  describeBrokerConfigs,
  describeTopicConfigs,
  parseTopicConfigs,
} from '../config/topic-config.js';
import type { BrokerConfigs } from '../metadata/broker-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import type {
  DescribeConfigsRequest,
  DescribeConfigsRequestDescribeConfigsResource,
  DescribeConfigsResponseDescribeConfigsResourceResultInput,
  DescribeConfigsResponseDescribeConfigsResultInput,
} from '../protocol/generated/describe-configs.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import {
  ConfigResourceType,
  brokerResourceScope,
  topicResource,
  unsupportedResourceType,
} from './shared/config-resources.js';
import { adminErrorOf } from './shared/errors.js';

export interface DescribeConfigsHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly brokerConfigs: BrokerConfigs;
}

export function createDescribeConfigsHandler(dependencies: DescribeConfigsHandlerDependencies) {
  const { replicas, brokerConfigs } = dependencies;
  return defineHandler(ApiKey.DescribeConfigs, {
    ...servedVersions[ApiKey.DescribeConfigs],

    handle(request) {
      const results = request.resources.map((resource) => {
        try {
          const configs = describeResource(resource)
            .filter(
              (config) =>
                resource.configurationKeys === null ||
                resource.configurationKeys.includes(config.name),
            )
            .map((config) => toResponse(config, request));
          return result(resource, ErrorCode.NONE, null, configs);
        } catch (error) {
          const { errorCode, errorMessage } = adminErrorOf(error);
          return result(resource, errorCode, errorMessage, []);
        }
      });
      return { throttleTimeMs: 0, results };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        results: request.resources.map((resource) => result(resource, errorCode, null, [])),
      };
    },
  });

  function describeResource(
    resource: DescribeConfigsRequestDescribeConfigsResource,
  ): DescribedConfig[] {
    const broker = brokerConfigs.current();
    switch (resource.resourceType) {
      case ConfigResourceType.TOPIC: {
        // Internal topics are listed by Metadata but are not among the data topics
        // (replica/internal-topic.ts); their configs are described all the same.
        const metadata =
          replicas.internalTopicMetadata().find((topic) => topic.name === resource.resourceName) ??
          topicResource(replicas, resource.resourceName).metadata;
        return describeTopicConfigs(broker, parseTopicConfigs(Object.entries(metadata.configs)));
      }
      case ConfigResourceType.BROKER: {
        const scope = brokerResourceScope(resource.resourceName, broker.nodeId);
        if (scope === 'broker') return describeBrokerConfigs(broker);
        return describeClusterDefaults(brokerConfigs.dynamicValues('default'));
      }
      default:
        throw unsupportedResourceType(resource.resourceType);
    }
  }
}

/** The cluster-default broker resource: only what AlterConfigs set there. */
function describeClusterDefaults(values: ReadonlyMap<string, string>): DescribedConfig[] {
  const described: DescribedConfig[] = [];
  for (const [name, value] of values) {
    const definition = brokerConfigDefinitions.get(name);
    if (definition === undefined) continue;
    const sensitive = definition.sensitive === true;
    described.push({
      name,
      value: sensitive ? null : value,
      readOnly: false,
      isDefault: false,
      source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      isSensitive: sensitive,
      synonyms: [
        {
          name,
          value: sensitive ? null : value,
          source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
        },
      ],
      configType: configTypeCode(definition.type),
      documentation: definition.documentation,
    });
  }
  return described;
}

function toResponse(
  config: DescribedConfig,
  request: DescribeConfigsRequest,
): DescribeConfigsResponseDescribeConfigsResourceResultInput {
  return {
    name: config.name,
    value: config.isSensitive ? null : config.value,
    readOnly: config.readOnly,
    isDefault: config.isDefault,
    configSource: config.source,
    isSensitive: config.isSensitive,
    synonyms: request.includeSynonyms
      ? config.synonyms.map((synonym) => ({
          name: synonym.name,
          value: config.isSensitive ? null : synonym.value,
          source: synonym.source,
        }))
      : [],
    configType: config.configType,
    documentation: request.includeDocumentation ? config.documentation : null,
  };
}

function result(
  resource: DescribeConfigsRequestDescribeConfigsResource,
  errorCode: number,
  errorMessage: string | null,
  configs: DescribeConfigsResponseDescribeConfigsResourceResultInput[],
): DescribeConfigsResponseDescribeConfigsResultInput {
  return {
    errorCode,
    errorMessage,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs,
  };
}
