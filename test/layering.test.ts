/**
 * Import boundaries: the host side and the worker side never import each other, neither
 * imports the public entry files, and the host thread never blocks on Atomics.wait.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, withFileTypes: false })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
const imports = (file: string): string[] =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);

t.test('lib/host does not import lib/worker, and lib/worker does not import lib/host', async (t) => {
  for (const f of sources('lib/host')) t.notOk(imports(f).some((i) => i.includes('/worker/')), f);
  for (const f of sources('lib/worker')) t.notOk(imports(f).some((i) => i.includes('/host/')), f);
});

t.test('lib/schedule builds on the host and never imports lib/worker', async (t) => {
  for (const f of sources('lib/schedule')) t.notOk(imports(f).some((i) => i.includes('/worker/')), f);
});

t.test('nothing inside lib imports the public entry files', async (t) => {
  for (const f of sources('lib')) {
    t.notOk(imports(f).some((i) => /(^|\/)index\.js$/.test(i) && !f.endsWith('index.ts')), f);
  }
});

t.test('the host side never calls Atomics.wait', async (t) => {
  for (const f of sources('lib/host')) t.notMatch(readFileSync(join(root, f), 'utf8'), /Atomics\.wait\(/, f);
});
