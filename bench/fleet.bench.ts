/**
 * The fleet's figures, with real host processes (dist/test/fixtures/fleet-host.js, the
 * test suite's host, with its replica module) on the local PostgreSQL server, each in a
 * schema of its own that is dropped afterwards. Times are wall-clock ms from the bench's
 * action (a signal, a declaration) to a host's JSON line saying the copy's thread runs.
 *
 * fleet.failover.kill: SIGKILL the host of one replica → the replica runs on another host;
 *   baseline: the bound the README states for the settings used (leaseMs 1000, heartbeatMs
 *   200), leaseMs + heartbeatMs + S, with S, the launch, measured in the same run as the
 *   median of declare → running for one replica on an idle fleet. Between kills a new
 *   host replaces the dead one and the fleet settles.
 * fleet.handover: SIGTERM (smart shutdown) of the host of a replica → it runs on another
 *   host; baseline: a NOTIFY round trip between two pg clients, sampled between rounds.
 * fleet.converge: declare 100 replicas on 5 hosts → all 100 running, s; baseline: 100
 *   dynamic registrations on one host in this process → all started. Alternating. The
 *   hosts run with leaseMs 5000 / heartbeatMs 1000 here: starting 100 threads at once on
 *   two cores keeps an event loop busy for longer than a 1 s lease allows. --quick declares
 *   60 replicas on 3 hosts (against 60 local registrations) and says so in the row.
 * fleet.idle.load: the statements per second one idle host sends (default settings, one
 *   replica running, nothing changing): its fleet connection's count over a window, plus
 *   the host's LISTEN connection's liveness check (pg-listen's paranoid check, one
 *   statement per 5 s); baseline 0, the target is an absolute 2.
 * Without a server every row says so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Postmaster, silentLogger } from '../lib/index.js';
import { figure, unavailable } from './catalogue.js';
import { sleep, wallMs, workerUrl } from './harness.js';
import { median, summarize } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';

const HOST_SCRIPT = fileURLToPath(new URL('../test/fixtures/fleet-host.js', import.meta.url));
const REPLICA = fileURLToPath(new URL('../test/fixtures/fleet-replica.js', import.meta.url));
const PG = {
  host: process.env['PGHOST'] ?? '127.0.0.1',
  port: Number(process.env['PGPORT'] ?? 5432),
  user: process.env['PGUSER'] ?? 'postgres',
  database: process.env['PGDATABASE'] ?? 'test',
};
const FAST = { leaseMs: 1000, heartbeatMs: 200, fenceMarginMs: 200 };
/** For 100 thread starts at once on a small machine: a host busy starting threads must not miss its renewals. */
const ROOMY = { leaseMs: 5000, heartbeatMs: 1000, fenceMarginMs: 1000 };
/** pg-listen's paranoid check on the host's LISTEN connection (lib/pg/listen.ts): one statement per 5 s. */
const LISTENER_CHECKS_PER_S = 1 / 5;
const FIGURES = ['fleet.failover.kill', 'fleet.handover', 'fleet.converge', 'fleet.idle.load'] as const;

type Line = Record<string, unknown> & { event: string; at: number };

class Host {
  readonly lines: Line[] = [];
  member = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += String(d);
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const p of parts) this.lines.push(JSON.parse(p) as Line);
      for (const w of [...this.waiters]) w();
    });
    this.exited = new Promise((res) => child.once('exit', () => res()));
  }

  /** The first line from index `from` that satisfies `pred`. */
  waitLine(pred: (l: Line) => boolean, what: string, ms = 30_000, from = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      const check = (): void => {
        const l = this.lines.slice(from).find(pred);
        if (!l) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(l);
      };
      this.waiters.push(check);
      check();
    });
  }
}

const env = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS')),
  PGHOST: PG.host, PGPORT: String(PG.port), PGUSER: PG.user, PGDATABASE: PG.database,
});

class Bed {
  readonly hosts: Host[] = [];
  constructor(readonly db: pg.Client, readonly schema: string, readonly config: object) {}

  async start(n: number): Promise<void> {
    await Promise.all(Array.from({ length: n }, () => this.add()));
  }

