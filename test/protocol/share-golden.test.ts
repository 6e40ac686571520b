// Exact bytes of the share-group messages (scripts/protocol-definitions), derived by hand from
// KIP-932's layouts: flexible versions throughout (compact strings and arrays, tagged-field
// bytes), IsRenewAck only from ShareAcknowledge v2, ShareFetch's records not nullable from v1, and
// Alter/DeleteShareGroupOffsets (91, 92) with their top-level error.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  decodeDescribeGroupsResponse,
  encodeDescribeGroupsResponse,
  decodeAlterShareGroupOffsetsRequest,
  decodeAlterShareGroupOffsetsResponse,
  decodeDeleteShareGroupOffsetsRequest,
  decodeDeleteShareGroupOffsetsResponse,
  decodeShareAcknowledgeRequest,
  decodeShareFetchResponse,
  encodeAlterShareGroupOffsetsRequest,
  encodeAlterShareGroupOffsetsResponse,
  encodeDeleteShareGroupOffsetsRequest,
  encodeDeleteShareGroupOffsetsResponse,
  encodeShareAcknowledgeRequest,
  encodeShareFetchResponse,
} from '../../src/protocol/generated/all.js';
import { ProtocolEncodeError } from '../../src/protocol/codec-runtime.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

const topicId = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

const acknowledgeRequest = {
  groupId: 'g',
  memberId: 'm',
  shareSessionEpoch: 1,
  isRenewAck: true,
  topics: [
    {
      topicId,
      partitions: [
        {
          partitionIndex: 0,
          acknowledgementBatches: [{ firstOffset: 5n, lastOffset: 7n, acknowledgeTypes: [4] }],
        },
      ],
    },
  ],
};

const acknowledgeRequestTail = `
  02 ${topicId.toString('hex')}
    02 00000000
      02 0000000000000005 0000000000000007 02 04 00
    00
  00
00`;

