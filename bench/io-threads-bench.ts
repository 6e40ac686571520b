// The first question of `num.io.threads` (issue 14): would handing request frames between threads
// cost the broker's event loop less than the socket work it would move off it? A broker on more
// than one core could keep its logs, coordinators and handlers on one thread and let other threads
// own the connections (read and frame requests, write responses), passing each frame over a
// MessagePort. That pays only if a frame's trip through the port costs the owning thread less than
// reading the request from a socket and writing the response to one.
//
//   npm run bench:io-threads -- [--frames 20000] [--in-flight 8] [--sizes 100,1024,16384,1048576]
//
// Both ways run against a worker thread, with `--in-flight` frames outstanding, for each size:
//   port:   the main thread posts each frame to the worker (its ArrayBuffer transferred, so no copy)
//           and gets it back the same way: one message each way, as a request in and its response
//           out would be;
//   copy:   the same with the frame cloned instead of transferred (a small frame cut from a shared
//           pool cannot be transferred without taking the pool with it);
//   socket: the worker echoes length-prefixed frames over loopback TCP; the main thread writes each
//           frame and reads and frames its echo: what a broker's loop does for a request and its
//           response today.
// Printed per frame: the main thread's event-loop busy time (performance.eventLoopUtilization, which
// counts what the loop spends outside its poll: callbacks, syscalls, collections), the worker's,
// and the wall time. Busy time per frame is work, so it compares ways fairly on a shared machine;
// wall time is printed for context only. The same run's loopback throughput (machine-limits.ts) is
// printed beside it.

import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

import { measureLoopbackTcp } from './machine-limits.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '8' },
    sizes: { type: 'string', default: '100,1024,16384,1048576' },
  },
});
const framesWanted = Number(values.frames);
const inFlight = Number(values['in-flight']);
const sizes = values.sizes.split(',').map(Number);

/** The worker: echoes port messages as they came (transferring what was transferred), and runs a
 * TCP echo of length-prefixed frames on a port it reports. */
const workerSource = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const port = parentPort;
port.on('message', (message) => {
  if (message.kind === 'frame') port.postMessage(message, message.transfer ? [message.frame.buffer] : []);
});
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    const out = [];
    while (pending.length - at >= 4) {
      const length = pending.readInt32BE(at);
      if (pending.length - at - 4 < length) break;
      out.push(pending.subarray(at, at + 4 + length));
      at += 4 + length;
    }
    if (out.length > 0) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    pending = pending.subarray(at);
  });
});
server.listen(0, '127.0.0.1', () => port.postMessage({ kind: 'listening', port: server.address().port }));
`;

interface Figures {
  mainBusyUs: number;
  workerBusyUs: number;
  wallUs: number;
}

function busyMs(delta: EventLoopUtilization): number {
  return delta.active;
}

async function viaPort(worker: Worker, size: number, transfer: boolean): Promise<Figures> {
  const frames = size >= 1 << 20 ? Math.max(200, framesWanted / 50) : framesWanted;
  let sent = 0;
  let received = 0;
  const send = (frame: Uint8Array): void => {
    sent++;
    worker.postMessage(
      { kind: 'frame', frame, transfer },
      transfer ? [frame.buffer as ArrayBuffer] : [],
    );
  };
  const mainBefore = performance.eventLoopUtilization();
  const workerBefore = worker.performance.eventLoopUtilization();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const onMessage = (message: { kind: string; frame: Uint8Array }): void => {
      if (message.kind !== 'frame') return;
      received++;
      if (received === frames) {
        worker.off('message', onMessage);
        resolve();
      } else if (sent < frames) {
        // Transferred frames come back as new views of the same memory: reuse them.
        send(transfer ? message.frame : new Uint8Array(size));
      }
    };
    worker.on('message', onMessage);
    for (let index = 0; index < Math.min(inFlight, frames); index++) send(new Uint8Array(size));
  });
  const wallMs = performance.now() - started;
  const main = busyMs(performance.eventLoopUtilization(mainBefore));
  const other = busyMs(worker.performance.eventLoopUtilization(workerBefore));
  return {
    mainBusyUs: (1000 * main) / frames,
    workerBusyUs: (1000 * other) / frames,
    wallUs: (1000 * wallMs) / frames,
  };
}

async function viaSocket(worker: Worker, port: number, size: number): Promise<Figures> {
  const frames = size >= 1 << 20 ? Math.max(200, framesWanted / 50) : framesWanted;
  const socket: Socket = createConnection({ port, host: '127.0.0.1', noDelay: true });
  await once(socket, 'connect');
  const frame = Buffer.alloc(4 + size, 7);
  frame.writeInt32BE(size, 0);
  let sent = 0;
  let received = 0;
  let pending: Buffer = Buffer.alloc(0);
  const mainBefore = performance.eventLoopUtilization();
  const workerBefore = worker.performance.eventLoopUtilization();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 4) {
        const length = pending.readInt32BE(at);
        if (pending.length - at - 4 < length) break;
        at += 4 + length;
        received++;
        if (sent < frames) {
          sent++;
          socket.write(frame);
        }
      }
      pending = pending.subarray(at);
      if (received === frames) resolve();
    });
    for (let index = 0; index < Math.min(inFlight, frames); index++) {
      sent++;
      socket.write(frame);
    }
  });
  const wallMs = performance.now() - started;
  const main = busyMs(performance.eventLoopUtilization(mainBefore));
  const other = busyMs(worker.performance.eventLoopUtilization(workerBefore));
  socket.destroy();
  return {
    mainBusyUs: (1000 * main) / frames,
    workerBusyUs: (1000 * other) / frames,
    wallUs: (1000 * wallMs) / frames,
  };
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  const loopback = await measureLoopbackTcp();
  console.log(
    `# machine limits (same run): loopback TCP one connection ${loopback.toFixed(0)} MB/s`,
  );
  console.log(
    `# ${framesWanted} frames a size (1/50 of that, at least 200, for 1 MiB), ${inFlight} in flight`,
  );
  const worker = new Worker(workerSource, { eval: true });
  const [{ port }] = (await once(worker, 'message')) as [{ port: number }];
  console.log(
    row(['frame bytes', 'way', 'main busy µs/frame', 'worker busy µs/frame', 'wall µs/frame']),
  );
  console.log(row(['---:', '---', '---:', '---:', '---:']));
  for (const size of sizes) {
    // A warm-up of each way first, so the comparison is of compiled code.
    await viaPort(worker, size, true);
    await viaSocket(worker, port, size);
    const ways: Array<[string, () => Promise<Figures>]> = [
      ['port', () => viaPort(worker, size, true)],
      ['copy', () => viaPort(worker, size, false)],
      ['socket', () => viaSocket(worker, port, size)],
    ];
    for (const [name, run] of ways) {
      const figures = await run();
      console.log(
        row([
          String(size),
          name,
          figures.mainBusyUs.toFixed(1),
          figures.workerBusyUs.toFixed(1),
          figures.wallUs.toFixed(1),
        ]),
      );
    }
  }
  await worker.terminate();
}

await main();
