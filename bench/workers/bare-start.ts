/**
 * Baseline thread for start.dynamic and slots.churn: a bare worker whose first line posts
 * the wall-clock time, then ends.
 */
import { parentPort } from 'node:worker_threads';

parentPort!.postMessage(performance.timeOrigin + performance.now());
