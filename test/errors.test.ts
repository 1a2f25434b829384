/** The error catalogue: every code has its class, and the README's table lists exactly the codes. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import * as api from '../dist/lib/index.js';

const { BgwError, CATALOGUE, errorClassFor } = api;

t.test('every code has a subclass with that code and a name of its own', async (t) => {
  for (const code of Object.keys(CATALOGUE)) {
    const cls = errorClassFor(code);
    t.ok(cls, `${code} has a class`);
    const err = new cls!('msg');
    t.equal(err.code, code);
    t.ok(err instanceof BgwError && err instanceof Error, `${code} is a BgwError`);
    t.equal((api as Record<string, unknown>)[err.name], cls, `${err.name} is exported`);
  }
});

t.test('the brand check recognises a BgwError made by another copy of the package', async (t) => {
  const foreign = { [Symbol.for('bgworker.error')]: true, code: 'BGW_ERR_X' };
  t.ok(foreign instanceof BgwError);
  t.notOk(new Error('x') instanceof BgwError);
});

t.test("the README's error table lists exactly the catalogue", async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const documented = [...readme.matchAll(/^\| `(BGW_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  t.same(documented, Object.keys(CATALOGUE).sort());
});
