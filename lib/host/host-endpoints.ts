/**
 * The host thread as a shm_mq participant: a pool of latches of its own, one per
 * conversation, and attaching them to queues.
 *
 * The host is one thread running many async tasks, so it cannot have one MyLatch as a
 * worker does: two tasks sleeping on one latch would steal each other's wake-ups. The
 * segment has `hostLatches` proc entries after the slots' own (layout.ts: proc numbers
 * totalSlots .. totalSlots + hostLatches - 1), of which only the latch word is used; an
 * endpoint takes one, the queue calls wake it by proc number like any worker's, and
 * release() gives it back. An endpoint's latch is reset when it is handed out, so a set left
 * from a previous conversation does not wake the next one.
 *
 * With a counterparty handle, a wait on the queue ends with 'detached' once that worker has
 * stopped: the handle's 'stopped' event sets the endpoint's latch (shm_mq_set_handle).
 *
 * Host thread only; use only the async and nowait queue calls on a host endpoint.
 */
import { HostLatchesExhaustedError } from '../errors.js';
import type { Latch } from '../shm/latch.js';
import type { ProcArray } from '../shm/proc-array.js';
import type { ShmMq, ShmMqEndpoint, ShmMqHandle, ShmMqRole } from '../shm/shm-mq.js';
import { BgwHandleStatus } from '../types.js';
import type { BackgroundWorkerHandle } from './handle.js';

/** A host-side queue endpoint: a latch of the host's own, and release() to give it back. */
export interface HostMqEndpoint extends ShmMqEndpoint {
  latch: Latch;
  release(): void;
}

export class HostEndpoints {
  private readonly free: number[];

  constructor(private readonly procs: ProcArray) {
    const { totalSlots, hostProcs } = procs.seg.layout;
    this.free = Array.from({ length: hostProcs }, (_, i) => totalSlots + i);
  }

  /** A latch of the host's own for one conversation. */
  mqEndpoint(): HostMqEndpoint {
    const procNumber = this.free.pop();
    if (procNumber === undefined) {
      const n = this.procs.seg.layout.hostProcs;
      throw new HostLatchesExhaustedError(`all ${n} host latches are in use; release() endpoints or raise hostLatches`);
    }
    const latch = this.procs.latch(procNumber);
    latch.reset();
    let released = false;
    return {
      procNumber,
      latch,
      latchOf: (n) => this.procs.latch(n),
      release: () => {
        if (released) return;
        released = true;
        this.free.push(procNumber);
      },
    };
  }

  /** shm_mq_attach for a host endpoint, optionally bound to the worker at the other end. */
  mqAttach(queue: ShmMq, role: ShmMqRole, endpoint: HostMqEndpoint, counterparty?: BackgroundWorkerHandle): ShmMqHandle {
    if (!counterparty) return queue.attach(role, endpoint);
    counterparty.on('stopped', () => endpoint.latch.set());
    return queue.attach(role, endpoint, { counterpartyAlive: () => counterparty.status().status !== BgwHandleStatus.Stopped });
  }
}
