/**
 * Baseline for latch.rtt.async: two plain worker_threads ping-pong a number over a
 * MessageChannel, each answering from its event loop.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { serveBatches } from './pair-layout.js';

const { sab, role, port } = workerData as { sab: SharedArrayBuffer; role: 'ping' | 'pong'; port: MessagePort };

if (role === 'ping') {
  let answered: () => void = () => {};
  port.on('message', () => answered());
  const roundTrip = (): Promise<number> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      answered = () => resolve(performance.now() - t0);
      port.postMessage(0);
    });
  parentPort!.postMessage('ready');
  await serveBatches(new Int32Array(sab), new Float64Array(sab), roundTrip);
  port.close();
} else {
  port.on('message', (m: number) => port.postMessage(m));
  port.on('close', () => port.close());
  parentPort!.postMessage('ready');
}
