// The broker's configuration as it changes at run time: AlterConfigs and IncrementalAlterConfigs
// on a BROKER resource replace it, DescribeConfigs and CreateTopics read it.
//
// Dynamic values are persisted in the metadata store's broker configs, so they survive a restart.
// That store holds one flat map of text values; values set for this broker (resource name = node
// id) are kept under their own names, values set as the cluster default (resource name "") under
// CLUSTER_DEFAULT_PREFIX + name.
//
// Owned by the broker. Changes are serialised: two AlterConfigs must not both read the old config
// and the later one silently undo the earlier one across the persist `await`.

import {
  type BrokerConfig,
  type BrokerConfigChange,
  alterBrokerConfig,
} from '../config/broker-config.js';
import { renderConfigValue } from '../config/definitions.js';
import type { MetadataStore } from './metadata-store.js';

export const CLUSTER_DEFAULT_PREFIX = 'cluster-default:';

export type BrokerConfigScope = 'broker' | 'default';

export interface BrokerConfigs {
  current(): BrokerConfig;
  /**
   * The config after `changes` to one scope's dynamic values (null value = remove), validated;
   * unless `validateOnly`, persisted and applied before the promise resolves. Throws ConfigError.
   */
  alter(
    scope: BrokerConfigScope,
    changes: readonly BrokerConfigChange[],
    validateOnly: boolean,
  ): Promise<BrokerConfig>;
  /** The dynamic values of one scope as text, by Kafka name. */
  dynamicValues(scope: BrokerConfigScope): Map<string, string>;
}

/**
 * Re-applies persisted dynamic values to a freshly resolved config (at start-up). A value that no
 * longer applies (the setting became static, or a static setting now contradicts it) is skipped
 * and reported through `warn`, as Kafka does: a stale dynamic value must not keep the broker from
 * starting.
 */
export function withStoredBrokerConfigs(
  config: BrokerConfig,
  stored: Readonly<Record<string, string>>,
  warn: (message: string) => void = () => undefined,
): BrokerConfig {
  const ordered = Object.entries(stored).map(([key, value]) =>
    key.startsWith(CLUSTER_DEFAULT_PREFIX)
      ? { scope: 'default' as const, name: key.slice(CLUSTER_DEFAULT_PREFIX.length), value }
      : { scope: 'broker' as const, name: key, value },
  );
  // Cluster defaults first, so that this broker's own values sit above them.
  ordered.sort((a, b) => (a.scope === b.scope ? 0 : a.scope === 'default' ? -1 : 1));
  let result = config;
  for (const { scope, name, value } of ordered) {
    try {
      result = alterBrokerConfig(result, scope, [{ name, value }]);
    } catch (error) {
      warn(
        `ignoring the stored dynamic broker config ${name}=${value}: ${(error as Error).message}`,
      );
    }
  }
  return result;
}

export function createBrokerConfigs(options: {
  readonly initial: BrokerConfig;
  readonly metadata: MetadataStore;
  /** Called after each applied change, to re-apply topic log configs and the like. */
  readonly onChange?: (config: BrokerConfig) => void;
  /**
   * Checks what a change needs beyond the config itself (a new keystore must load) before
   * anything is persisted, validate_only included: throws ConfigError to refuse the change, else
   * returns what applies it once persisted.
   */
  readonly prepare?: (next: BrokerConfig, previous: BrokerConfig) => () => void;
  /** Where a stored value that no longer applies is reported at start-up. */
  readonly warn?: (message: string) => void;
}): BrokerConfigs {
  let config = withStoredBrokerConfigs(
    options.initial,
    options.metadata.brokerConfigs(),
    options.warn,
  );
  let changes: Promise<unknown> = Promise.resolve();

  const dynamicValues = (of: BrokerConfig, scope: BrokerConfigScope): Map<string, string> => {
    const layer = scope === 'broker' ? of.layers.dynamicBroker : of.layers.dynamicDefault;
    const values = new Map<string, string>();
    for (const [name, setting] of layer) {
      const text = renderConfigValue(setting.value);
      if (text !== null) values.set(name, text);
    }
    return values;
  };

  return {
    current: () => config,
    dynamicValues: (scope) => dynamicValues(config, scope),
    alter(scope, requested, validateOnly) {
      const run = changes.then(async () => {
        const next = alterBrokerConfig(config, scope, requested);
        const apply = options.prepare?.(next, config);
        if (validateOnly) return next;
        const stored: Record<string, string> = {};
        for (const [name, value] of dynamicValues(next, 'default')) {
          stored[CLUSTER_DEFAULT_PREFIX + name] = value;
        }
        for (const [name, value] of dynamicValues(next, 'broker')) stored[name] = value;
        await options.metadata.setBrokerConfigs(stored);
        config = next;
        apply?.();
        options.onChange?.(next);
        return next;
      });
      changes = run.catch(() => undefined);
      return run;
    },
  };
}
