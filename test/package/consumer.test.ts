/**
 * The published package as a user gets it: `npm pack`, then a fresh project outside the
 * repository installs the tarball from the npm cache, writes its own workers and runs them:
 *
 *   - plain JavaScript: a host and a worker, no loader, no build step;
 *   - TypeScript workers with no set-up: a plain JavaScript host registers a .ts worker and
 *     its thread loads tsx for itself; a TypeScript host run with `node --import tsx`; tsc
 *     type-checks both against the published declarations;
 *   - the `bgworker` bin, running a TypeScript worker from a config file, no flags;
 *   - without tsx, registering a .ts worker fails at once with BGW_ERR_TS_LOADER_MISSING.
 */
import t from 'tap';
import { execFile, type ExecFileOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childEnv, hasLine, runProcess } from '../helpers/cli.js';
import { WAIT_MS, within } from '../helpers/deadline.js';

const execFileAsync = promisify(execFile);
/** npm and tsc runs take seconds, several times longer on a loaded machine. */
const TOOL_MS = 60_000;

/** Run a command to its end; past the deadline it is killed and the wait fails, naming `what`. */
function run(what: string, file: string, args: string[], opts: ExecFileOptions, ms = WAIT_MS): Promise<{ stdout: string }> {
  return within(execFileAsync(file, args, { ...opts, encoding: 'utf8', timeout: ms }), what, ms);
}
const root = fileURLToPath(new URL('../..', import.meta.url));
const env = childEnv({ PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` });
const versionOf = (pkg: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

const project = mkdtempSync(join(tmpdir(), 'bgworker-consumer-'));
t.teardown(() => rmSync(project, { recursive: true, force: true }));
const write = (name: string, text: string): void => writeFileSync(join(project, name), text);

/** npm install from the cache alone; if the cache lacks a package's metadata, let npm fetch it. */
async function install(specs: string[]): Promise<void> {
  const args = ['install', ...specs, '--no-audit', '--no-fund'];
  try {
    await run('npm install from the cache', 'npm', [...args, '--offline'], { cwd: project, env }, TOOL_MS);
  } catch {
    await run('npm install', 'npm', [...args, '--prefer-offline'], { cwd: project, env }, TOOL_MS);
  }
}

const JS_WORKER = `// A plain JavaScript worker.
import { WL_LATCH_SET, WL_TIMEOUT } from 'bgworker/worker';

export async function main(ctx) {
  await ctx.latch.waitAsync(WL_LATCH_SET | WL_TIMEOUT, 1);
  Atomics.store(ctx.shmem('results').int32, 0, ctx.mainArg.value);
  ctx.log.info(\`\${ctx.entry.name} stored \${ctx.mainArg.value}\`);
}
`;

const TS_WORKER = `import { type WorkerContext, WL_LATCH_SET, WL_TIMEOUT } from 'bgworker/worker';

interface Arg { value: number }

export async function main(ctx: WorkerContext<Arg>): Promise<void> {
  await ctx.latch.waitAsync(WL_LATCH_SET | WL_TIMEOUT, 1);
  const value: number = ctx.mainArg.value;
  Atomics.store(ctx.shmem('results').int32, 0, value);
  ctx.log.info(\`\${ctx.entry.name} stored \${value}\`);
}
`;

/** A host that runs one worker to its end and prints what it saw as JSON. */
const host = (module: string, ts: boolean): string => `import { BGWORKER_SHMEM_ACCESS, Postmaster${ts ? ', type ActivityRow, type Logger' : ''} } from 'bgworker';

const logs${ts ? ': string[]' : ''} = [];
const logger${ts ? ': Logger' : ''} = { debug() {}, info: (o, m) => void logs.push(m ?? String(o)), warn() {}, error() {} };
const pm = new Postmaster({ shmem: { results: 8 }, logger });
pm.registerBackgroundWorker({
  name: '${module}', module: new URL('./${module}', import.meta.url), flags: BGWORKER_SHMEM_ACCESS, mainArg: { value: 42 },
});
const stopped = new Promise${ts ? '<ActivityRow>' : ''}((resolve) => pm.once('stopped', resolve));
await pm.start();
const row = await stopped;
const value = pm.shmem('results').int32[0];
await pm.shutdown('fast');
console.log(JSON.stringify({ value, lastExit: row.lastExit, logs }));
`;

const TSCONFIG = JSON.stringify({
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
  include: ['*.ts'],
});

t.test('npm pack makes the tarball the consumer installs (its file list: tarball.test.ts)', async (t) => {
  const { stdout } = await run('npm pack', 'npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], { cwd: root, env }, TOOL_MS);
  const [pack] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  t.ok(existsSync(join(project, pack!.filename)), `the tarball ${pack!.filename}`);
  write('package.json', JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  await install([join(project, pack!.filename), `tsx@${versionOf('tsx')}`, `typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`]);
  t.match(readFileSync(join(project, 'node_modules/.bin/bgworker'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the bin is installed');
});

t.test('a plain JavaScript worker runs with no loader', async (t) => {
  write('worker.js', JS_WORKER);
  write('host.js', host('worker.js', false));
  const { stdout } = await run('the JavaScript host to run its worker and exit', process.execPath, ['host.js'], { cwd: project, env });
  t.match(JSON.parse(stdout), { value: 42, lastExit: { kind: 'normal', code: 0 }, logs: ['worker.js stored 42'] });
});

t.test('a .ts worker needs no set-up: its thread loads tsx for itself', async (t) => {
  write('worker.ts', TS_WORKER);
  write('js-host.js', host('worker.ts', false));
  const { stdout } = await run('a JavaScript host to run its TypeScript worker, no flags', process.execPath, ['js-host.js'], { cwd: project, env });
  t.match(JSON.parse(stdout), { value: 42, lastExit: { kind: 'normal', code: 0 }, logs: ['worker.ts stored 42'] });
});

t.test('a TypeScript host and worker: type-checked against the declarations, the host run by tsx', async (t) => {
  write('host.ts', host('worker.ts', true));
  write('tsconfig.json', TSCONFIG);
  await t.resolves(run('tsc on the consumer project', process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: project, env }, TOOL_MS), 'tsc finds no error');
  const { stdout } = await run('the TypeScript host to run its worker and exit', process.execPath, ['--import', 'tsx', 'host.ts'], { cwd: project, env });
  t.match(JSON.parse(stdout), { value: 42, lastExit: { kind: 'normal', code: 0 }, logs: ['worker.ts stored 42'] });
});

t.test('the installed bgworker bin runs a TypeScript worker from a config file', async (t) => {
  write('bgworker.json', JSON.stringify({ shmem: { results: 8 }, workers: [{ name: 'from config', module: './worker.ts', flags: ['BGWORKER_SHMEM_ACCESS'], mainArg: { value: 7 } }] }));
  const cli = runProcess(t, join(project, 'node_modules/.bin/bgworker'), ['bgworker.json'], { cwd: project, env });
  await cli.waitFor(hasLine({ event: 'stopped', name: 'from config' }), 'the TypeScript worker from the config to run and stop');
  t.ok(hasLine({ msg: 'from config stored 7', worker: 'from config' })(cli.stdout()));
  cli.child.kill('SIGINT');
  t.equal(await cli.exitStatus('the installed bin to exit after SIGINT'), 0);
});

t.test('without tsx, a .ts worker is refused at registration, saying what to install', async (t) => {
  rmSync(join(project, 'node_modules/tsx'), { recursive: true, force: true });
  write('no-tsx.js', `import { BGWORKER_SHMEM_ACCESS, Postmaster } from 'bgworker';
const pm = new Postmaster({ shmem: { results: 8 } });
await pm.start();
try {
  await pm.registerDynamicBackgroundWorker({ name: 'typed', module: new URL('./worker.ts', import.meta.url), flags: BGWORKER_SHMEM_ACCESS });
  console.log(JSON.stringify({ registered: true }));
} catch (err) {
  console.log(JSON.stringify({ code: err.code, message: err.message, slotsUsed: pm.activity().length }));
}
await pm.shutdown('fast');
`);
  const { stdout } = await run('a host without tsx to refuse a .ts worker', process.execPath, ['no-tsx.js'], { cwd: project, env });
  t.match(JSON.parse(stdout), { code: 'BGW_ERR_TS_LOADER_MISSING', message: /npm install --save-dev tsx/, slotsUsed: 0 });
});
