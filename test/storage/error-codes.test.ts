import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { StorageErrorCode } from '../../src/storage/errors.js';

test('every storage error code is documented in docs/errors.md', () => {
  const readme = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of Object.values(StorageErrorCode))
    assert.ok(readme.includes(`\`${code}\``), `${code} is not documented`);
});