  async add(): Promise<Host> {
    const h = new Host(spawn(process.execPath, [HOST_SCRIPT, JSON.stringify({ schema: this.schema, ...this.config })], { env: env(), stdio: ['ignore', 'pipe', 'ignore'] }));
    this.hosts.push(h);
    h.member = (await h.waitLine((l) => l.event === 'ready', 'a host to join'))['member'] as string;
    return h;
  }

  remove(h: Host): void {
    this.hosts.splice(this.hosts.indexOf(h), 1);
  }

  /** The first start of worker#replica after `since` on any host but `not`. */
  started(worker: string, replica: number, since: number, not?: Host): Promise<Line> {
    return Promise.race(
      this.hosts.filter((h) => h !== not).map((h) => h.waitLine((l) => l.event === 'started' && l['worker'] === worker && l['replica'] === replica && l.at >= since, `${worker}#${replica} to start`)),
    );
  }

  async declare(name: string, replicas: number, mainArg?: object): Promise<void> {
    const reg = { module: REPLICA, ...(mainArg ? { mainArg } : {}) };
    await this.db.query(`SELECT ${this.schema}.fleet_declare($1, $2, $3)`, [name, JSON.stringify(reg), replicas]);
  }

  /** Poll until `sql` returns true, or fail naming `what`. */
  async until(sql: string, what: string, ms = 30_000): Promise<void> {
    const end = performance.now() + ms;
    while (!(await this.db.query<{ ok: boolean }>(sql)).rows[0]!.ok) {
      if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(20);
    }
  }

  /** Every desired replica running and its holder unchanged for `quietMs`. */
  async settled(quietMs: number): Promise<void> {
    const snapshot = `SELECT coalesce(bool_and(state = 'running'), false) AS ok, string_agg(holder || term, ',' ORDER BY worker, replica) AS s FROM ${this.schema}.fleet_status WHERE kind = 'replica'`;
    let last = '';
    let since = performance.now();
    const end = since + 30_000;
    for (;;) {
      const { rows } = await this.db.query<{ ok: boolean; s: string }>(snapshot);
      if (!rows[0]!.ok || rows[0]!.s !== last) (last = rows[0]!.s ?? ''), (since = performance.now());
      else if (performance.now() - since >= quietMs) return;
      if (performance.now() > end) throw new Error('timed out waiting for the fleet to settle');
      await sleep(50);
    }
  }

  async close(): Promise<void> {
    for (const h of this.hosts) h.child.kill('SIGKILL');
    await Promise.all(this.hosts.map((h) => h.exited));
    await this.db.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }
}

async function bed(schema: string, config: object): Promise<Bed> {
  const db = new pg.Client(PG);
  await db.connect();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  return new Bed(db, schema, config);
}

/** declare → running for one replica on an idle fleet: S, the launch. */
async function launchOnce(b: Bed, i: number): Promise<number> {
  const name = `probe${i}`;
  const t0 = wallMs();
  const started = b.started(name, 0, t0);
  await b.declare(name, 1);
  const l = await started;
  await b.db.query(`SELECT ${b.schema}.fleet_remove($1)`, [name]);
  return l.at - t0;
}

/** One kill (or stop) of the holder of svc#0; ms until it runs elsewhere. */
async function moveOnce(b: Bed, signal: 'SIGKILL' | 'SIGTERM'): Promise<number> {
  const { rows } = await b.db.query<{ holder: string }>(`SELECT holder FROM ${b.schema}.fleet_status WHERE worker = 'svc' AND replica = 0`);
  const victim = b.hosts.find((h) => h.member === rows[0]!.holder)!;
  const t0 = wallMs();
  const started = b.started('svc', 0, t0, victim);
  victim.child.kill(signal);
  const l = await started;
  await victim.exited;
  b.remove(victim);
  await b.add();
  await b.settled(3 * FAST.heartbeatMs);
  return l.at - t0;
}

async function notifyRoundTrip(a: pg.Client, c: pg.Client): Promise<number> {
  const back = new Promise<void>((res) => a.once('notification', () => res()));
  const t0 = performance.now();
  await a.query('NOTIFY bgw_bench_fleet_ping');
  await back;
  return performance.now() - t0;
}

