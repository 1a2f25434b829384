/**
 * What `npm pack` ships, packed from a clean tree as a fresh clone has it: no dist/, so
 * the prepack script has to build it first. The tree is the repository's files (tracked,
 * and new ones that are not ignored) copied into a temporary directory, with the
 * repository's node_modules linked in; `npm pack --dry-run --json` lists the tarball.
 *
 * The tarball holds the built library with its declarations, the bin, the example workers
 * and every file the package's exports name, the README, the licence and package.json; and
 * nothing of the tests, the benchmarks, the TypeScript sources, or tap's and coverage's
 * output. The sources stay out, so every source map carries the text of the sources it
 * names: a stack trace from an installed copy maps to readable code.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childEnv } from '../helpers/cli.js';
import { within } from '../helpers/deadline.js';

const execFileAsync = promisify(execFile);
/** A build and an npm run take seconds, several times longer on a loaded machine. */
const TOOL_MS = 90_000;

const root = fileURLToPath(new URL('../..', import.meta.url));
const env = childEnv({ PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` });
const run = async (what: string, file: string, args: string[], cwd: string): Promise<string> =>
  (await within(execFileAsync(file, args, { cwd, env, encoding: 'utf8', timeout: TOOL_MS, maxBuffer: 64 << 20 }), what, TOOL_MS)).stdout;

interface Manifest {
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
}
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

const tree = mkdtempSync(join(tmpdir(), 'bgworker-clean-'));
t.teardown(() => rmSync(tree, { recursive: true, force: true }));
let files: string[] = [];

t.test('npm pack on a clean tree builds the package first (prepack)', async (t) => {
  const listed = await run('git ls-files', 'git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root);
  for (const f of listed.split('\0').filter((f) => f && existsSync(join(root, f)))) {
    mkdirSync(dirname(join(tree, f)), { recursive: true });
    copyFileSync(join(root, f), join(tree, f));
  }
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  t.notOk(existsSync(join(tree, 'dist')), 'the clean tree has no dist/');
  const stdout = await run('npm pack --dry-run on the clean tree', 'npm', ['pack', '--dry-run', '--json'], tree);
  files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  t.ok(existsSync(join(tree, 'dist/lib/index.js')), 'prepack built dist/');
});

t.test('the tarball ships the library, its declarations, the bin, the example workers, README.md, LICENSE and package.json', async (t) => {
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/worker/index.js', 'dist/lib/worker/index.d.ts', 'dist/lib/worker/entry.js']) {
    t.ok(files.includes(f), f);
  }
  t.ok(files.some((f) => /^dist\/lib\/worker\/runtime-[\w-]+\.js$/.test(f)), "the worker bundle's shared chunk");
  for (const [name, path] of Object.entries(manifest.bin)) {
    const shipped = path.replace(/^\.\//, '');
    t.ok(files.includes(shipped), `the bin ${name}: ${shipped}`);
    t.match(readFileSync(join(tree, shipped), 'utf8'), /^#!\/usr\/bin\/env node\n/, `the bin ${name} starts with its interpreter line`);
  }
  const targets = Object.values(manifest.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)));
  for (const target of targets.filter((x) => !x.includes('*'))) t.ok(files.includes(target.replace(/^\.\//, '')), `the export target ${target}`);
  // Every example module, for the ./workers/* pattern: its JavaScript and its declarations.
  const sources = (readdirSync(join(root, 'workers'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  t.ok(sources.length > 10, 'the example sources are found');
  for (const src of sources) {
    const base = `dist/workers/${src.replace(/\\/g, '/').replace(/\.ts$/, '')}`;
    t.ok(files.includes(`${base}.js`) && files.includes(`${base}.d.ts`), `${base}.js and .d.ts`);
  }
});

t.test('every example under workers/ has an entry of its own in the exports', async (t) => {
  const examples = readdirSync(join(root, 'workers'), { withFileTypes: true })
    .filter((d) => d.isDirectory() || d.name.endsWith('.ts'))
    .map((d) => d.name.replace(/\.ts$/, ''));
  for (const name of examples) {
    const entry = manifest.exports[`./workers/${name}`];
    t.ok(typeof entry === 'object' && entry['types'] && entry['default'], `./workers/${name} has types and a default`);
  }
});

t.test('nothing else: no tests, benchmarks, TypeScript sources, tap or coverage output', async (t) => {
  t.same(files.filter((f) => /^(dist\/)?(test|bench)\//.test(f)), [], 'no tests or benchmarks');
  t.same(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
  t.same(files.filter((f) => /^(\.tap|coverage|node_modules|docs)\//.test(f)), [], 'no tap, coverage, node_modules or docs output');
  t.same(files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/(lib|workers)\/.+\.(js|d\.ts|js\.map))$/.test(f)), [], 'only the built library and examples, README.md, LICENSE and package.json');
});

t.test('every source map carries the sources it names, since the sources are not shipped', async (t) => {
  const maps = files.filter((f) => f.endsWith('.js.map'));
  t.ok(maps.some((f) => /^dist\/lib\/worker\/runtime-[\w-]+\.js\.map$/.test(f)), "the worker bundle's map is among them");
  const bare = maps.filter((f) => {
    const m = JSON.parse(readFileSync(join(tree, f), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
    return m.sources.length === 0 || m.sourcesContent?.length !== m.sources.length || m.sourcesContent.some((c) => typeof c !== 'string' || c === '');
  });
  t.same(bare, [], 'no map without the text of its sources');
});
