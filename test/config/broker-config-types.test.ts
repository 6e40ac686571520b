// BrokerConfig's plain properties are computed from the definitions table. The first half of this
// file is checked by the compiler: each `@ts-expect-error` must meet a type error, or the compile
// fails with "unused directive", and each `Equal` constant fails to compile if a type drifts. The
// last test compiles this file itself, so the suite fails too if such a mismatch ever compiles.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { type BrokerConfig, resolveBrokerConfig } from '../../src/config/index.js';
import { brokerSettingFields } from '../../src/config/broker-definitions.js';
import { compilerDiagnostics } from '../helpers/compile.js';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// A definition's type (int, long, boolean, string) and a null default reach BrokerConfig.
const numPartitionsIsNumber: Equal<BrokerConfig['numPartitions'], number> = true;
const autoCreateIsBoolean: Equal<BrokerConfig['autoCreateTopicsEnable'], boolean> = true;
const producerIdExpirationIsNumber: Equal<BrokerConfig['producerIdExpirationMs'], number> = true;
const clusterIdIsNullableString: Equal<BrokerConfig['clusterId'], string | null> = true;
// Computed properties keep their declared types.
const nodeIdIsNumber: Equal<BrokerConfig['nodeId'], number> = true;
const logDirsIsList: Equal<BrokerConfig['logDirs'], readonly string[]> = true;

function misuses(config: BrokerConfig): void {
  // @ts-expect-error a misspelt field is no property of BrokerConfig
  void config.numPartiton;
  // @ts-expect-error an int setting is a number, not a string
  const text: string = config.numPartitions;
  void text;
  // @ts-expect-error a boolean setting is not a number
  const count: number = config.autoCreateTopicsEnable;
  void count;
  // @ts-expect-error the properties are readonly
  config.messageMaxBytes = 1;
}
void misuses;

test('the compile-time checks above hold', () => {
  assert.deepEqual(
    [
      numPartitionsIsNumber,
      autoCreateIsBoolean,
      producerIdExpirationIsNumber,
      clusterIdIsNullableString,
      nodeIdIsNumber,
      logDirsIsList,
    ],
    [true, true, true, true, true, true],
  );
});

test("every table field is its setting's name in camel case and carries the setting's value", () => {
  const config = resolveBrokerConfig({
    overrides: {
      'num.partitions': 7,
      'auto.create.topics.enable': 'false',
      'cluster.id': 'MkU3OEVBNTcwNTJENDM2Qk',
    },
  });
  assert.ok(brokerSettingFields.length > 0);
  for (const { name, field } of brokerSettingFields) {
    const camel = name.replace(/\.(.)/g, (_, letter: string) => letter.toUpperCase());
    assert.equal(field, camel, `field of ${name}`);
    assert.deepEqual(config[field], config.settings.get(name)?.value, field);
  }
  assert.equal(config.numPartitions, 7);
  assert.equal(config.autoCreateTopicsEnable, false);
  assert.equal(config.clusterId, 'MkU3OEVBNTcwNTJENDM2Qk');
  assert.ok(Object.isFrozen(config));
});

test('the compiler rejects every misuse above and accepts the rest', () => {
  // An unused @ts-expect-error (a misuse that compiled) is reported as TS2578.
  assert.deepEqual(compilerDiagnostics(import.meta.url), []);
});
