/**
 * The bree job of start.dynamic.bree: its first line stamps the wall-clock time (the clock
 * every thread shares) into the Float64 the bench passed through bree's workerData, as
 * start-probe.ts does for ours; then the job ends and bree deletes its worker.
 */
import { workerData } from 'node:worker_threads';

const t = performance.timeOrigin + performance.now();
new Float64Array((workerData as { stamp: SharedArrayBuffer }).stamp)[0] = t;
