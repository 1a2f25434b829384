/**
 * The demo as an embedded host — what a service does with the API (`node
 * dist/workers/demo/main.js`; `npm start` runs the same workers through the bgworker CLI
 * from bgworker.json). No database needed. It runs
 *   - three counter workers adding to a shared-memory total under one LWLock,
 *   - a latch-driven ticker (SIGHUP to the process reloads it),
 *   - every two seconds a dynamically registered one-shot worker that checks the counters,
 *   - the same check as a scheduled worker ("audit", every 3 s: pm.schedule()),
 * prints a live activity table (pg_stat_activity for bgworkers) and shuts down on Ctrl-C
 * (fast), SIGTERM (smart) or after --seconds N, then prints a summary and exits by itself.
 */
import { fileURLToPath } from 'node:url';
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, formatActivity, formatSchedules, Postmaster, type Logger } from '../../lib/index.js';
import { DEMO_CHECKS, DEMO_COUNTER_CELLS, DEMO_MISMATCHES, DEMO_REGION_BYTES, DEMO_RELOADS, DEMO_TICKS, DEMO_TOTAL } from './layout.js';

const COUNTERS = 3;
const here = (name: string) => new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export interface DemoSummary {
  total: number;
  sumOfCounters: number;
  ticks: number;
  reloads: number;
  checks: number;
  mismatches: number;
}

export interface DemoOptions {
  /** Stop by itself after this many seconds (default: run until a signal). */
  seconds?: number;
  out?: NodeJS.WritableStream;
  /** Redraw the table in place (a terminal); otherwise print it once a second. */
  live?: boolean;
  execArgv?: string[];
}

/** Keeps the last few log lines to show under the table. */
function recentLog(keep: number): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (obj: object | string, msg?: string) => {
    const text = typeof obj === 'string' ? obj : msg ?? '';
    const who = typeof obj === 'object' && obj && 'worker' in obj ? `[${String((obj as { worker: unknown }).worker)}] ` : '';
    lines.push(`${level} ${who}${text}`);
    if (lines.length > keep) lines.shift();
  };
  return { logger: { debug() {}, info: push('INFO '), warn: push('WARN '), error: push('ERROR') }, lines };
}

function registerStatics(pm: Postmaster): void {
  for (let i = 0; i < COUNTERS; i++) {
    pm.registerBackgroundWorker({
      name: `counter ${i}`, type: 'counter', module: here('counter'), flags: BGWORKER_SHMEM_ACCESS, restartTime: 5,
      mainArg: { cell: DEMO_COUNTER_CELLS + i, intervalMs: 10 },
    });
  }
  pm.registerBackgroundWorker({
    name: 'ticker', module: here('ticker'), flags: BGWORKER_SHMEM_ACCESS, restartTime: 5, mainArg: { periodMs: 1000 },
  });
}

function summary(pm: Postmaster): DemoSummary {
  const c = pm.shmem('demo').int32;
  let sum = 0;
  for (let i = 0; i < COUNTERS; i++) sum += c[DEMO_COUNTER_CELLS + i]!;
  return { total: c[DEMO_TOTAL]!, sumOfCounters: sum, ticks: c[DEMO_TICKS]!, reloads: c[DEMO_RELOADS]!, checks: c[DEMO_CHECKS]!, mismatches: c[DEMO_MISMATCHES]! };
}

function render(pm: Postmaster, lines: string[], live: boolean): string {
  const s = summary(pm);
  const head = `bgworker demo — host ${pm.pmState}; total ${s.total} (sum of counters ${s.sumOfCounters}), ticks ${s.ticks}, checks ${s.checks}, mismatches ${s.mismatches}`;
  const body = [head, '', formatActivity(pm.activity()), '', formatSchedules(pm.schedules()), '', ...lines, ''].join('\n');
  return live ? `\x1b[2J\x1b[H${body}\nCtrl-C to stop\n` : `${body}\n`;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const out = opts.out ?? process.stdout;
  const log = recentLog(6);
  const pm = new Postmaster({ shmem: { demo: DEMO_REGION_BYTES }, locks: ['counter'], logger: log.logger, ...(opts.execArgv ? { execArgv: opts.execArgv } : {}) });
  registerStatics(pm);
  await pm.start();
  let checks = 0;
  const launcher = setInterval(() => {
    void pm.registerDynamicBackgroundWorker({
      name: `check #${++checks}`, type: 'checker', module: here('oneshot'), flags: BGWORKER_SHMEM_ACCESS,
      restartTime: BGW_NEVER_RESTART, mainArg: { counters: COUNTERS },
    });
  }, 2000);
  const audit = await pm.schedule({
    name: 'audit', module: here('oneshot'), flags: BGWORKER_SHMEM_ACCESS, every: '3s', maxRuntimeMs: 10_000, mainArg: { counters: COUNTERS },
  });
  const painter = setInterval(() => out.write(render(pm, log.lines, opts.live ?? false)), 1000);
  const onSignal = (mode: 'fast' | 'smart') => () => void pm.shutdown(mode);
  const onInt = onSignal('fast');
  const onTerm = onSignal('smart');
  const onHup = () => pm.reloadConfig();
  process.on('SIGINT', onInt).on('SIGTERM', onTerm).on('SIGHUP', onHup);
  const timer = opts.seconds === undefined ? null : setTimeout(() => void pm.shutdown('fast'), opts.seconds * 1000);
  await new Promise<void>((res) => pm.once('exit', () => res()));
  clearInterval(launcher);
  clearInterval(painter);
  if (timer) clearTimeout(timer);
  process.off('SIGINT', onInt).off('SIGTERM', onTerm).off('SIGHUP', onHup);
  const s = summary(pm);
  const a = audit.stats();
  out.write(`${render(pm, log.lines, false)}\naudit schedule: ${a.totalSuccesses} of ${a.totalRuns} runs succeeded\n`);
  out.write(`stopped cleanly: total ${s.total} = sum of counters ${s.sumOfCounters}; ${s.checks} checks, ${s.mismatches} mismatches\n`);
  return s;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : undefined;
  await runDemo({ ...(seconds === undefined ? {} : { seconds }), live: process.stdout.isTTY === true });
}