async function failoverAndHandover(ctx: BenchContext): Promise<Figure[]> {
  const rounds = ctx.quick ? 1 : 12;
  const out: Figure[] = [];
  const b = await bed('bgw_bench_fleet_move', { capacity: 4, ...FAST, terminateGraceMs: 1000 });
  const ping = new pg.Client(PG);
  const pong = new pg.Client(PG);
  try {
    await b.start(3);
    await ping.connect();
    await pong.connect();
    await ping.query('LISTEN bgw_bench_fleet_pong');
    await pong.query('LISTEN bgw_bench_fleet_ping');
    pong.on('notification', () => void pong.query('NOTIFY bgw_bench_fleet_pong'));
    await b.declare('svc', 3);
    await b.settled(3 * FAST.heartbeatMs);
    const kills: number[] = [];
    const launches: number[] = [];
    const stops: number[] = [];
    const rtts: number[] = [];
    for (let i = 0; i < rounds; i++) {
      if (ctx.wants('fleet.failover.kill')) {
        launches.push(await launchOnce(b, i));
        kills.push(await moveOnce(b, 'SIGKILL'));
      }
      if (ctx.wants('fleet.handover')) {
        stops.push(await moveOnce(b, 'SIGTERM'));
        for (let k = 0; k < 20; k++) rtts.push(await notifyRoundTrip(ping, pong));
      }
      ctx.progress(`fleet failover/handover ${i + 1}/${rounds}`);
    }
    if (ctx.wants('fleet.failover.kill')) {
      const k = summarize(kills);
      const bound = FAST.leaseMs + FAST.heartbeatMs + median(launches);
      const p99Ratio = k.p99 / bound;
      out.push(figure('fleet.failover.kill', {
        ours: k.p50, baseline: bound, samples: kills.length,
        extra: { p99: k.p99, p99Ratio, leaseMs: FAST.leaseMs, heartbeatMs: FAST.heartbeatMs, launchMsP50: median(launches) },
        ...(p99Ratio > 1.5 ? { reason: `p99 ratio ${p99Ratio.toFixed(2)} is above 1.5` } : {}),
      }));
    }
    if (ctx.wants('fleet.handover')) {
      const s = summarize(stops);
      out.push(figure('fleet.handover', { ours: s.p50, baseline: median(rtts), samples: stops.length, extra: { p99: s.p99, notifyRttP99: summarize(rtts).p99 } }));
    }
  } finally {
    await ping.end().catch(() => undefined);
    await pong.end().catch(() => undefined);
    await b.close();
    await b.db.end();
  }
  return out;
}

async function convergeOnce(b: Bed, round: number, replicas: number): Promise<number> {
  const t0 = wallMs();
  const name = `bulk${round}`;
  const marks = b.hosts.map((h) => h.lines.length);
  await b.declare(name, replicas);
  const starts = (): Line[] => b.hosts.flatMap((h, i) => h.lines.slice(marks[i]).filter((l) => l.event === 'started' && l['worker'] === name));
  const end = performance.now() + 60_000;
  while (starts().length < replicas) {
    if (performance.now() > end) throw new Error(`only ${starts().length} of ${replicas} replicas started within 60 s`);
    await sleep(10);
  }
  const last = Math.max(...starts().map((l) => l.at));
  await b.db.query(`SELECT ${b.schema}.fleet_remove($1)`, [name]);
  try {
    await b.until(`SELECT count(*) = 0 AS ok FROM ${b.schema}.fleet_leases WHERE holder IS NOT NULL`, 'every lease given back');
  } catch (err) {
    const { rows } = await b.db.query(`SELECT worker, replica, holder, running, lease_until > now() AS live FROM ${b.schema}.fleet_leases WHERE holder IS NOT NULL`);
    throw new Error(`${(err as Error).message}: ${JSON.stringify(rows.slice(0, 5))} (${rows.length} held)`);
  }
  return (last - t0) / 1000;
}

