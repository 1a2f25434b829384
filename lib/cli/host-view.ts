/**
 * What the CLI shows while a host runs: a view owns the host's logger and follows its
 * events. run-host.ts creates the logger-bearing view first (the Postmaster takes its
 * logger at construction), attaches it once the host exists, and closes it after the
 * host's 'exit' event with the exit status. Views: table-view.ts (a terminal) and
 * json-view.ts (anything else).
 */
import type { Postmaster } from '../host/postmaster.js';
import type { ScheduledWorker } from '../schedule/scheduled-worker.js';
import type { Logger } from '../types.js';

export interface HostView {
  logger: Logger;
  attach(pm: Postmaster): void;
  /** A schedule of the config was declared (after attach). */
  attachSchedule(w: ScheduledWorker): void;
  close(status: number): void;
}
