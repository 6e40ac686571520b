// Loaded into a broker process by the end-to-end bench (`node --import bench/e2e-probe.mjs
// dist/cli/main.js start ...`): between a `start` and a `stop` message on the IPC channel it takes
// what the broker's event loop did while records went through it, so a tail can be split into
// its parts. Plain JavaScript on node, built-ins only, so it loads into any checkout's broker
// (this tree's, or a base build for an A/B). What it reports:
//
//   eventLoopDelay  monitorEventLoopDelay at 1 ms resolution, less that interval: how late a
//                   timer ran (p50/p99/max)
//   gc              PerformanceObserver 'gc' entries: count, total and longest pause, by kind
//   cpu             process.cpuUsage over the window (user and system, microseconds; all threads)
//   loopBusyMs      performance.eventLoopUtilization's active time: the main thread's work
//   allocatedBytes  the JavaScript heap's growth between collections (v8 GCProfiler): garbage made
//   fdatasync       every FileHandle.datasync and fs.fdatasync call (the storage's files use
//                   the latter since raw descriptors): from call to its continuation running
//   writev          every FileHandle.writev and fs.writev call, the same way
//   writevSync      every fs.writevSync call (on the event loop: how long it held the loop)
//   writesBehindFsync  the writes (writev, writevSync) to a descriptor while an fdatasync of it
//                   ran: appends that arrived while their log's fsync was in flight, which wait
//                   for it and then for the next one (none when each producer waits for its
//                   previous answer before sending, as librdkafka's did here)
//   afterFsync      from an fdatasync's continuation to each socket write until the next one:
//                   how soon the acknowledgements and the woken fetches it releases reach a socket
//   socketWrites    net.Socket write calls (a cork'd batch is one writev syscall; each uncorked
//                   write is at least one)
//   responses       response frames written (each starts with its length): requests answered
//
// The wrappers cost a performance.now() per call; the bench runs the base with the same probe.

import fs from 'node:fs';
import { open } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let active = false;
let delay = null;
let gcEntries = [];
let cpuStart = null;
let fdatasyncMs = [];
let writevMs = [];
let writevSyncMs = [];
/** Descriptor -> fdatasyncs of it in flight; writes made meanwhile, and all writes. */
const fsyncsInFlight = new Map();
let writesBehindFsync = 0;
let descriptorWrites = 0;
let afterFsyncMs = [];
let socketWrites = 0;
let socketWritevs = 0;
let responses = 0;
let lastFsyncDoneMs = -1;
let profiler = null;
let startedHeapBytes = 0;
let utilizationStart = null;

const gcObserver = new PerformanceObserver((list) => {
  if (!active) return;
  for (const entry of list.getEntries())
    gcEntries.push({ kind: entry.detail?.kind ?? entry.kind, durationMs: entry.duration });
});

async function wrapFileHandle() {
  const path = join(tmpdir(), `e2e-probe-${process.pid}.tmp`);
  const handle = await open(path, 'w');
  const prototype = Object.getPrototypeOf(handle);
  await handle.close();
  const { unlink } = await import('node:fs/promises');
  await unlink(path);
  const datasync = prototype.datasync;
  prototype.datasync = function (...args) {
    if (!active) return datasync.apply(this, args);
    const started = performance.now();
    return datasync.apply(this, args).then((value) => {
      const now = performance.now();
      fdatasyncMs.push(now - started);
      lastFsyncDoneMs = now;
      return value;
    });
  };
  const writev = prototype.writev;
  prototype.writev = function (...args) {
    if (!active) return writev.apply(this, args);
    const started = performance.now();
    return writev.apply(this, args).then((value) => {
      writevMs.push(performance.now() - started);
      return value;
    });
  };
}

/** fs.fdatasync and fs.writev with callbacks (the storage's raw descriptors), timed the same way. */
function wrapDescriptorCalls() {
  const fdatasync = fs.fdatasync;
  fs.fdatasync = function (fd, callback) {
    if (!active) return fdatasync.call(this, fd, callback);
    const started = performance.now();
    fsyncsInFlight.set(fd, (fsyncsInFlight.get(fd) ?? 0) + 1);
    return fdatasync.call(this, fd, (...results) => {
      const inFlight = fsyncsInFlight.get(fd) - 1;
      if (inFlight === 0) fsyncsInFlight.delete(fd);
      else fsyncsInFlight.set(fd, inFlight);
      const now = performance.now();
      fdatasyncMs.push(now - started);
      lastFsyncDoneMs = now;
      callback(...results);
    });
  };
  const writev = fs.writev;
  fs.writev = function (...args) {
    const callback = args.at(-1);
    if (!active || typeof callback !== 'function') return writev.apply(this, args);
    noteDescriptorWrite(args[0]);
    const started = performance.now();
    args[args.length - 1] = (...results) => {
      writevMs.push(performance.now() - started);
      callback(...results);
    };
    return writev.apply(this, args);
  };
  syncBuiltinESMExports();
}

function noteDescriptorWrite(fd) {
  descriptorWrites++;
  if (fsyncsInFlight.has(fd)) writesBehindFsync++;
}

