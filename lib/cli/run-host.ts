/**
 * Run one host from a checked config until it exits, the way the postmaster runs from
 * postgresql.conf: register the configured workers (static, as from
 * shared_preload_libraries), start, and map the process signals PostgreSQL uses:
 *
 *   SIGTERM  smart shutdown      SIGINT  fast shutdown      SIGQUIT  immediate shutdown
 *   SIGHUP   reloadConfig(): SIGHUP to every running worker
 *
 * A later, more severe signal escalates a shutdown already under way (the host keeps the
 * most severe request). A request that arrives while start() runs is carried out once it
 * has resolved: a host asked to shut down before it has started would otherwise go on. Resolves with the host's exit status: 0 after a clean shutdown,
 * 1 if it died (a crash with restartAfterCrash off). Every handler and timer it installs is
 * removed before it resolves, so the process can end by itself. The config's schedules are
 * declared once the host has started; one that is refused stops the host and rejects.
 * With `http`, the host is served over HTTP (http-endpoint.ts) from the moment it has
 * started until it has exited; a port that cannot be had stops the host and rejects.
 */
import { observePostmaster } from '../host/diagnostics.js';
import { Postmaster } from '../host/postmaster.js';
import type { ShutdownMode } from '../types.js';
import type { HostConfig } from './config.js';
import type { HostView } from './host-view.js';
import { httpEndpoint } from './http-endpoint.js';

/** Where signals come from: the process, or an emitter standing in for it. */
export interface SignalSource {
  on(signal: NodeJS.Signals, fn: () => void): unknown;
  off(signal: NodeJS.Signals, fn: () => void): unknown;
}

export interface RunHostOptions {
  config: HostConfig;
  view: HostView;
  signals: SignalSource;
  /** Fast shutdown after this long, if set. */
  stopAfterMs?: number | null;
  /** Serve the host over HTTP while it runs (http-endpoint.ts). */
  http?: { port: number; host: string; title: string } | null;
}

const SHUTDOWN_SIGNALS: Record<'SIGTERM' | 'SIGINT' | 'SIGQUIT', ShutdownMode> = { SIGTERM: 'smart', SIGINT: 'fast', SIGQUIT: 'immediate' };

/** @throws whatever the host throws for a bad option or registration, or from start() */
export async function runHost(o: RunHostOptions): Promise<number> {
  const pm = new Postmaster({ ...o.config.options, logger: o.view.logger });
  for (const w of o.config.workers) pm.registerBackgroundWorker(w);
  observePostmaster(pm);
  o.view.attach(pm);
  const http = o.http ? httpEndpoint(pm, o.http) : null;
  const exited = new Promise<number>((res) => pm.once('exit', res));
  const log = o.view.logger;
  // Assigned below, in the same turn, before any handler or timer can run.
  let started: Promise<void> = Promise.resolve();
  const whenStarted = (fn: () => void): void => void started.then(fn, () => undefined);
  const shutdown = (mode: ShutdownMode, why: string): void => {
    log.info({ signal: why, mode }, `received ${mode} shutdown request`);
    whenStarted(() => void pm.shutdown(mode));
  };
  const reload = (): void => {
    log.info({ signal: 'SIGHUP' }, 'received SIGHUP, reloading configuration');
    whenStarted(() => pm.reloadConfig());
  };
  const removeHandlers = installHandlers(o.signals, shutdown, reload);
  const timer = o.stopAfterMs ? setTimeout(() => shutdown('fast', 'time is up'), o.stopAfterMs) : null;
  const cleanUp = async (): Promise<void> => {
    removeHandlers();
    if (timer) clearTimeout(timer);
    await http?.close();
  };
  started = pm.start();
  try {
    await started;
  } catch (err) {
    await cleanUp();
    throw err;
  }
  try {
    for (const spec of o.config.schedules) o.view.attachSchedule(await pm.schedule(spec));
    if (http) {
      const url = await http.listen();
      log.info({ http: url }, `serving /metrics, /health, /activity and the dashboard on ${url}`);
    }
  } catch (err) {
    // A schedule the scheduler refuses is a config error, as is a port that cannot be had: the host that started for it goes.
    await pm.shutdown('fast');
    await cleanUp();
    throw err;
  }
  const status = await exited;
  await cleanUp();
  o.view.close(status);
  return status;
}

function installHandlers(signals: SignalSource, shutdown: (mode: ShutdownMode, why: string) => void, reload: () => void): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>([['SIGHUP', reload]]);
  for (const [sig, mode] of Object.entries(SHUTDOWN_SIGNALS) as Array<[NodeJS.Signals, ShutdownMode]>) {
    handlers.set(sig, () => shutdown(mode, sig));
  }
  for (const [sig, fn] of handlers) signals.on(sig, fn);
  return () => {
    for (const [sig, fn] of handlers) signals.off(sig, fn);
  };
}
