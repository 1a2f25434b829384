/**
 * Readiness (beyond PostgreSQL, after systemd's READY=1): the moment a worker is really up,
 * as opposed to PostgreSQL's "started" (its pid is known). A worker registered with
 * readiness 'entry' is ready as its entry function begins (entry.ts declares it); one
 * registered with 'declared' is ready when it calls ctx.ready(), e.g. after it connected
 * and loaded what it serves. The host learns it by one message per life; later calls are
 * no-ops.
 */
import { onNewLife } from './life.js';
import { postToHost } from './to-host.js';

let declared = false;
onNewLife(() => void (declared = false));

export function declareReady(): void {
  if (declared) return;
  declared = true;
  postToHost({ type: 'worker-ready' });
}
