// Topic and config changes, logged once each at info with who asked (client id, address,
// principal): the line an operator looks for after "who deleted my topic?". The handlers stay as
// they are; `auditAdminChanges` wraps the ones that change something and logs what their response
// says succeeded, so a refused or validate-only request leaves no line.

import { ApiKey } from '../../protocol/generated/index.js';
import { type Logger, maskSecretConfigs } from '../../util/logger.js';
import { type AnyHandler, HandlerRegistry, type RequestContext } from '../registry.js';

const RESOURCE_TYPES: Readonly<Record<number, string>> = { 2: 'topic', 4: 'broker' };
const CONFIG_OPERATIONS: Readonly<Record<number, string>> = {
  0: 'set',
  1: 'delete',
  2: 'append',
  3: 'subtract',
};

interface Change {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- each describer reads one API's generated shapes */
type Describer = (request: any, response: any) => Change[];

const describers: ReadonlyMap<number, Describer> = new Map<number, Describer>([
  [
    ApiKey.CreateTopics,
    (request, response) => {
      if (request.validateOnly) return [];
      return (response.topics as any[])
        .filter((topic) => topic.errorCode === 0)
        .map((topic) => {
          const asked = (request.topics as any[]).find(
            (candidate) => candidate.name === topic.name,
          );
          return {
            message: 'topic created',
            fields: {
              topic: topic.name,
              partitions: topic.numPartitions ?? asked?.numPartitions,
              replicationFactor: topic.replicationFactor ?? asked?.replicationFactor,
              configs: maskSecretConfigs(
                ((asked?.configs ?? []) as any[]).map((config) => [config.name, config.value]),
              ),
            },
          };
        });
    },
  ],
  [
    ApiKey.DeleteTopics,
    (_request, response) =>
      (response.responses as any[])
        .filter((result) => result.errorCode === 0)
        .map((result) => ({
          message: 'topic deleted',
          fields: {
            topic: result.name,
            topicId: Buffer.isBuffer(result.topicId) ? result.topicId.toString('hex') : undefined,
          },
        })),
  ],
  [
    ApiKey.CreatePartitions,
    (request, response) => {
      if (request.validateOnly) return [];
      return (response.results as any[])
        .filter((result) => result.errorCode === 0)
        .map((result) => ({
          message: 'partitions added',
          fields: {
            topic: result.name,
            partitions: (request.topics as any[]).find((topic) => topic.name === result.name)
              ?.count,
          },
        }));
    },
  ],
  [ApiKey.AlterConfigs, (request, response) => configChanges(request, response, true)],
  [ApiKey.IncrementalAlterConfigs, (request, response) => configChanges(request, response, false)],
]);

function configChanges(request: any, response: any, replaced: boolean): Change[] {
  if (request.validateOnly) return [];
  return (response.responses as any[])
    .filter((result) => result.errorCode === 0)
    .map((result) => {
      const asked = (request.resources as any[]).find(
        (resource) =>
          resource.resourceType === result.resourceType &&
          resource.resourceName === result.resourceName,
      );
      const configs = (asked?.configs ?? []) as any[];
      return {
        message: 'configs changed',
        fields: {
          resourceType: RESOURCE_TYPES[result.resourceType] ?? result.resourceType,
          resourceName: result.resourceName,
          // AlterConfigs replaces the whole set; IncrementalAlterConfigs names an operation each.
          replaced,
          configs: maskSecretConfigs(
            configs.map((config) => [
              config.configOperation === undefined
                ? config.name
                : `${config.name} (${CONFIG_OPERATIONS[config.configOperation] ?? config.configOperation})`,
              config.value,
            ]),
          ),
        },
      };
    });
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function requestFields(context: RequestContext): Record<string, unknown> {
  return {
    clientId: context.clientId,
    remote: `${context.remoteAddress}:${context.remotePort}`,
    principal: context.principal,
  };
}

/** The handler, logging the changes its responses report; handlers of other APIs unchanged. */
export function auditAdminChanges(handler: AnyHandler, logger: Logger): AnyHandler {
  const describe = describers.get(handler.apiKey);
  if (describe === undefined) return handler;
  const report = (request: unknown, response: unknown, context: RequestContext): void => {
    if (typeof response !== 'object' || response === null) return;
    for (const change of describe(request, response))
      logger.info(change.message, { ...change.fields, ...requestFields(context) });
  };
  return {
    ...handler,
    handle(request, context) {
      const result = handler.handle(request, context);
      if (result instanceof Promise) {
        return result.then((response: unknown) => {
          report(request, response, context);
          return response;
        });
      }
      report(request, result, context);
      return result;
    },
  };
}

/** The same handlers, those that change topics and configs wrapped by `auditAdminChanges`. */
export function auditedRegistry(registry: HandlerRegistry, logger: Logger): HandlerRegistry {
  const audited = new HandlerRegistry();
  for (const handler of registry.list()) audited.register(auditAdminChanges(handler, logger));
  return audited;
}
