/**
 * The listener's queries run one at a time on its one connection: many NOTIFYs sent at
 * once (the control channel's replies to a burst of requests), subscriptions and
 * unsubscriptions interleaved with them, all reach the server in order, and pg never warns
 * that a query was issued while another one was executing.
 *
 * pg emits that DeprecationWarning once per process, and tap runs each test file in its own
 * process: nothing before this test may have triggered it.
 */
import t from 'tap';
import { Listener, silentLogger } from '../../dist/lib/index.js';
import { database, requirePg } from '../helpers/pg.js';

const BURST = 50;

function within<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

t.test('a burst of NOTIFYs through the listener: queued, in order, no concurrent-query warning', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void (w.name === 'DeprecationWarning' && warnings.push(w.message));
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));

  const listener = new Listener({ ...database, application_name: 'bgworker: listen-queue test' }, silentLogger);
  t.teardown(() => listener.close());
  const got: string[] = [];
  let allArrived: () => void = () => {};
  const arrived = new Promise<void>((res) => (allArrived = res));
  const sink = { notify: (_c: string, p: string) => void (got.push(p) === BURST && allArrived()), resync: () => {} };
  const other = { notify: () => {}, resync: () => {} };
  await listener.subscribe('bgw_queue_test', sink);

  const sends: Array<Promise<unknown>> = [];
  for (let i = 0; i < BURST; i++) {
    sends.push(listener.notify('bgw_queue_test', String(i)));
    if (i % 10 === 0) sends.push(listener.subscribe(`bgw_queue_other_${i}`, other));
  }
  listener.unsubscribeAll(other);
  await within(Promise.all(sends), 10_000, `${BURST} NOTIFYs and 5 LISTENs acknowledged`);
  await within(arrived, 10_000, `${BURST} notifications delivered back`);
  // Warnings are emitted on the next tick after the call that provoked them.
  await new Promise((res) => setImmediate(res));

  t.same(got, Array.from({ length: BURST }, (_, i) => String(i)), 'every payload arrived, in the order sent');
  t.same(warnings, [], 'pg issued no DeprecationWarning');
});
