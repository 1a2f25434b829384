/**
 * The benchmark runner (`npm run bench`): runs every dist/bench/*.bench.js in turn, prints
 * a table of each figure beside its same-run baseline, and writes the figures with a record
 * of the machine to bench/out/latest.json (the benchmark protocol's shape) and a chart of
 * the ratios to bench/out/latest.svg. bench/out/ is ignored, so a run leaves the work tree
 * clean; `--publish` also writes bench/results/figures.json and figures.svg, the committed
 * figures the README cites, which change only when someone means them to. A catalogued
 * figure that no bench produced is still listed, with ours: null and the reason.
 *
 *   node dist/bench/run.js [--quick] [--only <figure-or-bench-prefix>] [--json <path>] [--publish]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { chartSvg } from './chart.js';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CATALOGUE, unavailable } from './catalogue.js';
import { within } from './harness.js';
import type { Bench, BenchContext, Figure } from './types.js';

interface Args {
  quick: boolean;
  only: string | null;
  json: string;
  publish: boolean;
}

/** A bench that takes longer than this is abandoned and its figures reported as not measured. */
const BENCH_TIMEOUT_S = { quick: 60, full: 300 };

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: null, json: join(repoRoot, 'bench', 'out', 'latest.json'), publish: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--only' && argv[i + 1]) args.only = argv[++i]!;
    else if (a === '--json' && argv[i + 1]) args.json = resolve(argv[++i]!);
    else if (a === '--publish') args.publish = true;
    else throw new Error(`unknown argument "${a}"; usage: run.js [--quick] [--only <prefix>] [--json <path>] [--publish]`);
  }
  return args;
}

async function loadBenches(): Promise<Bench[]> {
  const files = readdirSync(here).filter((f) => f.endsWith('.bench.js')).sort();
  const benches: Bench[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: Bench };
    benches.push(mod.default);
  }
  return benches;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function machine(): Record<string, string | number | null> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    date: new Date().toISOString(),
    commit: gitCommit(),
    loadavg1_start: loadavg()[0]!,
  };
}

function progressLine(): (msg: string) => void {
  const tty = process.stderr.isTTY;
  return (msg) => process.stderr.write(tty ? `\r\x1b[K${msg}` : `${msg}\n`);
}

async function runAll(args: Args): Promise<Figure[]> {
  const wanted = (id: string, benchName: string): boolean => !args.only || id.startsWith(args.only) || benchName.startsWith(args.only);
  const show = progressLine();
  const benches = (await loadBenches()).filter((b) => b.figures.some((id) => wanted(id, b.name)));
  const figures: Figure[] = [];
  for (const [i, b] of benches.entries()) {
    const tag = `[${i + 1}/${benches.length} ${b.name}]`;
    const ctx: BenchContext = { quick: args.quick, progress: (m) => show(`${tag} ${m}`), wants: (id) => wanted(id, b.name) };
    const t0 = performance.now();
    ctx.progress('running');
    try {
      const limit = BENCH_TIMEOUT_S[args.quick ? 'quick' : 'full'];
      const made = await within(b.run(ctx), limit * 1000, () => `timed out after ${limit} s`);
      figures.push(...made.filter((f) => ctx.wants(f.id)));
    } catch (err) {
      const reason = `bench "${b.name}" failed: ${(err as Error).message}`;
      process.stderr.write(`\n${reason}\n${(err as Error).stack ?? ''}\n`);
      for (const id of b.figures) if (ctx.wants(id) && !figures.some((f) => f.id === id)) figures.push(unavailable(id, reason));
    }
    ctx.progress(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const order = Object.keys(CATALOGUE);
  for (const id of order) {
    if (wanted(id, '\0') && !figures.some((f) => f.id === id)) figures.push(unavailable(id, 'not implemented yet'));
  }
  const rank = (f: Figure): number => (order.includes(f.id) ? order.indexOf(f.id) : order.length);
  return figures.sort((a, b) => rank(a) - rank(b));
}

function num(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1000) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.1) return v.toFixed(3);
  return v.toPrecision(3);
}

function table(figures: Figure[]): string {
  const head = ['figure', 'unit', 'ours', 'baseline', 'ratio', 'target', 'met?'];
  const rows = figures.map((f) => [f.id, f.unit, num(f.ours), num(f.baseline), num(f.ratio), f.target, f.met === null ? 'n/a' : f.met ? 'yes' : 'NO']);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string => cells.map((s, c) => (c >= 2 && c <= 4 ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const notes = figures.filter((f) => f.reason).map((f) => `  ${f.id}: ${f.reason}`);
  if (notes.length) out.push('', 'notes:', ...notes);
  return out.join('\n');
}

/** Writes the JSON at `path` and the chart beside it (.svg); returns what it wrote. */
function writeResults(path: string, json: string, svg: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, json);
  const chart = path.replace(/\.json$/, '.svg');
  writeFileSync(chart, svg);
  return `${path} and ${chart}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const before = machine();
  const figures = await runAll(args);
  // On a shared machine, other work running at the same time shows in the load averages.
  const meta = { ...before, loadavg1_end: loadavg()[0]!, quick: args.quick ? 1 : 0 };
  process.stdout.write(`${table(figures)}\n`);
  const json = `${JSON.stringify({ meta, figures }, null, 2)}\n`;
  const svg = chartSvg(figures, `bgworker benchmarks — Node ${process.version}, ${before['cores']} cores, ${String(before['commit'] ?? '').slice(0, 7)}`);
  const written = [writeResults(args.json, json, svg)];
  if (args.publish) written.push(writeResults(join(repoRoot, 'bench', 'results', 'figures.json'), json, svg));
  process.stderr.write(`wrote ${written.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  // A bench abandoned on timeout may still hold threads; the results are written, so leave.
  process.exit(0);
}

await main();
