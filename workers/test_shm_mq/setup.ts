/**
 * test_shm_mq's leader, on the host (setup.c and test.c): build the segment and the ring of
 * queues, launch the workers, wait until all are ready, then run the test itself —
 * test_shm_mq (send, get it back, send what came back, …) or test_shm_mq_pipelined (nowait
 * sends and receives in one loop) — and check that what comes back is byte-identical.
 * Errors carry PostgreSQL's messages.
 */
import { fileURLToPath } from 'node:url';
import {
  BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, BgwHandleStatus, ShmMq, ShmToc, ShmTocEstimator,
  type BackgroundWorkerHandle, type DsmSegment, type HostMqEndpoint, type Postmaster, type ShmMqHandle,
} from '../../lib/index.js';
import { HDR_BYTES, HDR_WORKERS_READY, HDR_WORKERS_TOTAL, PG_TEST_SHM_MQ_MAGIC, type TestShmMqArg } from './layout.js';

const workerModule = fileURLToPath(new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export interface Pipeline {
  seg: DsmSegment;
  endpoint: HostMqEndpoint;
  outq: ShmMqHandle;
  inq: ShmMqHandle;
  workers: BackgroundWorkerHandle[];
  /** Detach everything the leader holds; the workers then shut down stage by stage. */
  close(): void;
}

function createSegment(pm: Postmaster, queueSize: number, nworkers: number): { seg: DsmSegment; toc: ShmToc; queues: ShmMq[] } {
  const est = new ShmTocEstimator().chunk(HDR_BYTES).addKeys(nworkers + 2);
  for (let i = 0; i <= nworkers; i++) est.chunk(queueSize);
  const seg = pm.dsmCreate(est.estimate());
  const toc = ShmToc.create(PG_TEST_SHM_MQ_MAGIC, seg.buffer, 0, seg.size);
  const hdr = toc.allocate(HDR_BYTES);
  Atomics.store(new Int32Array(seg.buffer, hdr, HDR_BYTES >> 2), HDR_WORKERS_TOTAL, nworkers);
  toc.insert(0, hdr);
  const queues: ShmMq[] = [];
  for (let i = 0; i <= nworkers; i++) {
    const at = toc.allocate(queueSize);
    queues.push(ShmMq.create(seg.buffer, at, queueSize));
    toc.insert(i + 1, at);
  }
  return { seg, toc, queues };
}

async function launchWorkers(pm: Postmaster, seg: DsmSegment, leader: number, nworkers: number): Promise<BackgroundWorkerHandle[]> {
  const handles: BackgroundWorkerHandle[] = [];
  for (let i = 1; i <= nworkers; i++) {
    const arg: TestShmMqArg = { dsm: seg.handle, leader };
    const h = await pm.registerDynamicBackgroundWorker({
      name: `test_shm_mq worker ${i}`, type: 'test_shm_mq', module: workerModule, function: 'main',
      flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART, mainArg: arg,
    });
    if (!h) {
      for (const w of handles) await w.terminate();
      throw new Error('could not register background process: you may need to increase maxWorkerProcesses');
    }
    handles.push(h);
  }
  return handles;
}

/** Wait until every worker said it is ready; fail if one stopped first. */
async function waitForWorkersReady(hdr: Int32Array, endpoint: HostMqEndpoint, workers: BackgroundWorkerHandle[]): Promise<void> {
  for (const w of workers) w.on('stopped', () => endpoint.latch.set());
  for (;;) {
    if (Atomics.load(hdr, HDR_WORKERS_READY) >= workers.length) return;
    if (workers.some((w) => w.status().status === BgwHandleStatus.Stopped)) {
      throw new Error('one or more background workers failed to start');
    }
    await endpoint.latch.waitAsync(Infinity);
    endpoint.latch.reset();
  }
}

/** setup_dynamic_shared_memory + the ready wait. */
export async function setupPipeline(pm: Postmaster, queueSize: number, nworkers: number): Promise<Pipeline> {
  if (queueSize < ShmMq.MINIMUM_SIZE) throw new Error(`queue size must be at least ${ShmMq.MINIMUM_SIZE} bytes`);
  const { seg, toc, queues } = createSegment(pm, queueSize, nworkers);
  const endpoint = pm.mqEndpoint();
  queues[0]!.setSender(endpoint);
  queues[nworkers]!.setReceiver(endpoint);
  const workers = await launchWorkers(pm, seg, endpoint.procNumber, nworkers);
  const outq = pm.mqAttach(queues[0]!, 'sender', endpoint, workers[0]);
  const inq = pm.mqAttach(queues[nworkers]!, 'receiver', endpoint, workers[nworkers - 1]);
  try {
    await waitForWorkersReady(new Int32Array(seg.buffer, toc.lookup(0)!, HDR_BYTES >> 2), endpoint, workers);
  } catch (err) {
    for (const w of workers) await w.terminate();
    throw err;
  }
  const close = () => {
    outq.detach();
    inq.detach();
    seg.detach();
    endpoint.release();
  };
  return { seg, endpoint, outq, inq, workers, close };
}

function verify(original: Uint8Array, got: Uint8Array): void {
  if (got.length !== original.length) {
    throw new Error(`message corrupted: message length ${got.length} but expected ${original.length}`);
  }
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== original[i]) throw new Error(`message corrupted: mismatch at byte ${i}`);
  }
}

/** test_shm_mq(queue_size, message, repeat_count, num_workers). */
export async function testShmMq(pm: Postmaster, queueSize: number, message: Uint8Array, repeatCount = 1, nworkers = 1): Promise<void> {
  if (repeatCount < 0) throw new Error('repeat count size must be an integer value greater than or equal to zero');
  if (nworkers <= 0) throw new Error('number of workers must be an integer value greater than zero');
  const p = await setupPipeline(pm, queueSize, nworkers);
  try {
    if ((await p.outq.sendAsync(message)) !== 'success') throw new Error('could not send message');
    let last: Uint8Array;
    for (let left = repeatCount; ; ) {
      const r = await p.inq.receiveAsync();
      if (r.result !== 'success') throw new Error('could not receive message');
      last = r.data!.slice();
      if (--left <= 0) break;
      if ((await p.outq.sendAsync(last)) !== 'success') throw new Error('could not send message');
    }
    verify(message, last);
  } finally {
    p.close();
  }
}

/** test_shm_mq_pipelined(queue_size, message, repeat_count, num_workers, verify). */
export async function testShmMqPipelined(
  pm: Postmaster, queueSize: number, message: Uint8Array, repeatCount = 1, nworkers = 1, check = true,
): Promise<void> {
  const p = await setupPipeline(pm, queueSize, nworkers);
  try {
    let sent = 0;
    let received = 0;
    for (;;) {
      let progress = false;
      if (sent < repeatCount) {
        const r = p.outq.send(message, true);
        if (r === 'detached') throw new Error('could not send message');
        if (r === 'success') (sent++, (progress = true));
      }
      if (received < repeatCount) {
        const r = p.inq.receive(true);
        if (r.result === 'detached') throw new Error('could not receive message');
        if (r.result === 'success') {
          received++;
          progress = true;
          if (check) verify(message, r.data!);
        }
      }
      if (received >= repeatCount) {
        if (sent !== received) throw new Error(`message sent ${sent} times, but received ${received} times`);
        return;
      }
      if (!progress) {
        await p.endpoint.latch.waitAsync(Infinity);
        p.endpoint.latch.reset();
      }
    }
  } finally {
    p.close();
  }
}
