// How a broker opens a Kafka connection to another broker of its cluster: on the listener named by
// inter.broker.listener.name (the first listener when unset), with that listener's security, so
// replication and transaction markers can run over TLS and SASL while clients use another
// listener. The broker builds the settings from its config; this module only connects.

import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { KafkaConnection } from '../client/kafka-connection.js';
import type { SaslCredentials, SaslMechanism } from '../client/sasl-client.js';
import { type BrokerConfig, parseJaasCredentials } from '../config/broker-config.js';
import { listenerSetting } from '../config/listener-settings.js';
import { type ClusterView, endpointOn } from '../metadata/cluster-metadata.js';
import { usesSasl, usesTls } from '../security/listener-security.js';

/**
 * How a broker retries a request another broker refused or did not answer (transaction markers,
 * audit lines): Kafka's client defaults retry.backoff.ms and retry.backoff.max.ms (KIP-580),
 * doubling from one to the other, so a failover costs a few quick retries and a long outage one
 * attempt a second.
 */
export const INTER_BROKER_RETRY_BACKOFF_MS = 100;
export const INTER_BROKER_RETRY_BACKOFF_MAX_MS = 1_000;
/**
 * How much longer than request.timeout.ms a broker waits for another's answer, so that the other
 * broker's own timeout answers first; past it the connection is taken for stalled.
 */
export const INTER_BROKER_ANSWER_GRACE_MS = 1_000;

export interface InterBrokerSettings {
  readonly listenerName: string;
  /** TLS options when the listener's protocol uses TLS (the truststore's CAs, perhaps a client certificate). */
  readonly tls?: TlsConnectionOptions;
  /** The broker's own SASL identity when the listener's protocol uses SASL (sasl.jaas.config). */
  readonly sasl?: SaslCredentials;
}

/**
 * The inter-broker listener and what connecting to it takes, from the broker's config: the
 * truststore's CAs (and the keystore as client certificate when ssl.client.auth asks for one)
 * for TLS, the sasl.jaas.config identity with sasl.mechanism.inter.broker.protocol for SASL. The
 * config was checked when it was read (broker-config.ts), so what SASL needs is there.
 */
export function interBrokerSettings(config: BrokerConfig): InterBrokerSettings {
  const listenerName = config.interBrokerListenerName ?? config.advertisedListeners[0]!.name;
  const protocol = config.listenerSecurityProtocols.get(listenerName) ?? 'PLAINTEXT';
  // The listener's own values where listener.name.<listener>.* sets them.
  const mechanism = config.saslMechanismInterBrokerProtocol;
  const setting = (name: string) => listenerSetting(config, listenerName, name, mechanism);
  let tls: TlsConnectionOptions | undefined;
  if (usesTls(protocol)) {
    const keystoreLocation = setting('ssl.keystore.location') as string | null;
    const truststoreLocation = setting('ssl.truststore.location') as string | null;
    const keyPassword = setting('ssl.key.password') as string | null;
    const keystore =
      setting('ssl.client.auth') !== 'none' && keystoreLocation !== null
        ? readFileSync(keystoreLocation)
        : undefined;
    tls = {
      ...(truststoreLocation === null ? {} : { ca: readFileSync(truststoreLocation) }),
      ...(keystore === undefined
        ? {}
        : {
            cert: keystore,
            key: keystore,
            ...(keyPassword === null ? {} : { passphrase: keyPassword }),
          }),
    };
  }
  const identity = usesSasl(protocol)
    ? parseJaasCredentials(setting('sasl.jaas.config') as string | null)
    : null;
  return {
    listenerName,
    ...(tls === undefined ? {} : { tls }),
    ...(identity === null
      ? {}
      : {
          sasl: {
            mechanism: mechanism as SaslMechanism,
            ...identity,
          },
        }),
  };
}

export interface InterBrokerConnector {
  /** Connects (and authenticates) to a live broker on the inter-broker listener. */
  open(brokerId: number, clientId: string): Promise<KafkaConnection>;
}

export function interBrokerConnector(
  view: ClusterView,
  settings: InterBrokerSettings,
): InterBrokerConnector {
  return {
    open(brokerId, clientId) {
      const broker = view.brokers().get(brokerId);
      if (broker === undefined) {
        return Promise.reject(new Error(`broker ${brokerId} is not a live broker`));
      }
      const endpoint = endpointOn(broker, settings.listenerName);
      if (endpoint === undefined) {
        return Promise.reject(
          new Error(`broker ${brokerId} has no listener named ${settings.listenerName}`),
        );
      }
      return KafkaConnection.open(`${endpoint.host}:${endpoint.port}`, {
        clientId,
        ...(settings.tls === undefined ? {} : { tls: settings.tls }),
        ...(settings.sasl === undefined ? {} : { sasl: settings.sasl }),
      });
    },
  };
}
