/**
 * The error catalogue, class by class: each exported error class declares one code and its
 * meaning, is found again by that code, survives the wire, and is recognised by its brand
 * when it comes from another copy of the package; the README's table lists exactly the codes.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import * as api from '../dist/lib/index.js';
import * as workerApi from '../dist/lib/worker/index.js';
import { fromWire, toWire } from '../dist/lib/protocol/wire-error.js';

const { BgwError, CATALOGUE, errorClassFor, isBgwError } = api;
type BgwErrorCode = api.BgwErrorCode;

interface ErrorClass {
  new (message: string, options?: { cause?: unknown }): InstanceType<typeof BgwError>;
  readonly name: string;
  readonly code: BgwErrorCode;
  readonly meaning: string;
}

/** Found among the exports, not through the catalogue, so the catalogue is what is tested. */
const classes = Object.entries(api)
  .filter(([, v]) => typeof v === 'function' && Object.prototype.isPrototypeOf.call(BgwError, v))
  .map(([exported, v]) => [exported, v as unknown as ErrorClass] as const);

/** What an instance made by another copy of the package carries: the same Symbol.for brands. */
function foreignInstance(code: string, name: string): object {
  const foreign = Object.assign(Object.create(Error.prototype) as Error, { name, message: 'from the other copy', code });
  Object.defineProperty(foreign, Symbol.for('bgworker.error'), { value: true });
  Object.defineProperty(foreign, Symbol.for(`bgworker.error.${code}`), { value: true });
  return foreign;
}

t.test('every error class declares one code, once', async (t) => {
  t.ok(classes.length >= 50, `${classes.length} classes exported`);
  const codes = classes.map(([, cls]) => cls.code);
  t.same(codes.filter((c, i) => codes.indexOf(c) !== i), [], 'no code is declared by two classes');
  t.same([...codes].sort(), Object.keys(CATALOGUE).sort(), 'the catalogue holds exactly the declared codes');
});

for (const [exported, cls] of classes) {
  t.test(exported, async (t) => {
    const { code } = cls;
    t.match(code, /^BGW_ERR_[A-Z_]+$/, 'code format');
    t.equal(cls.name, exported, 'the class is exported under its own name');
    t.ok(typeof cls.meaning === 'string' && cls.meaning.length > 0, 'meaning is set');
    t.equal(CATALOGUE[code], cls.meaning, 'the catalogue gives its meaning');
    t.equal(errorClassFor(code), cls, 'errorClassFor finds it by its code');

    const cause = new Error('underneath');
    const err = new cls('msg', { cause });
    t.match(err, { code, name: exported, message: 'msg', cause });
    t.ok(err instanceof cls && err instanceof BgwError && err instanceof Error, 'instanceof its class, BgwError and Error');
    t.ok(isBgwError(err) && isBgwError(err, code), 'isBgwError, with and without its code');

    const back = fromWire(structuredClone(toWire(err)));
    t.equal(back.constructor, cls, 'the wire round trip keeps the class');
    t.match(back, { code, name: exported, message: 'msg', cause: { message: 'underneath' } });

    const foreign = foreignInstance(code, exported);
    t.ok(foreign instanceof cls, "another copy's instance is instanceof the class");
    t.ok(foreign instanceof BgwError, "another copy's instance is instanceof BgwError");
    t.ok(isBgwError(foreign, code), 'isBgwError recognises it with its code');
    const other = classes.find(([, c]) => c.code !== code)![1];
    t.notOk(foreign instanceof other, `nor instanceof ${other.name}`);
    t.notOk(isBgwError(foreign, other.code), `nor isBgwError with ${other.code}`);
  });
}

t.test('the brands of BgwError alone, and of nothing', async (t) => {
  const foreign = { [Symbol.for('bgworker.error')]: true, code: 'BGW_ERR_X' };
  t.ok(foreign instanceof BgwError && isBgwError(foreign), 'the base brand is a BgwError');
  t.notOk(foreign instanceof api.InvalidOptionError, 'but no class in particular');
  for (const v of [new Error('x'), { code: 'BGW_ERR_INVALID_OPTION' }, null, undefined, 'BGW_ERR_INVALID_OPTION', 7]) {
    t.notOk(v instanceof BgwError || isBgwError(v) || isBgwError(v, 'BGW_ERR_INVALID_OPTION'), `${String(v)} is not a BgwError`);
  }
});

t.test("a caller's own subclass keeps the ordinary prototype check", async (t) => {
  class MyOptionError extends api.InvalidOptionError {}
  const mine = new MyOptionError('mine');
  t.match(mine, { code: 'BGW_ERR_INVALID_OPTION', name: 'MyOptionError' });
  t.ok(mine instanceof api.InvalidOptionError && mine instanceof MyOptionError);
  t.notOk(new api.InvalidOptionError('theirs') instanceof MyOptionError);
});

// The worker entry is a bundle of its own (the file a worker thread loads), so its classes
// are other copies of the same declarations: the brands make them one error surface.
t.test('both entry points export the same error surface, one copy recognising the other', async (t) => {
  for (const [exported, cls] of classes) {
    const theirs = (workerApi as Record<string, unknown>)[exported] as typeof cls;
    t.equal(theirs.code, cls.code, `${exported}: the same code`);
    t.ok(new theirs('x') instanceof cls && new cls('x') instanceof theirs, `${exported}: instanceof holds across the two copies`);
    t.ok(api.isBgwError(new theirs('x'), cls.code) && workerApi.isBgwError(new cls('x'), cls.code), `${exported}: isBgwError on either side`);
  }
  t.same(workerApi.CATALOGUE, api.CATALOGUE, 'the same catalogue');
  t.ok(new workerApi.AdminShutdownError('x') instanceof api.BgwError, 'and the base brand');
});

t.test("the README's error table lists exactly the catalogue", async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const documented = [...readme.matchAll(/^\| `(BGW_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  t.same(documented, Object.keys(CATALOGUE).sort());
});
