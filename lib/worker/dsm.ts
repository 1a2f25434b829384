/**
 * Dynamic shared memory from a worker: dsm_create and dsm_attach as requests to the host,
 * which owns the registry (host/dsm-registry.ts). Creating on the host means a handle is
 * registered before anyone can learn it, so an attach by handle never races its creation.
 * Replies come back on the thread's port and are matched by request id.
 */
import { parentPort } from 'node:worker_threads';
import type { DsmReplyMessage, WorkerMessage } from '../protocol/messages.js';
import { fromWire } from '../protocol/wire-error.js';
import { DsmSegment, type DsmOps } from '../shm/dsm-segment.js';

const pending = new Map<number, { resolve: (s: DsmSegment | null) => void; reject: (e: Error) => void }>();
let nextId = 1;

function post(m: WorkerMessage): void {
  parentPort!.postMessage(m);
}

const ops: DsmOps = {
  detach: (handle) => post({ type: 'dsm-release', op: 'detach', handle }),
  pin: (handle) => post({ type: 'dsm-release', op: 'pin', handle }),
  unpin: (handle) => post({ type: 'dsm-release', op: 'unpin', handle }),
};

export function dsmRequest(op: 'create' | 'attach', arg: number): Promise<DsmSegment | null> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ type: 'dsm', id, op, arg });
  });
}

export function onDsmReply(m: DsmReplyMessage): void {
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  if (m.error) p.reject(fromWire(m.error));
  else p.resolve(m.sab ? new DsmSegment(m.handle, m.sab, ops) : null);
}
