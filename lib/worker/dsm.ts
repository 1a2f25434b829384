/**
 * Dynamic shared memory from a worker: dsm_create and dsm_attach as requests to the host,
 * which owns the registry (host/dsm-registry.ts). Creating on the host means a handle is
 * registered before anyone can learn it, so an attach by handle never races its creation.
 * Detach, pin and unpin are one-way messages: the host applies them in the order sent.
 * Attachments are counted for the host's hard-stop rule (hazards.ts).
 */
import { DsmSegment, type DsmOps } from '../shm/dsm-segment.js';
import { attachmentsChanged } from './hazards.js';
import { postToHost, requestHost } from './to-host.js';

const ops: DsmOps = {
  detach: (handle) => {
    attachmentsChanged(-1);
    postToHost({ type: 'dsm-release', op: 'detach', handle });
  },
  pin: (handle) => postToHost({ type: 'dsm-release', op: 'pin', handle }),
  unpin: (handle) => postToHost({ type: 'dsm-release', op: 'unpin', handle }),
};

export async function dsmCreate(size: number): Promise<DsmSegment> {
  const { handle, sab } = await requestHost('dsm-create', size);
  attachmentsChanged(1);
  return new DsmSegment(handle, sab, ops);
}

export async function dsmAttach(handle: number): Promise<DsmSegment | null> {
  const found = await requestHost('dsm-attach', handle);
  if (!found) return null;
  attachmentsChanged(1);
  return new DsmSegment(found.handle, found.sab, ops);
}
