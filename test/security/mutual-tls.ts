// The mutual-TLS case shared by the SSL listener tests (tls-listeners.test.ts) and the network
// thread's (test/server/network-thread.test.ts): a registry whose Heartbeat handler records the
// principal it was called with, a TLS context that requires a client certificate and maps names
// of OU=eng to their lower-cased CN, and one Heartbeat sent with Alice's (OU=eng), Bob's
// (OU=sales) or no certificate.

import { readFileSync } from 'node:fs';

import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { createApiVersionsHandler } from '../../src/handlers/api-versions.js';
import { HandlerRegistry, defineHandler } from '../../src/handlers/registry.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TlsContext } from '../../src/security/tls-context.js';
import type { TestCertificates } from './certificates.js';

export interface MutualTls {
  readonly registry: HandlerRegistry;
  readonly tls: TlsContext;
  /** The principal of each Heartbeat served, in order. */
  readonly principals: string[];
  /** One Heartbeat to `address` with Alice's or Bob's certificate, or none (null). */
  heartbeat(address: string, client: 'Alice' | 'Bob' | null): Promise<void>;
}

export function mutualTls(certificates: TestCertificates): MutualTls {
  const principals: string[] = [];
  const registry = new HandlerRegistry();
  registry.register(
    defineHandler(ApiKey.Heartbeat, {
      minVersion: 0,
      maxVersion: 4,
      handle(_request, context) {
        principals.push(context.principal);
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE };
      },
    }),
  );
  registry.register(createApiVersionsHandler(registry));
  const tls = new TlsContext({
    keystoreLocation: certificates.serverKeystoreLocation,
    keyPassword: null,
    truststoreLocation: certificates.caLocation,
    clientAuthentication: 'required',
    enabledProtocols: ['TLSv1.2', 'TLSv1.3'],
    principalMappingRules: 'RULE:^CN=([A-Za-z]+),OU=eng,O=Brook$/$1/L, DEFAULT',
  });
  const ca = readFileSync(certificates.caLocation);
  const clients = {
    Alice: certificates.client('Alice', 'eng'),
    Bob: certificates.client('Bob', 'sales'),
  };
  return {
    registry,
    tls,
    principals,
    async heartbeat(address, client) {
      const connection = await KafkaConnection.open(
        address,
        client === null
          ? { clientId: 'no-certificate', requestTimeoutMs: 5_000, tls: { ca } }
          : {
              clientId: 'mtls',
              tls: {
                ca,
                cert: readFileSync(clients[client].certificate),
                key: readFileSync(clients[client].key),
              },
            },
      );
      try {
        await connection.request(ApiKey.Heartbeat, 4, {
          groupId: 'g',
          generationId: 1,
          memberId: 'm',
          groupInstanceId: null,
        });
      } finally {
        connection.close();
      }
    },
  };
}
