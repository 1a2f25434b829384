/**
 * `bgworker --http <port>`: the running host over HTTP, for a browser, a scraper and a
 * load balancer's health check, on 127.0.0.1 unless --http-host says otherwise:
 *
 *   GET /metrics     the host's and its schedules' metrics, Prometheus text (postmasterMetrics, scheduleMetrics)
 *   GET /health      pm.health() as JSON; 503 when failed (healthHandler)
 *   GET /activity    pm.activity() as JSON: one row per registered worker
 *   GET /            the live dashboard, read-only (the CLI has no way to authorize an action)
 *
 * The metrics are made before the host starts, so their counters see every start. The
 * server is closed when the host has exited: the dashboard's streams end and every
 * connection is closed, so the process can end by itself.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboard } from '../dashboard/dashboard.js';
import { ConfigInvalidError } from '../errors.js';
import { healthHandler } from '../host/health.js';
import { metricsHandler, postmasterMetrics } from '../host/metrics.js';
import type { Postmaster } from '../host/postmaster.js';
import { scheduleMetrics } from '../schedule/metrics.js';

export interface HttpEndpointOptions {
  port: number;
  host: string;
  title: string;
}

export interface HttpEndpoint {
  /** Listen; resolves with the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Make the endpoint of `pm` (before pm.start(), so that the metrics count from the first start). */
export function httpEndpoint(pm: Postmaster, o: HttpEndpointOptions): HttpEndpoint {
  const metrics = postmasterMetrics(pm);
  const schedules = scheduleMetrics(pm, { registry: metrics.registry });
  const dash = dashboard(pm, { title: o.title });
  const health = healthHandler(pm);
  const serveMetrics = metricsHandler(metrics);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') return serveMetrics(req, res);
    if (path === '/health') return health(req, res);
    if (path === '/activity') return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(pm.activity()));
    dash(req, res);
  });
  return {
    listen: () => new Promise((resolve, reject) => {
      server.once('error', (err) => reject(new ConfigInvalidError(`--http cannot listen on ${o.host}:${o.port}: ${err.message}`, { cause: err })));
      server.listen(o.port, o.host, () => {
        const a = server.address() as AddressInfo;
        resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
      });
    }),
    close: () => new Promise((resolve) => {
      dash.close();
      schedules.close();
      metrics.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
