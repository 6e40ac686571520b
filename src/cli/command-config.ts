// `--command-config FILE`: a Kafka client properties file, so the CLI reaches a secured listener
// with the settings its users already have. Both spellings are read: librdkafka's
// (sasl.mechanisms, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location,
// ssl.key.location) and the Java client's (sasl.mechanism, sasl.jaas.config with username= and
// password=, ssl.truststore.location and ssl.keystore.location as PEM files). Other client
// settings in the file (client.id, acks, ...) are ignored; a value Brook cannot use is an error.

import { readFileSync } from 'node:fs';
import type { ClientSecurity } from '../client/admin-client.js';
import type { SaslMechanism } from '../client/sasl-client.js';
import { parseProperties } from '../config/properties.js';
import { AdminCommandError, AdminCommandErrorCode } from './admin-arguments.js';

function usageError(message: string): AdminCommandError {
  return new AdminCommandError(AdminCommandErrorCode.USAGE, message);
}

const protocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const mechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Reads the file; throws a usage error naming the file and the setting at fault (never a password). */
export function readCommandConfig(path: string): ClientSecurity {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw usageError(`--command-config ${path}: ${(error as NodeJS.ErrnoException).message}`);
  }
  return clientSecurity(parseProperties(text), path);
}

export function clientSecurity(
  properties: ReadonlyMap<string, string>,
  path: string,
): ClientSecurity {
  const fail = (message: string): never => {
    throw usageError(`--command-config ${path}: ${message}`);
  };
  const protocol = (properties.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!protocols.includes(protocol)) {
    fail(`security.protocol ${protocol} is not one of ${protocols.join(', ')}`);
  }
  const readPem = (setting: string): Buffer | undefined => {
    const file = properties.get(setting);
    if (file === undefined || file === '') return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      return fail(`${setting} ${file}: ${(error as NodeJS.ErrnoException).message}`);
    }
  };
  let tls: ClientSecurity['tls'];
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const keystore = readPem('ssl.keystore.location');
    const certificate = readPem('ssl.certificate.location') ?? keystore;
    const key = readPem('ssl.key.location') ?? keystore;
    const hostnameCheck = properties.get('ssl.endpoint.identification.algorithm');
    tls = {
      ca: readPem('ssl.ca.location') ?? readPem('ssl.truststore.location'),
      cert: certificate,
      key,
      passphrase: properties.get('ssl.key.password'),
      // Kafka's clients skip the host name check when this is set empty (or to none).
      ...(hostnameCheck === '' || hostnameCheck === 'none'
        ? { checkServerIdentity: () => undefined }
        : {}),
    };
  }
  let sasl: ClientSecurity['sasl'];
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = (
      properties.get('sasl.mechanism') ??
      properties.get('sasl.mechanisms') ??
      'GSSAPI'
    ).toUpperCase();
    if (!mechanisms.includes(mechanism)) {
      fail(`sasl.mechanism ${mechanism}: Brook's client speaks ${mechanisms.join(', ')}`);
    }
    const jaas = properties.get('sasl.jaas.config') ?? '';
    const fromJaas = (name: string): string | undefined =>
      new RegExp(`\\b${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(jaas)?.[1];
    const username = properties.get('sasl.username') ?? fromJaas('username');
    const password = properties.get('sasl.password') ?? fromJaas('password');
    if (username === undefined || password === undefined) {
      fail(
        'SASL needs sasl.username and sasl.password (or sasl.jaas.config with username and password)',
      );
    }
    sasl = { mechanism: mechanism as SaslMechanism, username: username!, password: password! };
  }
  return { tls, sasl };
}