describe('share-group codecs', () => {
  test('ShareAcknowledge v2 carries IsRenewAck; v1 has no such field', () => {
    const v2 = new Writer();
    encodeShareAcknowledgeRequest(v2, 2, acknowledgeRequest);
    const expectedV2 = hex(`02 67  02 6d  00000001  01 ${acknowledgeRequestTail}`);
    assert.deepEqual(v2.toBuffer(), expectedV2);
    assert.deepEqual(decodeShareAcknowledgeRequest(new Reader(expectedV2), 2), acknowledgeRequest);

    const v1 = new Writer();
    encodeShareAcknowledgeRequest(v1, 1, { ...acknowledgeRequest, isRenewAck: false });
    assert.deepEqual(v1.toBuffer(), hex(`02 67  02 6d  00000001 ${acknowledgeRequestTail}`));
    assert.throws(
      () => encodeShareAcknowledgeRequest(new Writer(), 1, acknowledgeRequest),
      ProtocolEncodeError,
    );
  });

  test('a ShareFetch v1 response: lock timeout, records as compact bytes, acquired ranges', () => {
    const writer = new Writer();
    const records = Buffer.from('aabbcc', 'hex');
    encodeShareFetchResponse(writer, 1, {
      throttleTimeMs: 0,
      errorCode: 0,
      acquisitionLockTimeoutMs: 30000,
      responses: [
        {
          topicId,
          partitions: [
            {
              partitionIndex: 1,
              errorCode: 0,
              acknowledgeErrorCode: 0,
              currentLeader: { leaderId: 1, leaderEpoch: 0 },
              records: [records],
              acquiredRecords: [{ firstOffset: 2n, lastOffset: 4n, deliveryCount: 1 }],
            },
          ],
        },
      ],
      nodeEndpoints: [],
    });
    const expected = hex(`
      00000000 0000 00 00007530
      02 ${topicId.toString('hex')}
        02 00000001 0000 00 0000 00
          00000001 00000000 00
          04 aabbcc
          02 0000000000000002 0000000000000004 0001 00
        00
      00
      01
      00`);
    assert.deepEqual(writer.toBuffer(), expected);
    const decoded = decodeShareFetchResponse(new Reader(expected), 1);
    assert.deepEqual(decoded.responses[0].partitions[0].records, records);
    assert.equal(decoded.responses[0].partitions[0].acquiredRecords[0].deliveryCount, 1);
  });

  test('AlterShareGroupOffsets v0: a start offset per partition; answers per partition', () => {
    const request = {
      groupId: 'g',
      topics: [{ topicName: 't', partitions: [{ partitionIndex: 1, startOffset: 5n }] }],
    };
    const requestBytes = hex(`02 67  02 02 74  02 00000001 0000000000000005 00  00  00`);
    const writer = new Writer();
    encodeAlterShareGroupOffsetsRequest(writer, 0, request);
    assert.deepEqual(writer.toBuffer(), requestBytes);
    assert.deepEqual(decodeAlterShareGroupOffsetsRequest(new Reader(requestBytes), 0), request);

    const response = {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      responses: [
        {
          topicName: 't',
          topicId,
          partitions: [{ partitionIndex: 1, errorCode: 3, errorMessage: 'x' }],
        },
      ],
    };
    const responseBytes = hex(`
      00000000 0000 00
      02 02 74 ${topicId.toString('hex')}
        02 00000001 0003 02 78 00
        00
      00`);
    const responseWriter = new Writer();
    encodeAlterShareGroupOffsetsResponse(responseWriter, 0, response);
    assert.deepEqual(responseWriter.toBuffer(), responseBytes);
    assert.deepEqual(decodeAlterShareGroupOffsetsResponse(new Reader(responseBytes), 0), response);
  });

  test('DeleteShareGroupOffsets v0: topic names only; a group error and one per topic', () => {
    const request = { groupId: 'g', topics: [{ topicName: 't' }] };
    const requestBytes = hex(`02 67  02 02 74 00  00`);
    const writer = new Writer();
    encodeDeleteShareGroupOffsetsRequest(writer, 0, request);
    assert.deepEqual(writer.toBuffer(), requestBytes);
    assert.deepEqual(decodeDeleteShareGroupOffsetsRequest(new Reader(requestBytes), 0), request);

    const response = {
      throttleTimeMs: 0,
      errorCode: 68,
      errorMessage: 'busy',
      responses: [{ topicName: 't', topicId, errorCode: 0, errorMessage: null }],
    };
    const responseBytes = hex(`
      00000000 0044 05 62757379
      02 02 74 ${topicId.toString('hex')} 0000 00 00
      00`);
    const responseWriter = new Writer();
    encodeDeleteShareGroupOffsetsResponse(responseWriter, 0, response);
    assert.deepEqual(responseWriter.toBuffer(), responseBytes);
    assert.deepEqual(decodeDeleteShareGroupOffsetsResponse(new Reader(responseBytes), 0), response);
  });

  test('DescribeGroups v6 carries an error message after the error code; v5 has none', () => {
    const group = {
      errorCode: 69,
      errorMessage: 'm',
      groupId: 'g',
      groupState: 'Dead',
      protocolType: '',
      protocolData: '',
      members: [],
      authorizedOperations: -2147483648,
    };
    const v6 = new Writer();
    encodeDescribeGroupsResponse(v6, 6, { throttleTimeMs: 0, groups: [group] });
    const tail = `02 67  05 44656164  01  01  01  80000000 00`;
    const expectedV6 = hex(`00000000 02 0045 02 6d ${tail} 00`);
    assert.deepEqual(v6.toBuffer(), expectedV6);
    assert.deepEqual(decodeDescribeGroupsResponse(new Reader(expectedV6), 6).groups[0], group);
    const v5 = new Writer();
    encodeDescribeGroupsResponse(v5, 5, { throttleTimeMs: 0, groups: [group] });
    assert.deepEqual(v5.toBuffer(), hex(`00000000 02 0045 ${tail} 00`));
  });
});
