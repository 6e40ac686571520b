// Topic configs that Kafka 3.x still accepts but has deprecated, and that have no effect in Brook.
// Tools and clients written for Kafka 3.x set them (message.format.version is still in many
// CreateTopics calls), so refusing them as unknown breaks those tools. They are accepted, checked
// for a well-typed value, stored with the topic's other overrides and shown by DescribeConfigs when
// set, and the first use of each in a process logs a warning saying what to do instead.

import type { ConfigDefinition } from './definitions.js';
import type { BrookErrorCode } from '../util/errors.js';

export interface DeprecatedTopicConfig extends ConfigDefinition {
  /** The Kafka release that deprecated it, and why it does nothing in Brook. */
  readonly deprecatedIn: string;
  readonly instead: string;
}

const deprecated: DeprecatedTopicConfig[] = [
  {
    name: 'message.format.version',
    type: 'string',
    defaultValue: null,
    validate: (value) => {
      if (!/^\d+\.\d+(\.\d+)?(-IV\d+)?$/.test(value as string)) {
        throw new Error('expected a Kafka version such as 2.8 or 3.0-IV1');
      }
    },
    documentation:
      'Deprecated in Kafka 3.0; no effect: Brook stores and serves record batches of format v2 only.',
    dynamic: true,
    deprecatedIn: 'Kafka 3.0 (KIP-724)',
    instead:
      'remove it; Brook always keeps record batches in format v2 (the format every Kafka since 0.11 writes)',
  },
  {
    name: 'message.downconversion.enable',
    type: 'boolean',
    defaultValue: null,
    documentation:
      'Deprecated in Kafka 3.x and removed in 4.0; no effect: Brook never down-converts record batches.',
    dynamic: true,
    deprecatedIn: 'Kafka 3.x (KIP-724; removed in 4.0)',
    instead: 'remove it; Brook never down-converts record batches for old fetchers',
  },
  {
    name: 'message.timestamp.difference.max.ms',
    type: 'long',
    defaultValue: null,
    minimum: 0,
    documentation:
      'Deprecated in Kafka 3.6; no effect in Brook: use message.timestamp.before.max.ms and message.timestamp.after.max.ms.',
    dynamic: true,
    deprecatedIn: 'Kafka 3.6 (KIP-937)',
    instead: 'set message.timestamp.before.max.ms and message.timestamp.after.max.ms instead',
  },
];

export const deprecatedTopicConfigs: ReadonlyMap<string, DeprecatedTopicConfig> = new Map(
  deprecated.map((definition) => [definition.name, definition]),
);

const warned = new Set<string>();

/**
 * Reports a deprecated topic config once per process, as a Node.js process warning (printed on
 * stderr by `brook start`; an embedding application sees it as a 'warning' event).
 */
export function warnDeprecatedTopicConfig(definition: DeprecatedTopicConfig): void {
  if (warned.has(definition.name)) return;
  warned.add(definition.name);
  process.emitWarning(
    `topic config ${definition.name} is deprecated since ${definition.deprecatedIn} and has no effect in Brook; it is accepted and stored, but ${definition.instead}`,
    { code: DEPRECATED_TOPIC_CONFIG_WARNING },
  );
}

export const DEPRECATED_TOPIC_CONFIG_WARNING =
  'BROOK_CONFIG_DEPRECATED_TOPIC_CONFIG' satisfies BrookErrorCode;
