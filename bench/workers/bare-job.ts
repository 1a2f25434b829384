/**
 * service.jobs' baseline worker: a bare worker_thread per request that counts the primes
 * below workerData (the same count as the example service's job worker), posts the count
 * and ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import countPrimes from '../../workers/fanout/task.js';

parentPort!.postMessage(countPrimes({ from: 2, to: workerData as number }));
