// The push benches' HTTP side: a light Server-Sent Events reader (framing and each event's id, not
// its JSON data, as a consumer that acknowledges by id needs) and a JSON POST, both on one
// kept-alive agent.

import http from 'node:http';

const agent = new http.Agent({ keepAlive: true });

export interface Event {
  id: string;
  partition: number;
  offset: number;
}

const newline = 0x0a;
const idField = Buffer.from('id: ');
const eventField = Buffer.from('event: ');
const recordType = Buffer.from('record');

/**
 * Reads an SSE stream, calling `onRecord` with each record event's id. A light streaming parser,
 * as a consumer that acknowledges by id needs: it walks the bytes line by line (the broker ends
 * lines with `\n`), ends an event at a blank line, keeps only `record` events and reads the
 * `id: <partition>:<offset>` field from its digits. The event's JSON data is not decoded (kafkajs,
 * in the Fetch phase, does decode each record into an object).
 */
export function readEvents(
  url: string,
  signal: AbortSignal,
  onRecord: (event: Event) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, signal, headers: { accept: 'text/event-stream' } });
    request.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    request.on('response', (response) => {
      let rest: Buffer | null = null;
      let id: Event | null = null;
      let isRecord = false;
      response.on('data', (chunk: Buffer) => {
        const bytes = rest === null ? chunk : Buffer.concat([rest, chunk]);
        let line = 0;
        let end;
        while ((end = bytes.indexOf(newline, line)) >= 0) {
          if (end === line) {
            if (isRecord && id !== null) onRecord(id);
            id = null;
            isRecord = false;
          } else if (startsWith(bytes, line, idField)) {
            id = parseId(bytes, line + idField.length, end);
          } else if (startsWith(bytes, line, eventField)) {
            const type = line + eventField.length;
            isRecord = end - type === recordType.length && startsWith(bytes, type, recordType);
          }
          line = end + 1;
        }
        rest = line === bytes.length ? null : bytes.subarray(line);
      });
      response.on('close', resolve);
      response.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    });
  });
}

function startsWith(bytes: Buffer, position: number, prefix: Buffer): boolean {
  if (position + prefix.length > bytes.length) return false;
  for (let index = 0; index < prefix.length; index += 1)
    if (bytes[position + index] !== prefix[index]) return false;
  return true;
}

/** `<partition>:<offset>` from its digits. */
function parseId(bytes: Buffer, position: number, end: number): Event {
  let partition = 0;
  let index = position;
  for (; index < end && bytes[index] !== 0x3a; index += 1)
    partition = partition * 10 + bytes[index] - 0x30;
  let offset = 0;
  for (index += 1; index < end; index += 1) offset = offset * 10 + bytes[index] - 0x30;
  return { id: `${partition}:${offset}`, partition, offset };
}

/** POSTs `body` as JSON on a kept-alive connection; resolves with the answer's text. */
export function postJson(url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (piece: string) => (text += piece));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(text)
          : reject(new Error(`${response.statusCode}: ${text}`)),
      );
    });
    request.end(body);
  });
}
