// Test certificates made fresh in a temporary directory with the openssl CLI: a CA, a server
// certificate for 127.0.0.1/localhost signed by it, and client certificates. Nothing here is ever
// committed; every run makes its own keys.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  readonly directory: string;
  /** The CA certificate (PEM), the truststore of both sides. */
  readonly caLocation: string;
  /** Server key and certificate in one PEM file (ssl.keystore.location). */
  readonly serverKeystoreLocation: string;
  /** The same key encrypted with `serverKeyPassword`, and the certificate. */
  readonly encryptedServerKeystoreLocation: string;
  readonly serverKeyPassword: string;
  /** A client certificate and key signed by the CA. */
  client(commonName: string, organizationalUnit?: string): { certificate: string; key: string };
}

function openssl(directory: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCertificates(directory: string): TestCertificates {
  openssl(directory, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Brook Test CA',
  ]);
  writeFileSync(
    join(directory, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  signed(directory, 'server', '/O=Brook/CN=localhost', 'server.ext');
  writeFileSync(
    join(directory, 'server-keystore.pem'),
    readFileSync(join(directory, 'server.key'), 'utf8') +
      readFileSync(join(directory, 'server.pem'), 'utf8'),
  );
  const serverKeyPassword = 'keystore-secret';
  openssl(directory, [
    'pkey',
    '-in',
    'server.key',
    '-aes256',
    '-passout',
    `pass:${serverKeyPassword}`,
    '-out',
    'server-encrypted.key',
  ]);
  writeFileSync(
    join(directory, 'server-encrypted-keystore.pem'),
    readFileSync(join(directory, 'server-encrypted.key'), 'utf8') +
      readFileSync(join(directory, 'server.pem'), 'utf8'),
  );
  writeFileSync(join(directory, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  return {
    directory,
    caLocation: join(directory, 'ca.pem'),
    serverKeystoreLocation: join(directory, 'server-keystore.pem'),
    encryptedServerKeystoreLocation: join(directory, 'server-encrypted-keystore.pem'),
    serverKeyPassword,
    client(commonName, organizationalUnit = 'eng') {
      const name = `client-${commonName}`;
      signed(directory, name, `/O=Brook/OU=${organizationalUnit}/CN=${commonName}`, 'client.ext');
      return { certificate: join(directory, `${name}.pem`), key: join(directory, `${name}.key`) };
    },
  };
}

function signed(directory: string, name: string, subject: string, extensions: string): void {
  openssl(directory, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  ]);
  openssl(directory, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    extensions,
  ]);
}
