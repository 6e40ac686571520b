// Loaded into a broker process by the produce-gc bench (`node --import bench/gc-probe.mjs
// dist/cli/main.js start ...`): counts what the process allocates and how long it collects
// garbage between a `start` (or `start sampled`) and a `stop` message on the IPC channel, and where the allocations
// come from. Plain JavaScript on node: built-ins only, so it loads into any checkout's broker
// (this tree's, or an older commit's build for an A/B).
//
// Allocated bytes are the growth of the JavaScript heap between collections (V8's GCProfiler
// reports the heap before and after each one), so they count every object the code made, kept or
// not; external memory (Buffer contents outside the heap) is reported apart. Where it comes from
// is V8's sampling heap profiler with collected objects included, summed per function.

import { Session } from 'node:inspector';
import { GCProfiler, getHeapStatistics } from 'node:v8';

const SAMPLING_INTERVAL_BYTES = 16 * 1024;
const TOP_SITES = 25;

let profiler = null;
let session = null;
let startedHeapBytes = 0;

function post(method, parameters) {
  return new Promise((resolve, reject) =>
    session.post(method, parameters, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/**
 * `sample`: also run the sampling heap profiler. It changes how V8 collects (with collected objects
 * included, young objects go through mark-compacts), so the collection figures of a sampled run
 * are not comparable with an unsampled one's; the allocated bytes are.
 */
async function start(sample) {
  if (sample) {
    session = new Session();
    session.connect();
    await post('HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_INTERVAL_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  profiler = new GCProfiler();
  profiler.start();
  startedHeapBytes = getHeapStatistics().used_heap_size;
}

async function stop() {
  const endHeapBytes = getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  let sites = null;
  if (session !== null) {
    const { profile } = await post('HeapProfiler.stopSampling');
    session.disconnect();
    session = null;
    sites = topSites(profile);
  }
  let allocatedBytes = 0;
  let previousAfterBytes = startedHeapBytes;
  const collections = {};
  let collectionMs = 0;
  for (const entry of statistics) {
    allocatedBytes += Math.max(0, entry.beforeGC.heapStatistics.usedHeapSize - previousAfterBytes);
    previousAfterBytes = entry.afterGC.heapStatistics.usedHeapSize;
    collections[entry.gcType] = (collections[entry.gcType] ?? 0) + 1;
    collectionMs += entry.cost / 1000;
  }
  allocatedBytes += Math.max(0, endHeapBytes - previousAfterBytes);
  return {
    allocatedBytes,
    collections,
    collectionMs,
    heapUsedBytes: endHeapBytes,
    externalBytes: process.memoryUsage().external,
    sites,
  };
}

/** Sampled bytes per function (with its caller, which says more than `concat` alone). */
function topSites(profile) {
  const bytesBySite = new Map();
  let totalBytes = 0;
  const visit = (node, caller) => {
    const frame = node.callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(src|dist|lib)\//, '')}:${frame.lineNumber + 1}`;
    if (node.selfSize > 0) {
      const site = `${name} < ${caller}`;
      bytesBySite.set(site, (bytesBySite.get(site) ?? 0) + node.selfSize);
      totalBytes += node.selfSize;
    }
    for (const child of node.children) visit(child, name);
  };
  visit(profile.head, '(root)');
  const sites = [...bytesBySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_SITES)
    .map(([site, bytes]) => ({ site, share: bytes / totalBytes }));
  return { sampledBytes: totalBytes, sites };
}

process.on('message', (message) => {
  const run =
    message === 'stop'
      ? stop()
      : start(message === 'start sampled').then(() => ({ started: true }));
  const probe = message === 'stop' ? 'stop' : 'start';
  run.then(
    (result) => process.send({ probe, result }),
    (error) => process.send({ probe, error: String(error?.stack ?? error) }),
  );
});
// The channel must not keep a broker alive that was asked to stop.
process.channel?.unref();
