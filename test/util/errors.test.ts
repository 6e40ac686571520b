import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InvariantError } from '../../src/util/assert.js';
import { BrookError, brookErrorCodes } from '../../src/util/errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tableCodes = new Set(Object.keys(brookErrorCodes));

// BROOK_* environment variable names, not error codes; environment-variables.test.ts checks them.
const environmentVariableFiles = new Set(['src/config/sources.ts', 'src/config/definitions.ts']);

function sourceFiles(directory: string): string[] {
  return readdirSync(join(root, directory), { withFileTypes: true }).flatMap((entry) => {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('every code in the table is documented in docs/errors.md, and nothing else is', () => {
  const documentation = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const documented = new Set(
    [...documentation.matchAll(/`(BROOK_[A-Z0-9_]+)`/g)].map((match) => match[1]),
  );
  const undocumented = [...tableCodes].filter((code) => !documented.has(code));
  assert.deepEqual(
    undocumented,
    [],
    `codes missing from docs/errors.md: ${undocumented.join(', ')}`,
  );
  const unknown = [...documented].filter((code) => !tableCodes.has(code));
  assert.deepEqual(
    unknown,
    [],
    `docs/errors.md documents codes not in the table: ${unknown.join(', ')}`,
  );
});

test('every code in the table has a one-line meaning', () => {
  for (const [code, meaning] of Object.entries(brookErrorCodes)) {
    assert.ok(meaning.length > 0 && !meaning.includes('\n'), `${code} has no one-line meaning`);
  }
});

test("every 'BROOK_*' literal in src/ is a code from the table", () => {
  const files = sourceFiles('src').filter((path) => !environmentVariableFiles.has(path));
  assert.ok(files.length > 100, `only ${files.length} source files found under src/`);
  const strays: string[] = [];
  let literalCount = 0;
  for (const path of files) {
    const text = readFileSync(join(root, path), 'utf8');
    for (const match of text.matchAll(/['"`](BROOK_[A-Z0-9_]*)['"`]/g)) {
      literalCount += 1;
      if (!tableCodes.has(match[1])) strays.push(`${path}: ${match[1]}`);
    }
  }
  assert.ok(literalCount >= tableCodes.size / 2, `only ${literalCount} code literals found`);
  assert.deepEqual(strays, [], `codes used in src/ but missing from src/util/errors.ts`);
});

test('every error class in src/ extends BrookError', () => {
  const direct: string[] = [];
  for (const path of sourceFiles('src')) {
    const text = readFileSync(join(root, path), 'utf8');
    for (const match of text.matchAll(/class (\w+) extends Error\b/g)) {
      if (match[1] !== 'BrookError') direct.push(`${path}: ${match[1]}`);
    }
  }
  assert.deepEqual(direct, [], 'error classes that bypass BrookError');
});

test('a BrookError carries its code, its Kafka code and its cause', () => {
  const cause = new Error('EIO');
  const error = new BrookError('BROOK_STORAGE_FAILED', 'write failed', {
    kafkaErrorCode: 56,
    cause,
  });
  assert.equal(error.code, 'BROOK_STORAGE_FAILED');
  assert.equal(error.kafkaErrorCode, 56);
  assert.equal(error.cause, cause);
  assert.ok(error instanceof Error);
  const invariant = new InvariantError('high watermark 7 above log end offset 5');
  assert.ok(invariant instanceof BrookError);
  assert.equal(invariant.code, 'BROOK_INVARIANT');
  assert.equal(invariant.kafkaErrorCode, undefined);
});
