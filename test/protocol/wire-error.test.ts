/** Errors survive a thread crossing: codes, classes, foreign codes and cause chains. */
import t from 'tap';
import { AdminShutdownError, BgwError } from '../../dist/lib/index.js';
import { fromWire, toWire } from '../../dist/lib/protocol/wire-error.js';

t.test('a BgwError comes back as its own class with its code', async (t) => {
  const back = fromWire(structuredClone(toWire(new AdminShutdownError('bye'))));
  t.ok(back instanceof AdminShutdownError);
  t.ok(back instanceof BgwError);
  t.match(back, { code: 'BGW_ERR_ADMIN_SHUTDOWN', message: 'bye', name: 'AdminShutdownError' });
});

t.test('a foreign error keeps name, message, string code and its cause chain', async (t) => {
  const pgLike = Object.assign(new Error('duplicate key'), { name: 'DatabaseError', code: '23505' });
  const wrapped = new Error('insert failed', { cause: pgLike });
  const back = fromWire(structuredClone(toWire(wrapped)));
  t.equal(back.message, 'insert failed');
  t.match(back.cause, { name: 'DatabaseError', message: 'duplicate key', code: '23505' });
});

t.test('a thrown non-error becomes an Error with its text', async (t) => {
  t.match(fromWire(toWire('plain string')), { name: 'Error', message: 'plain string' });
});
