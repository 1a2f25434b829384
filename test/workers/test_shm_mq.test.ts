/**
 * The test_shm_mq port (docs/semantics.md §6.9, checklist 46) on real bgworkers: the five regression
 * cases with PostgreSQL's sizes and counts, plus a stage that dies mid-message.
 */
import t from 'tap';
import { testShmMq, testShmMqPipelined, setupPipeline } from '../../dist/workers/test_shm_mq/setup.js';
import { makeHost, nextEvent } from '../helpers/host.js';

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
  let gone = 0;
  const allGone = new Promise<void>((res) => pm.on('unregistered', () => ++gone === 7 && res()));
  await t.resolves(testShmMq(pm, 1024, new Uint8Array(0), 2000, 1), '1: zero-length payloads, 2000 round trips');
  await t.resolves(testShmMq(pm, 1024, new TextEncoder().encode('a'), 2001, 1), '2: one byte, an odd count');
  await t.resolves(testShmMq(pm, 32768, randomPrintable(lengthBetween(100, 1000, 7), 7), 10000, 1), '3: contiguous messages, wrap-around');
  await t.resolves(testShmMq(pm, 100, randomPrintable(lengthBetween(100, 300, 11), 11), 10000, 1), '4: messages larger than the 40-byte ring');
  await t.resolves(testShmMqPipelined(pm, 16384, randomPrintable(270000, 13), 200, 3), '5: three stages, 270 kB through 16 kB, nowait');
  await allGone;
  t.same(pm.activity(), [], 'all seven stages shut down once the leader detached');
});

t.test('a queue size below the minimum is refused before anything starts', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  await t.rejects(testShmMq(pm, 16, new Uint8Array(1)), /queue size must be at least/);
  t.same(pm.activity(), []);
});

t.test('a stage terminated mid-message: the leader sees detached, nothing hangs', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const p = await setupPipeline(pm, 100, 1);
  const big = randomPrintable(100_000, 3);
  t.equal(await p.outq.sendAsync(big), 'success', 'the stage took the whole message');
  // The stage is now blocked writing the copy into a 40-byte ring nobody reads.
  const stopped = nextEvent(pm, 'stopped');
  await p.workers[0]!.terminate();
  await stopped;
  t.equal((await p.inq.receiveAsync()).result, 'detached', 'half a message, then detached');
  t.equal(await p.outq.sendAsync(big), 'detached', 'and the leader cannot send any more');
  p.close();
});
