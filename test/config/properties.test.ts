import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProperties } from '../../src/config/properties.js';

test('comments, blank lines and the three separators are read as java.util.Properties does', () => {
  const properties = parseProperties(
    [
      '# a comment',
      '! another',
      '',
      '  num.partitions=4',
      'log.dirs : /var/brook',
      'listeners PLAINTEXT://h:1',
      'empty=',
    ].join('\n'),
  );
  assert.deepEqual(Object.fromEntries(properties), {
    'num.partitions': '4',
    'log.dirs': '/var/brook',
    listeners: 'PLAINTEXT://h:1',
    empty: '',
  });
});

test('a line ending in a backslash continues on the next, without its leading whitespace', () => {
  const properties = parseProperties('listeners=PLAINTEXT://a:1,\\\n      OTHER://b:2\nnext=1\r\n');
  assert.equal(properties.get('listeners'), 'PLAINTEXT://a:1,OTHER://b:2');
  assert.equal(properties.get('next'), '1');
});

test('escapes: \\t \\n \\uXXXX, an escaped separator in a key, and an even run of backslashes', () => {
  const properties = parseProperties(
    'a\\=b=c\\td\nunicode=\\u00e9t\\u00E9\npath=C:\\\\data\\\\\nx=\\q',
  );
  assert.equal(properties.get('a=b'), 'c\td');
  assert.equal(properties.get('unicode'), 'été');
  assert.equal(properties.get('path'), 'C:\\data\\');
  assert.equal(properties.get('x'), 'q');
});

test('a later key overrides an earlier one', () => {
  assert.equal(parseProperties('num.partitions=1\nnum.partitions=3').get('num.partitions'), '3');
});
