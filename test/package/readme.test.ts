/**
 * The README runs as written. Every fenced ts/js block of README.md is either marked right
 * above it with `<!-- not run: <reason> -->` or run here, so every block is accounted for:
 *
 *   - a block whose first line is `// <file>` (`// my-worker.ts`) is written to that file,
 *     which is how a worker and its host find each other; any other to readme-<line>.<ext>;
 *   - a block that exports is a module (a worker): some program must name it (`./my-worker.`);
 *   - every other block is a program: compiled, then run with `node` and a deadline. It must
 *     exit 0 by itself, unless it is one of the services below, which run until the test
 *     has seen them work and then get a SIGTERM.
 *
 * The project is the one the Quick start has a user make, outside the repository: `npm
 * init -y`, `npm pkg set type=module`, the packed tarball (and what the blocks import)
 * installed from the npm cache, `npx tsc --init`'s defaults with only `"types": ["node"]`
 * set, as the README says; `npx tsc` type-checks and compiles every block at once. Programs
 * get the PG* variables of a database made for this file, dropped at its end.
 *
 * Last, the example workers import from the installed package by the names the README's
 * table gives them, both in tsc and at run time.
 */
import t, { type Test } from 'tap';
import { execFile, type ExecFileOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { childEnv, runProcess, type CliRun } from '../helpers/cli.js';
import { WAIT_MS, within } from '../helpers/deadline.js';
import { pollUntil } from '../helpers/fleet.js';
import { database, requirePg } from '../helpers/pg.js';

const execFileAsync = promisify(execFile);
/** npm and tsc runs take seconds, several times longer on a loaded machine. */
const TOOL_MS = 60_000;

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

const env0 = childEnv({ PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` });

// PostgreSQL: a database of this file's own, for the programs and the checks on what they did.
const dbName = `bgworker_readme_${process.pid}`;
/** DATABASE_URL pointing at that database, when the tests were given a DATABASE_URL. */
function scratchUrl(): string | null {
  if (!database.connectionString) return null;
  const url = new URL(database.connectionString);
  url.pathname = `/${dbName}`;
  return url.href;
}
/** The PG* variables (or DATABASE_URL) of the database made for this file. */
function pgEnv(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _, ...rest } = env0;
  const url = scratchUrl();
  if (url) return { ...rest, DATABASE_URL: url };
  return { ...rest, PGHOST: database.host!, PGPORT: String(database.port), PGUSER: database.user!, PGDATABASE: dbName };
}

let scratch: pg.Client | null = null;
t.test('a database of its own for the programs', async (t) => {
  const admin = await requirePg(t);
  if (!admin) return;
  await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  const client = new pg.Client({ ...database, ...(database.connectionString ? { connectionString: scratchUrl()! } : { database: dbName }) });
  await client.connect();
  scratch = client;
});
t.teardown(async () => {
  if (!scratch) return;
  await scratch.end();
  const c = new pg.Client(database);
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await c.end();
});
const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => (await scratch!.query<R>(sql, params)).rows;


// ---------------------------------------------------------------------------------------
// The blocks

interface Block {
  /** 1-based line of the opening fence in README.md. */
  line: number;
  lang: string;
  text: string;
  /** The reason of a `<!-- not run: … -->` mark, or null. */
  notRun: string | null;
  file: string;
}

const RUN_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
const NAMED = /^\/\/ ([\w.-]+\.(?:ts|mts|js|mjs))(?=$|[\s:])/;
const MARK = /^\s*<!-- not run: (.*\S.*) -->\s*$/;

/** The fenced blocks of ts/js code, with their indentation (list items) taken off. */
function readmeBlocks(md: string): Block[] {
  const lines = md.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!;
    const lang = open[2]!;
    const close = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (close < 0) throw new Error(`README.md:${i + 1}: a fence that is never closed`);
    const body = lines.slice(i + 1, close).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
    if (RUN_LANGS.has(lang)) {
      let above = i - 1;
      while (above >= 0 && lines[above]!.trim() === '') above--;
      const mark = above >= 0 ? MARK.exec(lines[above]!) : null;
      const ext = lang === 'mjs' ? 'mjs' : lang.startsWith('j') ? 'js' : 'ts';
      out.push({
        line: i + 1, lang, text: body.join('\n') + '\n', notRun: mark ? mark[1]! : null,
        file: NAMED.exec(body[0] ?? '')?.[1] ?? `readme-${i + 1}.${ext}`,
      });
    }
    i = close;
  }
  return out;
}

const blocks = readmeBlocks(readme);
const runnable = blocks.filter((b) => b.notRun === null);
const isModule = (b: Block): boolean => /^export\s/m.test(b.text);
const modules = runnable.filter(isModule);
const programs = runnable.filter((b) => !isModule(b));
const stem = (file: string): string => file.replace(/\.[^.]+$/, '');
/** What `node` runs for a block: tsc's output for TypeScript. */
const emitted = (file: string): string => (/\.m?ts$/.test(file) ? file.replace(/ts$/, 'js') : file);

t.test('every ts/js block of the README is run here or marked not run with a reason', async (t) => {
  t.ok(blocks.length > 10, `the README's ts/js blocks are found (${blocks.length})`);
  t.ok(runnable.some((b) => b.file === 'my-worker.ts') && runnable.some((b) => b.file === 'host.ts'), 'the Quick start worker and host are run');
  const files = runnable.map((b) => b.file);
  t.same(files.filter((f, i) => files.indexOf(f) !== i), [], 'no two blocks write the same file');
  for (const m of modules) {
    t.ok(programs.some((p) => p.text.includes(`./${stem(m.file)}.`)),
      `README.md:${m.line}: the module ${m.file} is loaded by a program block (or is marked not run)`);
  }
  for (const b of blocks.filter((x) => x.notRun !== null)) t.ok(b.notRun!.length > 3, `README.md:${b.line}: the mark gives a reason`);
});

// ---------------------------------------------------------------------------------------
// The project, as the Quick start makes it

const project = mkdtempSync(join(tmpdir(), 'bgworker-readme-'));
t.teardown(() => rmSync(project, { recursive: true, force: true }));

function run(what: string, file: string, args: string[], opts: ExecFileOptions = {}, ms = TOOL_MS): Promise<{ stdout: string }> {
  return within(execFileAsync(file, args, { cwd: project, env: env0, ...opts, encoding: 'utf8', timeout: ms }), what, ms);
}
const versionOf = (pkg: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** npm install from the cache alone; if the cache lacks a package's metadata, let npm fetch it. */
async function install(specs: string[]): Promise<void> {
  const args = ['install', ...specs, '--no-audit', '--no-fund'];
  try {
    await run('npm install from the cache', 'npm', [...args, '--offline']);
  } catch {
    await run('npm install', 'npm', [...args, '--prefer-offline']);
  }
}

/** What the Quick start tells a user to run, as the test runs it. */
const QUICK_START = ['npm init -y', 'npm pkg set type=module', 'npm install --save-dev typescript @types/node', 'npx tsc --init', '"types": ["node"]', 'npx tsc && node host.js'];

t.test('the Quick start project: npm init, type module, the packed tarball, tsc --init with "types": ["node"]', async (t) => {
  const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  for (const step of QUICK_START) t.ok(quick.includes(step), `the Quick start says ${step}`);
  await run('npm init', 'npm', ['init', '-y']);
  await run('npm pkg set', 'npm', ['pkg', 'set', 'type=module']);
  const { stdout } = await run('npm pack', 'npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], { cwd: root });
  const [pack] = JSON.parse(stdout) as Array<{ filename: string }>;
  // The blocks import pino and prom-client, and the TypeScript section installs tsx.
  const deps = ['typescript', '@types/node', 'tsx', 'pino', 'prom-client'];
  await install([join(project, pack!.filename), ...deps.map((d) => `${d}@${versionOf(d)}`)]);
  await run('tsc --init', process.execPath, ['node_modules/typescript/bin/tsc', '--init']);
  const config = readFileSync(join(project, 'tsconfig.json'), 'utf8');
  t.equal(config.split('"types": [],').length, 2, 'tsc --init writes "types": [] once');
  writeFileSync(join(project, 'tsconfig.json'), config.replace('"types": [],', '"types": ["node"],'));
});

t.test('every runnable block type-checks and compiles with npx tsc', async (t) => {
  for (const b of runnable) writeFileSync(join(project, b.file), b.text);
  writeFileSync(join(project, EXAMPLES_FILE), examplesProgram());
  const tsc = run('tsc on the README blocks', process.execPath, ['node_modules/typescript/bin/tsc']);
  await t.resolves(tsc.catch((e: { stdout?: string }) => Promise.reject(new Error(`tsc failed:\n${e.stdout ?? String(e)}`))), 'tsc finds no error');
});

// ---------------------------------------------------------------------------------------
// Running the programs

/** A program that serves until it is stopped: how to see it work, and how it ends after SIGTERM. */
interface Service {
  before?(): Promise<void>;
  works(run: CliRun, t: Test): Promise<void>;
  /** The exit code after SIGTERM; null: it ends by the signal itself. */
  exit: number | null;
}

const services: Record<string, Service> = {
  'host.ts': {
    async works(run, t) {
      await run.waitFor((s) => s.includes('one-off stopped') && /\(\d+ rows?\)/.test(s), 'the host to print the activity after the one-off stopped');
      t.match(run.stdout(), /one-off started, thread \d+/, 'the one-off started with its thread id');
      t.match(run.stdout(), /stats collector \| stats collector \| running/, 'the static worker runs');
      t.match(run.stdout(), /\(1 row\)/, 'the terminated one-off is gone from the activity');
    },
    exit: 0,
  },
  'jobs-host.ts': {
    async before() {
      await query('CREATE TABLE jobs (id int PRIMARY KEY, done boolean NOT NULL DEFAULT false)');
      await query('INSERT INTO jobs VALUES (42)');
    },
    async works(_run, t) {
      // NOTIFY again until the worker, once listening, has marked the job done.
      const done = async (): Promise<boolean> => {
        await query(`NOTIFY jobs, '42'`);
        return (await query<{ done: boolean }>('SELECT done FROM jobs WHERE id = 42'))[0]!.done;
      };
      t.ok(await pollUntil(done, (d) => d, 'the jobs worker to mark job 42 done after a NOTIFY', WAIT_MS), 'job 42 is done');
    },
    exit: 0,
  },
  'fleet-host.ts': {
    async before() {
      await query('CREATE TABLE imports (batch int, by_term bigint)');
    },
    async works(_run, t) {
      const firsts = async (): Promise<number> => Number((await query<{ n: string }>('SELECT count(*) AS n FROM imports WHERE batch = 1'))[0]!.n);
      t.equal(await pollUntil(firsts, (n) => n >= 3, 'the three importer replicas to write their first batch', WAIT_MS), 3, 'three replicas write under a live lease');
    },
    exit: 0,
  },
  'metrics.ts': {
    async works(_run, t) {
      const scrape = async (): Promise<string> => {
        try {
          return await (await fetch('http://127.0.0.1:9187/metrics')).text();
        } catch {
          return '';
        }
      };
      t.match(await pollUntil(scrape, (s) => s.includes('bgworker_host_up'), 'the metrics on 127.0.0.1:9187', WAIT_MS), /^bgworker_host_up 0$/m, 'the metrics are served');
    },
    exit: null,
  },
};

t.test('every service the test knows is a program of the README', async (t) => {
  for (const name of Object.keys(services)) t.ok(programs.some((p) => p.file === name), `${name} is a block of the README`);
});

for (const p of programs) {
  t.test(`${p.file} (README.md:${p.line}) runs`, async (t) => {
    if (!scratch) return void t.plan(0, 'PostgreSQL is not reachable');
    const service = services[p.file];
    await service?.before?.();
    const child = runProcess(t, process.execPath, [emitted(p.file)], { cwd: project, env: pgEnv() });
    const failed = (): string => `stdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`;
    if (service) {
      await service.works(child, t);
      child.child.kill('SIGTERM');
      t.equal(await child.exitStatus(`${p.file} to end after SIGTERM`), service.exit, `${p.file} ends after SIGTERM`, { output: failed() });
    } else {
      t.equal(await child.exitStatus(`${p.file} to exit by itself`), 0, `${p.file} exits 0`, { output: failed() });
    }
  });
}

// ---------------------------------------------------------------------------------------
// The example workers

const EXAMPLES_FILE = 'examples-check.ts';

/** The README's table of examples: each import path with the names its row gives. */
function exampleRows(): Array<{ spec: string; names: string[]; more: string[] }> {
  return readme.split('\n').flatMap((l) => {
    const row = /^\| `(bgworker\/workers\/[\w/-]+)` \| (.*) \|$/.exec(l);
    if (!row) return [];
    const cell = row[2]!;
    return [{
      spec: row[1]!,
      names: [...cell.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!),
      more: [...cell.matchAll(/`(bgworker\/workers\/[\w/-]+)`/g)].map((m) => m[1]!),
    }];
  });
}

/** Type-checks the names of every row (`import type` takes values and types alike) and imports every path at run time. */
function examplesProgram(): string {
  const rows = exampleRows();
  const specs = rows.flatMap((r) => [r.spec, ...r.more]);
  return [
    ...rows.map((r, i) => `import type { ${r.names.map((n) => `${n} as _${i}_${n}`).join(', ')} } from '${r.spec}';`),
    `import type { WorkerContext } from 'bgworker/worker';`,
    // The published declarations carry pg's types: a worker's connection is not `any`.
    `export async function probe(ctx: WorkerContext): Promise<void> {`,
    `  const db = await ctx.initializeConnection();`,
    `  // @ts-expect-error a pg Client is not a number`,
    `  const n: number = db;`,
    `  void n;`,
    `}`,
    `const specs = ${JSON.stringify(specs)};`,
    `const loaded: Record<string, string[]> = {};`,
    `for (const s of specs) loaded[s] = Object.keys(await import(s)).sort();`,
    `console.log(JSON.stringify(loaded));`,
  ].join('\n') + '\n';
}

t.test('the example workers import from the installed package, with the names and types the README gives', async (t) => {
  const rows = exampleRows();
  const installed = JSON.parse(readFileSync(join(project, 'node_modules/bgworker/package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const exact = Object.keys(installed.exports).filter((k) => k.startsWith('./workers/') && !k.includes('*'));
  t.same(rows.map((r) => `./${r.spec.slice('bgworker/'.length)}`).sort(), exact.sort(), 'the README lists every example the package exports');
  // Types: checked with the blocks by tsc. Run time: every path loads and has exports.
  const { stdout } = await run('the examples check to load every example', process.execPath, [emitted(EXAMPLES_FILE)], {}, WAIT_MS);
  const loaded = JSON.parse(stdout) as Record<string, string[]>;
  for (const r of rows) {
    const runtime = r.names.filter((n) => /^[a-z]/.test(n));   // the capitalised names are types
    t.same(runtime.filter((n) => !loaded[r.spec]!.includes(n)), [], `${r.spec} exports ${runtime.join(', ')} at run time`);
    for (const m of r.more) t.ok(loaded[m]!.length > 0, `${m} loads`);
  }
});
