/**
 * service.jobs: jobs per second through the example service (workers/service: node:http,
 * one dynamic bgworker per POST /jobs, registered reusable as the service does by default)
 * with 4 clients, against the same node:http route starting a bare `new Worker` per
 * request that does the same count and posts it back. The job counts the primes below
 * JOB_BELOW (a few ms of CPU).
 *
 * Clients are fetch() loops in this process on 127.0.0.1 (keep-alive), each sending its next
 * request when the last is answered. Windows alternate ours, ours with a fresh thread per
 * job (`reusableJobs: false`, PostgreSQL's isolation) and bare, at 4 clients and at 1, after
 * a warm-up window of each; every reply's count is checked. Extra: jobs/s and p50 latency
 * per request at 1 and at 4 clients, for all three.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { silentLogger } from '../lib/index.js';
import { startService } from '../workers/service/service.js';
import countPrimes from '../workers/fanout/task.js';
import { figure } from './catalogue.js';
import { alternate, workerUrl } from './harness.js';
import { median } from './stats.js';
import type { Bench } from './types.js';

const JOB_BELOW = 30_000;
const PRIMES = countPrimes({ from: 2, to: JOB_BELOW });

interface Window {
  rate: number;
  latencies: number[];
}

/** `clients` request loops against `url` for `ms`: jobs per second and every request's latency. */
async function drive(url: string, clients: number, ms: number): Promise<Window> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const client = async (): Promise<void> => {
    while (performance.now() - t0 < ms) {
      const s = performance.now();
      const res = await fetch(`${url}/jobs?below=${JOB_BELOW}`, { method: 'POST' });
      const body = (await res.json()) as { primes?: number; error?: string };
      if (res.status !== 200 || body.primes !== PRIMES) throw new Error(`a job came back ${res.status}: ${JSON.stringify(body)}`);
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { rate: latencies.length / ((performance.now() - t0) / 1000), latencies };
}

/** The baseline server: the same route, a bare Worker per request. */
async function bareServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const below = Number(new URL(req.url ?? '/', 'http://bare').searchParams.get('below'));
    const w = new Worker(workerUrl('bare-job'), { workerData: below });
    w.once('message', (primes: number) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ below, primes })));
    w.once('error', (err) => void res.writeHead(500).end(JSON.stringify({ error: err.message })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const bench: Bench = {
  name: 'service',
  figures: ['service.jobs'],
  async run(ctx) {
    const ms = ctx.quick ? 250 : 2000;
    const rounds = ctx.quick ? 1 : 3;
    const ours = await startService({ logger: silentLogger });
    const fresh = await startService({ logger: silentLogger, reusableJobs: false });
    const bare = await bareServer();
    const urls: Record<string, string> = { ours: ours.url, fresh: fresh.url, bare: bare.url };
    const w: Record<string, Window[]> = {};
    try {
      const turns = [4, 1].flatMap((clients) => Object.keys(urls).map((kind) => async (rec: boolean) => {
        ctx.progress(`service.jobs: ${kind}, ${clients} client(s)${rec ? '' : ', warm-up'}`);
        const r = await drive(urls[kind]!, clients, ms);
        if (rec) (w[`${kind}${clients}`] ??= []).push(r);
      }));
      await alternate(rounds, 1, ...turns);
    } finally {
      await bare.close();
      await fresh.stop();
      await ours.stop();
    }
    const rate = (k: string): number => median(w[k]!.map((x) => x.rate));
    const p50 = (k: string): number => median(w[k]!.flatMap((x) => x.latencies));
    return [figure('service.jobs', {
      ours: rate('ours4'),
      baseline: rate('bare4'),
      samples: w['ours4']!.reduce((n, x) => n + x.latencies.length, 0),
      extra: {
        job_below: JOB_BELOW,
        p50_ms_4_clients: p50('ours4'), fresh_p50_ms_4_clients: p50('fresh4'), baseline_p50_ms_4_clients: p50('bare4'),
        fresh_jobs_per_s_4_clients: rate('fresh4'),
        jobs_per_s_1_client: rate('ours1'), fresh_jobs_per_s_1_client: rate('fresh1'), baseline_jobs_per_s_1_client: rate('bare1'),
        p50_ms_1_client: p50('ours1'), fresh_p50_ms_1_client: p50('fresh1'), baseline_p50_ms_1_client: p50('bare1'),
      },
    })];
  },
};
export default bench;
