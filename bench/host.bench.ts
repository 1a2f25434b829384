/**
 * host.eld.256: the host's event-loop delay p99 (perf_hooks.monitorEventLoopDelay, 1 ms
 * resolution) with 256 idle workers, against the same host with 0 workers; 8 and 64
 * workers, and 64 bare worker_threads, in extra.
 * mem.worker: RSS per idle worker with 64 workers, against 64 bare idle `new Worker`s; in
 * extra, where it goes: one thread's young generation, old generation, code space and
 * external memory, ours beside bare (KiB, medians over the rounds).
 * mem.worker.tinypool: RSS per idle worker with 16 workers, the host's spare threads
 * counted as ours, against a tinypool of 16 threads that have each run a task.
 *
 * Every configuration runs in a child process of its own (bench/workers/host-probe.ts), so
 * memory that one leaves behind cannot count against the next; the configurations
 * alternate, ours and bare, round by round. RSS per worker is (RSS with the threads − RSS
 * just before starting them) / count, both read after a settle time; the host's spare
 * threads are up in both readings, so only the workers count.
 *
 * --quick measures the delay and the memory with 32 workers instead of 256 and 64
 * (starting that many threads takes longer than a smoke run may) and says so in the rows.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { figure } from './catalogue.js';
import { workerUrl } from './harness.js';
import { median } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';
import { HEAP_PARTS } from './workers/heap-spaces.js';
import type { ProbeArgs, ProbeResult } from './workers/host-probe.js';

type Config = Pick<ProbeArgs, 'kind' | 'count' | 'countSpares'>;

function runProbe(args: ProbeArgs): Promise<ProbeResult> {
  const child = fork(fileURLToPath(workerUrl('host-probe')), [JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: ProbeResult | null = null;
    child.once('message', (m: ProbeResult) => (result = m));
    child.once('error', reject);
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`host probe ${args.kind} ${args.count} exited with code ${code}`))));
  });
}

const key = (c: Config): string => `${c.kind}-${c.count}${c.countSpares ? '-spares' : ''}`;

async function probeAll(ctx: BenchContext, configs: Config[], rounds: number): Promise<Map<string, ProbeResult[]>> {
  const settleMs = ctx.quick ? 300 : 1000;
  const windowMs = ctx.quick ? 500 : 3000;
  const results = new Map<string, ProbeResult[]>(configs.map((c) => [key(c), []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      ctx.progress(`round ${r + 1}/${rounds}: ${c.count} ${c.kind === 'ours' ? 'bgworkers' : `${c.kind} threads`}${c.countSpares ? ', spares counted' : ''}`);
      results.get(key(c))!.push(await runProbe({ ...c, settleMs, windowMs }));
    }
  }
  return results;
}

function pick(results: Map<string, ProbeResult[]>, kind: Config['kind'], count: number, f: (r: ProbeResult) => number, countSpares = false): number {
  const rs = results.get(key({ kind, count, countSpares }));
  return rs && rs.length > 0 ? median(rs.map(f)) : NaN;
}

function eldFigure(results: Map<string, ProbeResult[]>, many: number, quick: boolean): Figure {
  const p99 = (r: ProbeResult): number => r.eldP99Ms;
  const extra: Record<string, number> = { workers: many, p50_ms: pick(results, 'ours', many, (r) => r.eldP50Ms), max_ms: pick(results, 'ours', many, (r) => r.eldMaxMs) };
  extra[`start_${many}_workers_ms`] = pick(results, 'ours', many, (r) => r.startMs);
  for (const n of [8, 64]) if (n !== many && results.has(key({ kind: 'ours', count: n }))) extra[`p99_${n}_workers_ms`] = pick(results, 'ours', n, p99);
  const bare = quick ? many : 64;
  extra[`p99_${bare}_bare_threads_ms`] = pick(results, 'bare', bare, p99);
  const samples = (results.get(key({ kind: 'ours', count: many })) ?? []).reduce((s, r) => s + r.eldSamples, 0);
  return figure('host.eld.256', {
    ours: pick(results, 'ours', many, p99),
    baseline: pick(results, 'ours', 0, p99),
    samples,
    extra,
    ...(quick ? { reason: `--quick: measured with ${many} workers, not 256` } : {}),
  });
}

function memFigure(results: Map<string, ProbeResult[]>, n: number, quick: boolean): Figure {
  const per = (r: ProbeResult): number => r.rssPerWorkerMiB;
  const extra: Record<string, number> = { workers: n };
  if (results.has(key({ kind: 'ours', count: 256 }))) extra['mib_per_worker_at_256'] = pick(results, 'ours', 256, per);
  HEAP_PARTS.forEach((part, i) => {
    extra[`${part}_kib`] = pick(results, 'ours', n, (r) => r.heapKiB[i] ?? NaN);
    extra[`bare_${part}_kib`] = pick(results, 'bare', n, (r) => r.heapKiB[i] ?? NaN);
  });
  return figure('mem.worker', {
    ours: pick(results, 'ours', n, per),
    baseline: pick(results, 'bare', n, per),
    samples: n * (results.get(key({ kind: 'ours', count: n })) ?? []).length,
    extra,
    ...(quick ? { reason: `--quick: measured with ${n} workers, not 64` } : {}),
  });
}

function tinypoolFigure(results: Map<string, ProbeResult[]>): Figure {
  const per = (r: ProbeResult): number => r.rssPerWorkerMiB;
  return figure('mem.worker.tinypool', {
    ours: pick(results, 'ours', 16, per, true),
    baseline: pick(results, 'tinypool', 16, per),
    samples: 16 * (results.get(key({ kind: 'ours', count: 16, countSpares: true })) ?? []).length,
    extra: { workers: 16, start_16_ms: pick(results, 'ours', 16, (r) => r.startMs, true), tinypool_start_16_ms: pick(results, 'tinypool', 16, (r) => r.startMs) },
  });
}

const bench: Bench = {
  name: 'host',
  figures: ['host.eld.256', 'mem.worker', 'mem.worker.tinypool'],
  async run(ctx) {
    const eld = ctx.wants('host.eld.256');
    const many = ctx.quick ? 32 : 256;
    const mem = ctx.quick ? 32 : 64;
    const configs: Config[] = [];
    if (eld || ctx.wants('mem.worker')) configs.push({ kind: 'ours', count: mem }, { kind: 'bare', count: mem });
    if (ctx.wants('mem.worker.tinypool')) configs.push({ kind: 'ours', count: 16, countSpares: true }, { kind: 'tinypool', count: 16 });
    if (eld) configs.unshift({ kind: 'ours', count: 0 });
    if (eld && !ctx.quick) configs.push({ kind: 'ours', count: 8 }, { kind: 'ours', count: many });
    const results = await probeAll(ctx, configs, ctx.quick ? 1 : 2);
    const out: Figure[] = [];
    if (eld) out.push(eldFigure(results, many, ctx.quick));
    if (ctx.wants('mem.worker')) out.push(memFigure(results, mem, ctx.quick));
    if (ctx.wants('mem.worker.tinypool')) out.push(tinypoolFigure(results));
    return out;
  },
};
export default bench;
