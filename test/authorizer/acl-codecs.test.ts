// Exact bytes of the ACL messages, derived by hand from the protocol's layout: CreateAcls v1
// (classic strings and arrays) and v3 (flexible: compact lengths and tagged fields), DescribeAcls
// v1's response and DeleteAcls v2's request. Each decodes to the expected structure and encodes
// back to the same bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeCreateAclsRequest,
  decodeDeleteAclsRequest,
  decodeDescribeAclsResponse,
  encodeCreateAclsRequest,
  encodeDeleteAclsRequest,
  encodeDescribeAclsResponse,
} from '../../src/protocol/generated/all.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
const ascii = (text: string): string => Buffer.from(text).toString('hex');

function roundTrip<T>(
  bytes: Buffer,
  decode: (reader: Reader, version: number) => T,
  encode: (writer: Writer, version: number, value: T) => void,
  version: number,
): T {
  const reader = new Reader(bytes);
  const value = decode(reader, version);
  assert.equal(reader.remaining, 0, 'every byte consumed');
  const writer = new Writer();
  encode(writer, version, value);
  assert.equal(writer.toBuffer().toString('hex'), bytes.toString('hex'));
  return value;
}

const creation = {
  resourceType: 2,
  resourceName: 'orders',
  resourcePatternType: 4,
  principal: 'User:alice',
  host: '*',
  operation: 4,
  permissionType: 3,
};

test('CreateAcls v1 request: int32 array length, int16 string lengths, the pattern type after the name', () => {
  const bytes = hex(
    `00000001 02 0006${ascii('orders')} 04 000a${ascii('User:alice')} 0001${ascii('*')} 04 03`,
  );
  const request = roundTrip(bytes, decodeCreateAclsRequest, encodeCreateAclsRequest, 1);
  assert.deepEqual(request, { creations: [creation] });
});

test('CreateAcls v3 request: compact lengths (n + 1) and empty tagged fields', () => {
  const bytes = hex(
    `02 02 07${ascii('orders')} 04 0b${ascii('User:alice')} 02${ascii('*')} 04 03 00 00`,
  );
  const request = roundTrip(bytes, decodeCreateAclsRequest, encodeCreateAclsRequest, 3);
  assert.deepEqual(request, { creations: [creation] });
});

test('CreateAcls v0 request has no pattern type: it decodes as LITERAL', () => {
  const bytes = hex(
    `00000001 02 0006${ascii('orders')} 000a${ascii('User:alice')} 0001${ascii('*')} 04 03`,
  );
  const request = roundTrip(bytes, decodeCreateAclsRequest, encodeCreateAclsRequest, 0);
  assert.equal(request.creations[0].resourcePatternType, 3);
});

test('DescribeAcls v1 response: resources with their pattern type, then the ACLs of each', () => {
  const bytes = hex(
    `00000000 0000 ffff 00000001 02 0006${ascii('orders')} 03 00000001 000a${ascii('User:alice')} 0001${ascii('*')} 03 03`,
  );
  const response = roundTrip(bytes, decodeDescribeAclsResponse, encodeDescribeAclsResponse, 1);
  assert.deepEqual(response, {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    resources: [
      {
        resourceType: 2,
        resourceName: 'orders',
        patternType: 3,
        acls: [{ principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }],
      },
    ],
  });
});

test('DeleteAcls v2 request: null filters are compact length 0', () => {
  const bytes = hex(`02 01 00 01 00 00 01 01 00 00`);
  const request = roundTrip(bytes, decodeDeleteAclsRequest, encodeDeleteAclsRequest, 2);
  assert.deepEqual(request, {
    filters: [
      {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      },
    ],
  });
});
