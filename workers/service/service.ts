/**
 * An example service that embeds a bgworker host in a node:http server, the way an
 * application would: the host starts before the server listens and stops after it has
 * stopped accepting, and the server serves
 *
 *   GET  /health            the host's health (pm.health(): healthy / degraded / failed; 503 when failed)
 *   GET  /metrics           the host's metrics in prom-client (postmasterMetrics + metricsHandler)
 *   GET  /dashboard/        the live dashboard (dashboard(): read-only unless `authorize` is given)
 *   POST /jobs?below=N      one dynamic background worker per request: counts the primes below N (job.ts),
 *                           in a reused thread unless `reusableJobs: false` asks for a fresh one per job
 *   POST /echo              the body, over shm_mq, to a long-lived worker and back (echo-channel.ts)
 *
 * stop() is the graceful path a SIGTERM takes (main.ts): stop accepting connections, close
 * idle keep-alive connections and the dashboard's live streams, end the echo conversation,
 * then a smart shutdown of the host, which waits for the jobs in flight.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  dashboard, healthHandler, metricsHandler, Postmaster, postmasterMetrics,
  type Authorize, type DashboardHandler, type Logger,
} from '../../lib/index.js';
import { EchoChannel } from './echo-channel.js';
import { runJob } from './job.js';

export interface ServiceOptions {
  port?: number;
  host?: string;
  logger?: Logger;
  /** The dashboard's actions hook; without it the dashboard is read-only. */
  authorize?: Authorize;
  maxWorkerProcesses?: number;
  /** Register the per-request job worker `reusable` (thread reuse). Default true. */
  reusableJobs?: boolean;
}

export interface Service {
  readonly pm: Postmaster;
  readonly server: Server;
  readonly url: string;
  /** Stop accepting, then shut the host down (smart). Resolves once both are done. */
  stop(): Promise<void>;
}

const MAX_BELOW = 5_000_000;
const MAX_BODY_BYTES = 64 * 1024;

const json = (res: ServerResponse, status: number, body: unknown): void =>
  void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

export async function startService(o: ServiceOptions = {}): Promise<Service> {
  const pm = new Postmaster({ maxWorkerProcesses: o.maxWorkerProcesses ?? 8, ...(o.logger ? { logger: o.logger } : {}) });
  const metrics = postmasterMetrics(pm);
  await pm.start();
  const echo = await EchoChannel.open(pm);
  const dash = dashboard(pm, { basePath: '/dashboard', title: 'bgworker example service', ...(o.authorize ? { authorize: o.authorize } : {}) });
  const reusableJobs = o.reusableJobs ?? true;
  const parts: Parts = { pm, health: healthHandler(pm), metrics: metricsHandler(metrics), dash, echo, reusableJobs };
  const server = createServer((req, res) => route(req, res, parts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= (async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    dash.close();
    echo.close();
    await pm.shutdown('smart');
    metrics.close();
    await closed;
  })());
  return { pm, server, url: `http://${address}:${port}`, stop };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Parts {
  pm: Postmaster;
  health: Handler;
  metrics: Handler;
  dash: DashboardHandler;
  echo: EchoChannel;
  reusableJobs: boolean;
}

function route(req: IncomingMessage, res: ServerResponse, p: Parts): void {
  const url = new URL(req.url ?? '/', 'http://service');
  if (url.pathname === '/health') return p.health(req, res);
  if (url.pathname === '/metrics') return p.metrics(req, res);
  if (url.pathname === '/dashboard' || url.pathname.startsWith('/dashboard/')) return p.dash(req, res);
  if (url.pathname === '/jobs' && req.method === 'POST') return void job(p, url, res);
  if (url.pathname === '/echo' && req.method === 'POST') return void echo(p.echo, req, res);
  json(res, 404, { error: 'not found' });
}

async function job(p: Parts, url: URL, res: ServerResponse): Promise<void> {
  const below = Number(url.searchParams.get('below') ?? '10000');
  if (!Number.isInteger(below) || below < 2 || below > MAX_BELOW) return json(res, 400, { error: `below must be an integer in 2..${MAX_BELOW}` });
  try {
    const primes = await runJob(p.pm, below, p.reusableJobs);
    if (primes === null) json(res, 503, { error: 'every background-worker slot is in use; try again' });
    else json(res, 200, { below, primes });
  } catch (err) {
    json(res, 500, { error: (err as Error).message });
  }
}

async function echo(channel: EchoChannel, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) return json(res, 413, { error: `the body is over ${MAX_BODY_BYTES} bytes` });
    chunks.push(c);
  }
  try {
    json(res, 200, await channel.ask(Buffer.concat(chunks).toString('utf8')));
  } catch (err) {
    json(res, 503, { error: (err as Error).message });
  }
}
