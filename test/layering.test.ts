/**
 * Import boundaries: the host side and the worker side never import each other, neither
 * imports the public entry files, and the host thread never blocks on Atomics.wait. The
 * fleet sits on top of the host: it never imports the worker side or the CLI, the host
 * never imports it, and the worker side may use only the fleet files that reach nothing of
 * the host (the lease reader and the schema), so a worker thread never loads host code.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, withFileTypes: false })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
const imports = (file: string): string[] =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/(?:from |import\()'([^']+)'/g)].map((m) => m[1]!);

t.test('lib/host does not import lib/worker, and lib/worker does not import lib/host', async (t) => {
  for (const f of sources('lib/host')) t.notOk(imports(f).some((i) => i.includes('/worker/')), f);
  for (const f of sources('lib/worker')) t.notOk(imports(f).some((i) => i.includes('/host/')), f);
});

t.test('lib/schedule builds on the host and never imports lib/worker', async (t) => {
  for (const f of sources('lib/schedule')) t.notOk(imports(f).some((i) => i.includes('/worker/')), f);
});

t.test('lib/dashboard sits on the host: it never imports lib/worker or lib/cli', async (t) => {
  for (const f of sources('lib/dashboard')) t.notOk(imports(f).some((i) => i.includes('/worker/') || i.includes('/cli/')), f);
});

t.test('nothing inside lib imports the public entry files', async (t) => {
  for (const f of sources('lib')) {
    t.notOk(imports(f).some((i) => /(^|\/)index\.js$/.test(i) && !f.endsWith('index.ts')), f);
  }
});

t.test('the host side never calls Atomics.wait', async (t) => {
  for (const f of sources('lib/host')) t.notMatch(readFileSync(join(root, f), 'utf8'), /Atomics\.wait\(/, f);
});

/** Files of lib/fleet that `file` imports, and theirs, transitively. */
function fleetClosure(file: string, seen = new Set<string>()): Set<string> {
  for (const i of imports(file)) {
    if (!i.startsWith('./')) continue;
    const next = join(dirname(file), i.replace(/\.js$/, '.ts'));
    if (seen.has(next)) continue;
    seen.add(next);
    fleetClosure(next, seen);
  }
  return seen;
}

t.test('lib/fleet sits on top of the host, and the worker side takes only host-free fleet files', async (t) => {
  for (const f of sources('lib/fleet')) t.notOk(imports(f).some((i) => i.includes('/worker/') || i.includes('/cli/')), `${f} imports neither lib/worker nor lib/cli`);
  for (const f of sources('lib/host')) t.notOk(imports(f).some((i) => i.includes('/fleet/')), `${f} does not import lib/fleet`);
  for (const f of sources('lib/worker')) {
    for (const i of imports(f).filter((x) => x.includes('/fleet/'))) {
      const target = join(dirname(f), i.replace(/\.js$/, '.ts'));
      const reach = [target, ...fleetClosure(target)];
      t.notOk(reach.some((g) => imports(g).some((x) => x.includes('/host/'))), `${f} → ${i} reaches no host code`);
    }
  }
});
