// IncrementalAlterConfigs (API key 44): changes single configs of a topic or the broker, leaving
// the others as they are. SET and DELETE (back to the default) apply to any config; APPEND and
// SUBTRACT add items to or remove items from a list config (cleanup.policy), starting from its
// current value, override or default. Both are served, not refused.
//
// Each resource is validated whole before anything is applied; validate_only changes nothing.

import { brokerConfigDefinitions } from '../config/broker-definitions.js';
import { renderConfigValue } from '../config/definitions.js';
import {
  isListenerSettingName,
  listenerSetting,
  parseListenerSettingKey,
} from '../config/listener-settings.js';
import type { ConfigDefinition, ConfigValue } from '../config/definitions.js';
import { effectiveTopicConfigs, parseTopicConfigs } from '../config/topic-config.js';
import { topicConfigDefinitions } from '../config/topic-definitions.js';
import type { BrokerConfigs } from '../metadata/broker-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import type {
  IncrementalAlterConfigsRequestAlterConfigsResource,
  IncrementalAlterConfigsRequestAlterableConfig,
} from '../protocol/generated/incremental-alter-configs.js';
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

/** Kafka's AlterConfigOp.OpType codes. */
export const ConfigOperation = {
  SET: 0,
  DELETE: 1,
  APPEND: 2,
  SUBTRACT: 3,
} as const;

export interface IncrementalAlterConfigsHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly brokerConfigs: BrokerConfigs;
  /** Cluster mode: topic overrides go to etcd (config-resources.ts). */
  readonly clusterSetTopicConfigs?: TopicConfigsWriter;
}

export function createIncrementalAlterConfigsHandler(
  dependencies: IncrementalAlterConfigsHandlerDependencies,
) {
  const { replicas, brokerConfigs } = dependencies;
  return defineHandler(ApiKey.IncrementalAlterConfigs, {
    ...servedVersions[ApiKey.IncrementalAlterConfigs],

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
    resource: IncrementalAlterConfigsRequestAlterConfigsResource,
    validateOnly: boolean,
  ): Promise<void> {
    const seen = new Set<string>();
    for (const config of resource.configs) {
      if (seen.has(config.name)) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REQUEST,
          `config ${config.name} is named twice`,
        );
      }
      seen.add(config.name);
    }
    const broker = brokerConfigs.current();
    switch (resource.resourceType) {
      case ConfigResourceType.TOPIC: {
        const topic = topicResource(replicas, resource.resourceName);
        const overrides = new Map(Object.entries(topic.metadata.configs));
        const effective = effectiveTopicConfigs(broker, parseTopicConfigs(overrides));
        const values = applyOperations(resource.configs, overrides, {
          definition: (name) => topicConfigDefinitions.get(name),
          currentValue: (name) => effective.get(name) ?? null,
          kind: 'topic config',
        });
        await replaceTopicOverrides(
          replicas,
          broker,
          topic.metadata.name,
          values,
          validateOnly,
          dependencies.clusterSetTopicConfigs,
        );
        return;
      }
      case ConfigResourceType.BROKER: {
        const scope = brokerResourceScope(resource.resourceName, broker.nodeId);
        const before = brokerConfigs.dynamicValues(scope);
        // A listener.name.* key is its setting on one listener (APPEND starts from what the
        // listener reads now, perhaps the broker-wide value).
        const listenerKey = (name: string) =>
          isListenerSettingName(name) ? parseListenerSettingKey(name) : null;
        const after = applyOperations(resource.configs, before, {
          definition: (name) => brokerConfigDefinitions.get(listenerKey(name)?.setting ?? name),
          currentValue: (name) => {
            const key = listenerKey(name);
            if (key === null) return broker.settings.get(name)?.value ?? null;
            return listenerSetting(broker, key.listener, key.setting, key.mechanism);
          },
          kind: 'broker setting',
        });
        const changes: Array<{ name: string; value: string | null }> = [];
        for (const [name, value] of after)
          if (before.get(name) !== value) changes.push({ name, value });
        for (const name of before.keys()) if (!after.has(name)) changes.push({ name, value: null });
        await brokerConfigs.alter(scope, changes, validateOnly);
        return;
      }
      default:
        throw unsupportedResourceType(resource.resourceType);
    }
  }
}

interface ConfigSpace {
  definition(name: string): ConfigDefinition | undefined;
  /** The value in effect now (override or default), for APPEND and SUBTRACT. */
  currentValue(name: string): ConfigValue;
  readonly kind: string;
}

/**
 * The set of explicitly set values after the operations, as text by name. Values are validated
 * by the caller, on the whole result; here only what the operations themselves require.
 */
function applyOperations(
  operations: readonly IncrementalAlterConfigsRequestAlterableConfig[],
  current: ReadonlyMap<string, string>,
  space: ConfigSpace,
): Map<string, string> {
  const values = new Map(current);
  for (const operation of operations) {
    const { name } = operation;
    switch (operation.configOperation) {
      case ConfigOperation.SET:
        if (operation.value === null) {
          throw new AdminRequestError(ErrorCode.INVALID_REQUEST, `SET of ${name} needs a value`);
        }
        values.set(name, operation.value);
        break;
      case ConfigOperation.DELETE:
        values.delete(name);
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT: {
        const definition = space.definition(name);
        if (definition === undefined) {
          throw new AdminRequestError(ErrorCode.INVALID_CONFIG, `unknown ${space.kind} ${name}`);
        }
        if (definition.type !== 'list') {
          const verb = operation.configOperation === ConfigOperation.APPEND ? 'APPEND' : 'SUBTRACT';
          throw new AdminRequestError(
            ErrorCode.INVALID_REQUEST,
            `${verb} applies to list configs only; ${name} is a ${definition.type}`,
          );
        }
        const explicit = values.get(name);
        const items = listItems(explicit ?? renderConfigValue(space.currentValue(name)));
        const given = listItems(operation.value);
        const next =
          operation.configOperation === ConfigOperation.APPEND
            ? [...items, ...given.filter((item) => !items.includes(item))]
            : items.filter((item) => !given.includes(item));
        values.set(name, next.join(','));
        break;
      }
      default:
        throw new AdminRequestError(
          ErrorCode.INVALID_REQUEST,
          `unknown config operation ${operation.configOperation} for ${name}`,
        );
    }
  }
  return values;
}

function listItems(text: string | null): string[] {
  if (text === null) return [];
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
