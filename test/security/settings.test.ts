import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBrokerConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/config/errors.js';
import {
  mapDistinguishedName,
  parsePrincipalMappingRules,
} from '../../src/security/principal-mapping.js';

function refused(settings: Record<string, string>, pattern: RegExp): void {
  assert.throws(
    () => resolveBrokerConfig({ flags: settings }),
    (error: Error) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test('security settings that cannot work together are refused at start, naming the setting', () => {
  refused({ listeners: 'SASL_SSL://127.0.0.1:0' }, /ssl\.keystore\.location/);
  refused(
    {
      listeners: 'SSL://127.0.0.1:0',
      'ssl.keystore.location': '/k.pem',
      'ssl.client.auth': 'required',
    },
    /ssl\.truststore\.location/,
  );
  refused({ 'sasl.enabled.mechanisms': 'GSSAPI' }, /sasl\.enabled\.mechanisms/);
  refused({ 'ssl.enabled.protocols': 'TLSv1.1' }, /ssl\.enabled\.protocols/);
  refused({ 'ssl.principal.mapping.rules': 'RULE:^CN=(.*$/$1/' }, /ssl\.principal\.mapping\.rules/);
  refused({ 'ssl.client.auth': 'sometimes' }, /ssl\.client\.auth/);
  const named = resolveBrokerConfig({
    flags: {
      listeners: 'CLIENTS://127.0.0.1:0,LOOPBACK://127.0.0.1:0',
      'listener.security.protocol.map': 'CLIENTS:SASL_PLAINTEXT,LOOPBACK:PLAINTEXT',
    },
  });
  assert.deepEqual(
    [...named.listenerSecurityProtocols],
    [
      ['CLIENTS', 'SASL_PLAINTEXT'],
      ['LOOPBACK', 'PLAINTEXT'],
    ],
  );
});

test('principal mapping rules: first match wins, L and U change case, DEFAULT keeps the name, no match maps nothing', () => {
  const rules = parsePrincipalMappingRules(
    'RULE:^CN=([a-zA-Z]+),OU=ops,.*$/$1-ops/U, RULE:^CN=([a-zA-Z]+),OU=eng,.*$/$1/L,DEFAULT',
  );
  assert.equal(mapDistinguishedName(rules, 'CN=Alice,OU=eng,O=Example'), 'alice');
  assert.equal(mapDistinguishedName(rules, 'CN=Bob,OU=ops,O=Example'), 'BOB-OPS');
  assert.equal(
    mapDistinguishedName(rules, 'CN=Carol,OU=sales,O=Example'),
    'CN=Carol,OU=sales,O=Example',
  );
  const strict = parsePrincipalMappingRules('RULE:^CN=(.*?),OU=eng,.*$/$1/');
  assert.equal(mapDistinguishedName(strict, 'CN=Carol,OU=sales,O=Example'), null);
  assert.throws(() => parsePrincipalMappingRules('RULE:no-slashes'), /unterminated RULE/);
  assert.throws(() => parsePrincipalMappingRules('KERBEROS'), /neither DEFAULT nor RULE/);
});
