/**
 * A member's identity: `<hostname>:<pid>:<uuid>`, new at every process start and never the
 * hostname alone. Two containers with the same hostname, a host restarted with the same pid
 * (pid 1 in every container), or a process that joins twice all get distinct identities,
 * so a restarted host can never renew the leases of its previous life: those run out, and
 * their terms move on. The hostname and pid are there for people reading fleet_status.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export function memberIdentity(): string {
  return `${hostname()}:${process.pid}:${randomUUID()}`;
}
