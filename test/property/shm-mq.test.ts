/**
 * Property: any sequence of messages, of any length from 0 to three rings, sent through a
 * queue of any size between two endpoints in one thread — nowait sends and nowait receives
 * taking turns, with or without forceFlush — arrives complete, in order and byte-identical;
 * no turn leaves both ends stuck while data is pending; and once the sender detaches the
 * receiver reads what is left and then gets 'detached'.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShmMq, type ShmMqHandle } from '../../dist/lib/shm/shm-mq.js';
import { TestProcs } from '../../dist/test/fixtures/mq-procs.js';

interface Case {
  queueSize: number;
  messages: Uint8Array[];
  flush: boolean[];
}

const anyCase: fc.Arbitrary<Case> = fc
  .integer({ min: ShmMq.MINIMUM_SIZE, max: 1024 })
  .chain((queueSize) => {
    const ring = ShmMq.ringSizeFor(queueSize);
    return fc.record({
      queueSize: fc.constant(queueSize),
      messages: fc.array(
        fc.integer({ min: 0, max: 3 * ring }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        { minLength: 1, maxLength: 12 },
      ),
      flush: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    });
  });

/** Both ends of a fresh queue, sender proc 0 and receiver proc 1, in this thread. */
function queue(size: number): { mq: ShmMq; sender: ShmMqHandle; receiver: ShmMqHandle } {
  const procs = TestProcs.create(2);
  const mq = ShmMq.create(new SharedArrayBuffer(size + 8), 8, size);
  mq.setSender(procs.endpoint(0));
  mq.setReceiver(procs.endpoint(1));
  return { mq, sender: mq.attach('sender', procs.endpoint(0)), receiver: mq.attach('receiver', procs.endpoint(1)) };
}

const counters = (mq: ShmMq): string => `${mq.bytesWritten}/${mq.bytesRead}`;

/** Alternate one nowait send attempt and one nowait receive until everything is sent; returns what arrived. */
function exchange(c: Case, mq: ShmMq, sender: ShmMqHandle, receiver: ShmMqHandle): Uint8Array[] {
  const got: Uint8Array[] = [];
  let sent = 0;
  while (sent < c.messages.length) {
    const before = `${counters(mq)}:${sent}:${got.length}`;
    const s = sender.send(c.messages[sent]!, true, c.flush[sent]!);
    assert.notEqual(s, 'detached', 'a send on a live queue is never detached');
    if (s === 'success') sent++;
    const r = receiver.receive(true);
    assert.notEqual(r.result, 'detached', 'the sender has not detached yet');
    if (r.result === 'success') got.push(r.data!.slice());
    assert.notEqual(`${counters(mq)}:${sent}:${got.length}`, before, 'every turn moves something: neither end is stuck');
  }
  return got;
}

/** Detach the sender (publishing anything unflushed), then read the rest until 'detached'. */
function drain(sender: ShmMqHandle, receiver: ShmMqHandle, got: Uint8Array[]): void {
  sender.detach();
  for (;;) {
    const r = receiver.receive(true);
    if (r.result === 'detached') return;
    assert.equal(r.result, 'success', 'after the detach nothing can be pending');
    got.push(r.data!.slice());
  }
}

t.test('queue message sequences round-trip byte-identical through nowait turns', async (t) => {
  let messages = 0;
  let bytes = 0;
  let wrapped = 0;
  fc.assert(
    fc.property(anyCase, (c) => {
      const { mq, sender, receiver } = queue(c.queueSize);
      const got = exchange(c, mq, sender, receiver);
      drain(sender, receiver, got);
      assert.equal(got.length, c.messages.length, 'every message arrived, once');
      c.messages.forEach((m, i) => assert.deepEqual(got[i], m, `message ${i} (${m.length} bytes) is byte-identical`));
      messages += got.length;
      bytes += got.reduce((n, m) => n + m.length, 0);
      wrapped += c.messages.filter((m) => m.length > mq.ringSize).length;
    }),
    { numRuns: 300 },
  );
  t.comment(`${messages} messages, ${bytes} bytes, ${wrapped} of them larger than their ring`);
  t.ok(wrapped > 0, 'messages larger than the ring were among them');
});