async function localOnce(replicas: number): Promise<number> {
  const pm = new Postmaster({ logger: silentLogger, maxWorkerProcesses: 110, terminateGraceMs: 1000, execArgv: [] });
  await pm.start();
  try {
    const t0 = performance.now();
    const handles = await Promise.all(Array.from({ length: replicas }, (_, i) => pm.registerDynamicBackgroundWorker({ name: `local ${i}`, module: workerUrl('idle') })));
    await Promise.all(handles.map((h) => h!.waitForStartup()));
    return (performance.now() - t0) / 1000;
  } finally {
    await pm.shutdown('fast');
  }
}

async function converge(ctx: BenchContext): Promise<Figure> {
  const rounds = ctx.quick ? 1 : 3;
  const [hosts, replicas] = ctx.quick ? [3, 60] : [5, 100];
  const b = await bed('bgw_bench_fleet_converge', { capacity: 24, slots: 26, ...ROOMY });
  try {
    await b.start(hosts);
    const ours: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < rounds; r++) {
      base.push(await localOnce(replicas));
      ours.push(await convergeOnce(b, r, replicas));
      ctx.progress(`fleet.converge ${r + 1}/${rounds}`);
    }
    return figure('fleet.converge', {
      ours: median(ours), baseline: median(base), samples: ours.length,
      ...(ctx.quick ? { reason: `--quick: ${replicas} replicas on ${hosts} hosts, not 100 on 5` } : {}),
    });
  } finally {
    await b.close();
    await b.db.end();
  }
}

async function idleLoad(ctx: BenchContext): Promise<Figure> {
  const windowMs = ctx.quick ? 3_000 : 30_000;
  const b = await bed('bgw_bench_fleet_idle', {});
  try {
    const [h] = [await b.add()];
    await b.declare('idle', 1);
    await b.until(`SELECT coalesce(bool_and(state = 'running'), false) AS ok FROM ${b.schema}.fleet_status`, 'the replica running');
    await sleep(ctx.quick ? 1_000 : 6_000); // the first heartbeats after the join and the launch
    const stats = async (): Promise<number> => {
      const from = h!.lines.length;
      const l = h!.waitLine((x) => x.event === 'stats', 'the host statistics', 5_000, from);
      h!.child.kill('SIGUSR2');
      return ((await l)['stats'] as { queries: number }).queries;
    };
    const q0 = await stats();
    const t0 = performance.now();
    await sleep(windowMs);
    const q1 = await stats();
    const fleetPerS = (q1 - q0) / ((performance.now() - t0) / 1000);
    return figure('fleet.idle.load', {
      ours: fleetPerS + LISTENER_CHECKS_PER_S, baseline: 0, samples: q1 - q0,
      extra: { fleetStatementsPerS: fleetPerS, listenerChecksPerS: LISTENER_CHECKS_PER_S, heartbeatMs: 5000, windowMs },
      ...(ctx.quick ? { reason: `--quick: a ${windowMs / 1000} s window holds at most one heartbeat` } : {}),
    });
  } finally {
    await b.close();
    await b.db.end();
  }
}

const bench: Bench = {
  name: 'fleet',
  figures: FIGURES,
  async run(ctx) {
    try {
      const c = new pg.Client({ ...PG, connectionTimeoutMillis: 3000 });
      await c.connect();
      await c.end();
    } catch (err) {
      return FIGURES.filter((id) => ctx.wants(id)).map((id) => unavailable(id, `no PostgreSQL server at ${PG.host}:${PG.port}: ${(err as Error).message}`));
    }
    const out: Figure[] = [];
    const part = async (ids: string[], run: () => Promise<Figure[]>): Promise<void> => {
      if (!ids.some((id) => ctx.wants(id))) return;
      try {
        out.push(...(await run()));
      } catch (err) {
        for (const id of ids) if (ctx.wants(id)) out.push(unavailable(id, `failed: ${(err as Error).message}`));
      }
    };
    await part(['fleet.failover.kill', 'fleet.handover'], () => failoverAndHandover(ctx));
    await part(['fleet.converge'], async () => [await converge(ctx)]);
    await part(['fleet.idle.load'], async () => [await idleLoad(ctx)]);
    return out;
  },
};
export default bench;
