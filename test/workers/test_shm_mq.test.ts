/**
 * The test_shm_mq port (docs/semantics.md §6.9, checklist 46) on real bgworkers: the five regression
 * cases with PostgreSQL's sizes and counts, plus a stage that dies mid-message.
 */
import t from 'tap';
import { testShmMq, testShmMqPipelined, setupPipeline } from '../../dist/workers/test_shm_mq/setup.js';
import { WAIT_MS, within } from '../helpers/deadline.js';
import { makeHost, nextEvent, nextEvents } from '../helpers/host.js';

/** chr(32 + random() * 95), from a seeded generator so a failure can be replayed. */
function randomPrintable(len: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = 32 + ((x >>> 0) % 95);
  }
  return out;
}
const lengthBetween = (lo: number, hi: number, seed: number) => lo + (seed % (hi - lo + 1));

t.test('the five test_shm_mq regression cases complete with the message intact (checklist 46)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  // Counted from the start, so its deadline covers all five cases.
  const allGone = nextEvents(pm, 'unregistered', 7, 'all seven stages to be unregistered once the leader detached', undefined, 5 * WAIT_MS);
  const run = (what: string, test: Promise<void>) => t.resolves(within(test, `case ${what}`), what);
  await run('1: zero-length payloads, 2000 round trips', testShmMq(pm, 1024, new Uint8Array(0), 2000, 1));
  await run('2: one byte, an odd count', testShmMq(pm, 1024, new TextEncoder().encode('a'), 2001, 1));
  await run('3: contiguous messages, wrap-around', testShmMq(pm, 32768, randomPrintable(lengthBetween(100, 1000, 7), 7), 10000, 1));
  await run('4: messages larger than the 40-byte ring', testShmMq(pm, 100, randomPrintable(lengthBetween(100, 300, 11), 11), 10000, 1));
  await run('5: three stages, 270 kB through 16 kB, nowait', testShmMqPipelined(pm, 16384, randomPrintable(270000, 13), 200, 3));
  await allGone;
  t.same(pm.activity(), [], 'all seven stages shut down once the leader detached');
});

t.test('a queue size below the minimum is refused before anything starts', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  await t.rejects(within(testShmMq(pm, 16, new Uint8Array(1)), 'a too-small queue to be refused'), /queue size must be at least/);
  t.same(pm.activity(), []);
});

t.test('a stage terminated mid-message: the leader sees detached, nothing hangs', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const p = await within(setupPipeline(pm, 100, 1), 'the one-stage pipeline to be set up');
  const big = randomPrintable(100_000, 3);
  t.equal(await within(p.outq.sendAsync(big), 'the stage to take the whole 100 kB message'), 'success', 'the stage took the whole message');
  // The stage is now blocked writing the copy into a 40-byte ring nobody reads.
  const stopped = nextEvent(pm, 'stopped', 'the terminated stage to stop');
  await p.workers[0]!.terminate();
  await stopped;
  t.equal((await within(p.inq.receiveAsync(), 'the leader receive to end')).result, 'detached', 'half a message, then detached');
  t.equal(await within(p.outq.sendAsync(big), 'the leader send to end'), 'detached', 'and the leader cannot send any more');
  p.close();
});
