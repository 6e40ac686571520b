// BROOK_* variables: a setting's variable sets it, any other is refused like an unknown flag, and
// the variables Brook's own tooling reads are let through.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ConfigError, ConfigErrorCode, loadBrokerConfig } from '../../src/config/index.js';
import { isToolingVariable } from '../../src/config/sources.js';
import { environmentVariableName } from '../../src/config/definitions.js';
import { brokerConfigDefinitions } from '../../src/config/broker-definitions.js';
import { repositoryRoot, runBrook } from '../helpers/brook-cli.js';

test('an unknown BROOK_ variable is refused, naming it and the setting it probably meant', () => {
  assert.throws(
    () => loadBrokerConfig({ args: [], environment: { BROOK_NUM_PARTITONS: '3' } }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.code === ConfigErrorCode.UNKNOWN_SETTING &&
      /BROOK_NUM_PARTITONS.*did you mean BROOK_NUM_PARTITIONS\?/.test(error.message),
  );
});

test('brook start with a misspelt BROOK_ variable exits with code 2 before starting', async () => {
  const run = await runBrook(['start', '--listeners', 'PLAINTEXT://127.0.0.1:0'], {
    environment: { PATH: process.env.PATH, BROOK_LOG_DIR: '/tmp/brook-typo' },
  });
  assert.equal(run.exitCode, 2, run.stderr);
  assert.match(
    run.stderr,
    /BROOK_LOG_DIR\b.*did you mean BROOK_LOG_DIRS\?.*BROOK_CONFIG_UNKNOWN_SETTING/,
  );
  assert.doesNotMatch(run.stdout, /listening/);
});

test('every BROOK_ variable the tree reads is a broker setting or let through as tooling', () => {
  // Reads in TypeScript, JavaScript, Python and shell: process.env.<name>, os.environ.get('<name>'),
  // os.environ['<name>'] and ${<name>:-default}, for names starting BROOK_.
  const pattern = String.raw`(process\.env\.|environ\.get\(['"]|environ\[['"]|\$\{)BROOK_[A-Z0-9_]+`;
  const listing = execFileSync(
    'git',
    ['grep', '-h', '-o', '-E', pattern, '--', 'src', 'test', 'scripts', 'bench', '.ci'],
    { cwd: repositoryRoot, encoding: 'utf8' },
  );
  const variables = new Set(listing.match(/BROOK_[A-Z0-9_]+/g) ?? []);
  assert.ok(variables.has('BROOK_TEST_CONCURRENCY'), `the search finds reads: ${[...variables]}`);
  const settings = new Set([...brokerConfigDefinitions.keys()].map(environmentVariableName));
  for (const variable of variables) {
    assert.ok(
      settings.has(variable) || isToolingVariable(variable),
      `${variable} is read by the tree but brook start would refuse it`,
    );
  }
  for (const variable of ['BROOK_MEMBER_HOLD_FILE', 'BROOK_MEMBER_COMMIT', 'BROOK_FUZZ_SEED']) {
    assert.doesNotThrow(() => loadBrokerConfig({ args: [], environment: { [variable]: '1' } }));
  }
});
