/**
 * dashboard(pm): a live view of one host as a node:http request handler, to mount in the
 * service that embeds the host:
 *
 *   const dash = dashboard(pm, { authorize: (req, action) => isAdmin(req) });
 *   http.createServer((req, res) => dash(req, res));          // or app.use('/bgw', dash) in Express
 *
 * Routes, relative to where it is mounted (basePath for a plain node:http server, or what
 * Express's app.use strips):
 *
 *   GET  /                   the page (page.ts): one HTML document, style and script inline
 *   GET  /events             Server-Sent Events: a `snapshot` event now and on every change (event-stream.ts)
 *   GET  /snapshot           the snapshot as JSON (snapshot.ts)
 *   POST /actions/<kind>     terminate a worker or reset a failed one — refused (403) unless authorize allows (actions.ts)
 *
 * Anything else goes to `next()` when the framework gives one, else gets 404.
 *
 * When it pushes. A snapshot is sampled and broadcast every intervalMs; a change the host
 * reports (a worker started, stopped, became ready, failed, or reported activity) is
 * pushed within PUSH_DELAY_MS, coalesced, so a burst of exits is one event. Nothing is
 * read from the host while no client is connected except the chart samples, one per
 * interval. Every timer is unref'd: a dashboard never keeps the process alive, and close()
 * ends the streams and removes the listeners it put on the host.
 *
 * Host thread only: it reads the host with its own lock-free calls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fleet } from '../fleet/fleet.js';
import type { Postmaster } from '../host/postmaster.js';
import { runAction, type Authorize } from './actions.js';
import { EventStream } from './event-stream.js';
import { PAGE_CSP, pageHtml } from './page.js';
import { FleetWatch, History, takeSnapshot, toJson } from './snapshot.js';

export type { Authorize, DashboardAction } from './actions.js';

export interface DashboardOptions {
  /** Enables the actions: called for each one, true allows it. Without it the dashboard is read-only. */
  authorize?: Authorize;
  /** The fleet this host is in (joinFleet's result): shows its members and replicas. */
  fleet?: Fleet;
  /** Where the dashboard is mounted on a plain node:http server, e.g. "/bgw". Default "" (the root, or what the framework stripped). */
  basePath?: string;
  /** The page's title. Default "bgworker". */
  title?: string;
  /** How often a snapshot is sampled and pushed. Default 1000 ms. */
  intervalMs?: number;
  /** Samples kept for the charts. Default 120. */
  historyLength?: number;
  /** Live clients at most; more are answered 503. Default 16. */
  maxClients?: number;
  /** A comment line on every stream this often. Default 15000 ms. */
  heartbeatMs?: number;
  /** How often the fleet's SQL views are read. Default 5000 ms. */
  fleetIntervalMs?: number;
}

/** A node:http handler (Express's and Connect's signature too), and close(). */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** End the live streams, stop the timers, remove the listeners on the host. */
  close(): void;
  /** Live clients connected now. */
  readonly clients: number;
}

const PUSH_DELAY_MS = 25;
const HOST_EVENTS = ['phase', 'registered', 'unregistered', 'started', 'stopped', 'ready', 'failed', 'activity', 'exit'] as const;

/**
 * A live dashboard of `pm`, read-only unless `options.authorize` is given.
 * @returns a request handler, with close()
 */
export function dashboard(pm: Postmaster, options: DashboardOptions = {}): DashboardHandler {
  const o = { intervalMs: 1000, historyLength: 120, maxClients: 16, heartbeatMs: 15_000, fleetIntervalMs: 5000, title: 'bgworker', ...options };
  const base = (o.basePath ?? '').replace(/\/+$/, '');
  const history = new History(o.historyLength);
  const fleet = o.fleet ? new FleetWatch(o.fleet, o.fleetIntervalMs) : null;
  const snapshot = (): string => toJson(takeSnapshot(pm, history, o.authorize !== undefined, fleet ? fleet.view() : null));
  const stream = new EventStream({ maxClients: o.maxClients, heartbeatMs: o.heartbeatMs, maxBufferedBytes: 1 << 20 });
  let pushTimer: NodeJS.Timeout | null = null;
  const push = (): void => {
    if (pushTimer || stream.size === 0) return;
    pushTimer = setTimeout(() => {
      pushTimer = null;
      stream.broadcast('snapshot', snapshot());
    }, PUSH_DELAY_MS).unref();
  };
  const tick = setInterval(() => {
    history.sample(pm);
    if (stream.size > 0) stream.broadcast('snapshot', snapshot());
  }, o.intervalMs).unref();
  history.sample(pm);
  for (const e of HOST_EVENTS) pm.on(e, push);

  const handler = ((req, res, next) => {
    const route = routeOf(req.url ?? '/', base);
    if (route === null) return notFound(res, next);
    if (route === '') return servePage(req, res, o.title);
    if (route === 'events' && isRead(req)) return stream.accept(req, res, snapshot());
    if (route === 'snapshot' && isRead(req)) return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(snapshot());
    if (route.startsWith('actions/')) {
      return void runAction(pm, o.authorize, route.slice('actions/'.length), req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
      });
    }
    notFound(res, next);
  }) as DashboardHandler;
  handler.close = () => {
    clearInterval(tick);
    if (pushTimer) clearTimeout(pushTimer);
    for (const e of HOST_EVENTS) pm.off(e, push);
    stream.close();
  };
  Object.defineProperty(handler, 'clients', { get: () => stream.size });
  return handler;
}

/** The path below the mount point without its leading slash ('' for the page), or null if outside it. */
function routeOf(url: string, base: string): string | null {
  const path = url.split('?')[0]!;
  if (base !== '' && path !== base && !path.startsWith(`${base}/`)) return null;
  return path.slice(base.length).replace(/^\/+/, '');
}

const isRead = (req: IncomingMessage): boolean => req.method === 'GET' || req.method === 'HEAD';

function servePage(req: IncomingMessage, res: ServerResponse, title: string): void {
  if (!isRead(req)) return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  }).end(req.method === 'HEAD' ? undefined : pageHtml(title));
}

function notFound(res: ServerResponse, next?: (err?: unknown) => void): void {
  if (next) return next();
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}