/** Bytes left of the response frame each socket is writing (a frame: int32 length, then that). */
const frameRemaining = new WeakMap();

/** Counts the response frames starting in `chunk` (the broker writes a frame's length first). */
function countResponses(socket, chunk) {
  let remaining = frameRemaining.get(socket) ?? 0;
  let offset = 0;
  while (offset < chunk.length) {
    if (remaining === 0) {
      if (chunk.length - offset < 4) break; // a split length: not written so by the broker
      remaining = 4 + chunk.readInt32BE(offset);
      responses++;
    }
    const taken = Math.min(remaining, chunk.length - offset);
    remaining -= taken;
    offset += taken;
  }
  frameRemaining.set(socket, remaining);
}

/** fs.writevSync (the group-commit writer's small groups), timed; ESM importers see the wrapper. */
function wrapWritevSync() {
  const writevSync = fs.writevSync;
  fs.writevSync = function (...args) {
    if (!active) return writevSync.apply(this, args);
    noteDescriptorWrite(args[0]);
    const started = performance.now();
    try {
      return writevSync.apply(this, args);
    } finally {
      writevSyncMs.push(performance.now() - started);
    }
  };
  syncBuiltinESMExports();
}

function wrapSockets() {
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (...args) {
    if (active) {
      socketWrites++;
      if (lastFsyncDoneMs >= 0) afterFsyncMs.push(performance.now() - lastFsyncDoneMs);
      if (Buffer.isBuffer(args[0])) countResponses(this, args[0]);
    }
    return write.apply(this, args);
  };
  const writevMethod = net.Socket.prototype._writev;
  if (typeof writevMethod === 'function') {
    net.Socket.prototype._writev = function (...args) {
      if (active) socketWritevs++;
      return writevMethod.apply(this, args);
    };
  }
}

function percentiles(values) {
  if (values.length === 0) return { count: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (x) => Math.round(x * 1000) / 1000;
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    p999: round(at(0.999)),
    max: round(sorted[sorted.length - 1]),
  };
}

function start() {
  gcEntries = [];
  fdatasyncMs = [];
  writevMs = [];
  writevSyncMs = [];
  writesBehindFsync = 0;
  descriptorWrites = 0;
  afterFsyncMs = [];
  socketWrites = 0;
  socketWritevs = 0;
  responses = 0;
  lastFsyncDoneMs = -1;
  delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  profiler = new GCProfiler();
  profiler.start();
  startedHeapBytes = getHeapStatistics().used_heap_size;
  cpuStart = process.cpuUsage();
  utilizationStart = performance.eventLoopUtilization();
  active = true;
}

function stop() {
  active = false;
  delay.disable();
  const cpu = process.cpuUsage(cpuStart);
  const utilization = performance.eventLoopUtilization(utilizationStart);
  // Allocated: the heap's growth between collections (V8 reports it before and after each).
  const endHeapBytes = getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  let allocatedBytes = 0;
  let previousAfterBytes = startedHeapBytes;
  for (const entry of statistics) {
    allocatedBytes += Math.max(0, entry.beforeGC.heapStatistics.usedHeapSize - previousAfterBytes);
    previousAfterBytes = entry.afterGC.heapStatistics.usedHeapSize;
  }
  allocatedBytes += Math.max(0, endHeapBytes - previousAfterBytes);
  const byKind = {};
  for (const entry of gcEntries) {
    const kind = String(entry.kind);
    const figures = (byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
    figures.count++;
    figures.totalMs += entry.durationMs;
    figures.maxMs = Math.max(figures.maxMs, entry.durationMs);
  }
  const ms = (nanoseconds) => Math.round(nanoseconds / 1e3) / 1e3;
  return {
    // The histogram holds the time between samples: less the 1 ms interval, how late each was.
    eventLoopDelay: {
      p50: ms(Math.max(0, delay.percentile(50) - 1e6)),
      p99: ms(Math.max(0, delay.percentile(99) - 1e6)),
      max: ms(Math.max(0, delay.max - 1e6)),
    },
    gc: { pauses: percentiles(gcEntries.map((entry) => entry.durationMs)), byKind },
    cpu: { userUs: cpu.user, systemUs: cpu.system },
    loopBusyMs: utilization.active,
    allocatedBytes,
    fdatasync: percentiles(fdatasyncMs),
    writev: percentiles(writevMs),
    writevSync: percentiles(writevSyncMs),
    writesBehindFsync,
    descriptorWrites,
    afterFsync: percentiles(afterFsyncMs),
    socketWrites,
    socketWritevs,
    responses,
  };
}

gcObserver.observe({ entryTypes: ['gc'] });
wrapSockets();
wrapWritevSync();
wrapDescriptorCalls();
const ready = wrapFileHandle();

process.on('message', (message) => {
  const run = ready.then(() => (message === 'stop' ? stop() : (start(), { started: true })));
  run.then(
    (result) => process.send({ probe: message, result }),
    (error) => process.send({ probe: message, error: String(error?.stack ?? error) }),
  );
});
// The channel must not keep a broker alive that was asked to stop.
process.channel?.unref();
