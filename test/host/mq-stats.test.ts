/**
 * Queue throughput read from the queues' own counters: the bytes a host conversation has
 * carried, in mqStats() and in the metrics; watching twice is a no-op; a detached queue
 * is folded into the totals and let go, so the totals never go down.
 */
import t from 'tap';
import { postmasterMetrics, ShmMq } from '../../dist/lib/index.js';
import { makeHost } from '../helpers/host.js';

/** 8 + ceil8(n) ring bytes per message of n bytes (shm-mq.ts). */
const footprint = (n: number): number => 8 + Math.ceil(n / 8) * 8;

const metric = (text: string, name: string): number => Number(text.split('\n').find((l) => l.startsWith(`${name} `))!.split(' ')[1]);

t.test('a host conversation: bytes sent and received, by queue and in total, then retired', async (t) => {
  const pm = makeHost(t);
  const metrics = postmasterMetrics(pm);
  await pm.start();
  const seg = pm.dsmCreate(4096);
  const q = ShmMq.create(seg.buffer, 0, 4096);
  const a = pm.mqEndpoint();
  const b = pm.mqEndpoint();
  pm.mqWatch(q, 'a to b');
  q.setSender(a);
  q.setReceiver(b);
  const sender = pm.mqAttach(q, 'sender', a);
  const receiver = pm.mqAttach(q, 'receiver', b);
  pm.mqWatch(q, 'again');
  const sizes = [1, 10, 100, 0];
  for (const n of sizes) t.equal(await sender.sendAsync(new Uint8Array(n)), 'success');
  for (const n of sizes) t.equal((await receiver.receiveAsync()).data?.byteLength, n);
  const sent = sizes.reduce((s, n) => s + footprint(n), 0);
  const s = pm.mqStats();
  t.equal(s.queues.length, 1, 'watched once, under its first name');
  t.match(s.queues[0], { name: 'a to b', sender: a.procNumber, receiver: b.procNumber, ringSize: q.ringSize, bytesSent: sent });
  t.ok(s.queues[0]!.bytesReceived <= sent, 'consumption is published in batches, never ahead of what was sent');
  t.equal(s.bytesSent, sent);
  let text = await metrics.render();
  t.equal(metric(text, 'bgworker_mq_sent_bytes_total'), sent);
  t.equal(metric(text, 'bgworker_mq_queues'), 1);
  const received = s.bytesReceived;

  sender.detach();
  receiver.detach();
  const after = pm.mqStats();
  t.same(after.queues, [], 'a detached queue is no longer watched');
  t.equal(after.retired, 1);
  t.equal(after.bytesSent, sent, 'its bytes stay in the totals');
  t.ok(after.bytesReceived >= received);
  text = await metrics.render();
  t.equal(metric(text, 'bgworker_mq_sent_bytes_total'), sent, 'the counter did not go down');
  t.equal(metric(text, 'bgworker_mq_queues'), 0);
  a.release();
  b.release();
  seg.detach();
});

t.test('before start: nothing is watched and the counters read zero', async (t) => {
  const pm = makeHost(t);
  t.same(pm.mqStats(), { bytesSent: 0, bytesReceived: 0, retired: 0, queues: [] });
  const text = await postmasterMetrics(pm).render();
  t.equal(metric(text, 'bgworker_mq_sent_bytes_total'), 0);
  t.equal(metric(text, 'bgworker_mq_received_bytes_total'), 0);
});
