/**
 * Baseline thread for host.eld.256 and mem.worker: a bare worker that says it is up (with
 * its heap's split, heap-spaces.ts) and idles.
 */
import { parentPort } from 'node:worker_threads';
import { heapKiB } from './heap-spaces.js';

parentPort!.on('message', () => process.exit(0));
parentPort!.postMessage(heapKiB());
