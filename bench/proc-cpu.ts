// CPU a process and its threads have used so far, from /proc (Linux): the benches' way of
// charging work to the broker, the load generator and the broker's event loop apart.

import { readFileSync } from 'node:fs';

/** utime + stime of a /proc stat line (fields 14 and 15; 11 and 12 after the command), in s. */
function statCpuSeconds(path: string): number {
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks of 10 ms
}

/** The whole process, every thread, including those that have exited. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** One thread; `threadCpuSeconds(pid, pid)` is the main thread (a Node process's event loop). */
export function threadCpuSeconds(pid: number, tid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
}
