import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { GroupsCommandErrorCode } from '../../src/cli/groups-command.js';
import {
  OffsetsTopicBatchError,
  OffsetsTopicRecordError,
} from '../../src/coordinator/group/offsets-topic-records.js';

it('every error code of the group coordinator and brook groups is documented in its README', () => {
  const readme = readFileSync(
    new URL('../../src/coordinator/group/README.md', import.meta.url),
    'utf8',
  );
  const codes = [
    ...Object.values(GroupsCommandErrorCode),
    new OffsetsTopicRecordError('x').code,
    new OffsetsTopicBatchError('x').code,
  ];
  for (const code of codes) assert.ok(readme.includes(`\`${code}\``), `${code} is not documented`);
});
