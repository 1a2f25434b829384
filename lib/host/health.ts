/**
 * The host's health, for a service to mount as its readiness or liveness check.
 *
 *   failed     the host is not running (not started, stopped, or dead after a crash with
 *              restartAfterCrash off, or a region init that failed), or a worker is past its
 *              restart intensity and will not run again until pm.resetFailed() or a new
 *              registration: somebody has to act.
 *   degraded   the host runs but not everything does: a crash-restart cycle is in progress,
 *              the host is shutting down, workers are waiting out a database outage, or
 *              workers are waiting to be restarted after an error or a crash.
 *   healthy    otherwise.
 *
 * Every status but healthy comes with its reasons, one line each. `healthHandler` answers
 * HTTP with the JSON and 200, or 503 when failed (degraded still serves).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegisteredBgWorker } from './registered-worker.js';

export type HealthStatus = 'healthy' | 'degraded' | 'failed';

export interface Health {
  status: HealthStatus;
  reasons: string[];
}

/** What the host tells the assessment. */
export interface HealthInput {
  running: boolean;
  state: string;
  crashCycle: boolean;
  shuttingDown: boolean;
  workers: readonly RegisteredBgWorker[];
}

export function assessHealth(h: HealthInput): Health {
  if (!h.running) return { status: 'failed', reasons: [`the host is not running (state ${h.state})`] };
  const failed = h.workers.filter((rw) => rw.failed).map((rw) => `worker "${rw.entry.name}" exceeded its restart intensity`);
  if (failed.length > 0) return { status: 'failed', reasons: failed };
  const reasons: string[] = [];
  if (h.crashCycle) reasons.push('a crash-restart cycle is in progress');
  if (h.shuttingDown) reasons.push('the host is shutting down');
  const waiting = h.workers.filter((rw) => rw.pid === 0 && rw.crashedAt !== 0 && !rw.terminate);
  const outage = waiting.filter((rw) => rw.outageExits > 0).length;
  if (outage > 0) reasons.push(`${outage} worker(s) waiting for the database to come back`);
  if (waiting.length > outage) reasons.push(`${waiting.length - outage} worker(s) waiting to restart after an error or a crash`);
  return { status: reasons.length > 0 ? 'degraded' : 'healthy', reasons };
}

/** A node:http request handler (Express and Fastify take it too) answering with the host's health(). */
export function healthHandler(pm: { health(): Health }): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    const h = pm.health();
    res.writeHead(h.status === 'failed' ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(h));
  };
}
