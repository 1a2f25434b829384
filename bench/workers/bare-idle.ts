/** Baseline thread for host.eld.256 and mem.worker: a bare worker that says it is up and idles. */
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', () => process.exit(0));
parentPort!.postMessage('up');
