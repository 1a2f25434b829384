/**
 * The self-fencing deadline (lib/fleet/lease-deadline.ts): it fires leaseMs − margin after
 * the last successful renewal was sent, and a renewal whose answer comes after that does
 * not count.
 */
import t from 'tap';
import { LeaseDeadline } from '../../dist/lib/fleet/lease-deadline.js';
import { within } from '../helpers/fleet.js';

t.test('a renewal that comes back after the deadline fences at once', async (t) => {
  let fired = 0;
  const d = new LeaseDeadline(1000, 200, () => fired++);
  t.notOk(d.renewed(performance.now() - 900), 'sent 900 ms ago: past 1000 − 200');
  t.equal(fired, 1);
  t.equal(d.remaining(), Infinity, 'disarmed after firing');
});

t.test('no renewal: the deadline fires by itself', async (t) => {
  const expired = new Promise<void>((res) => {
    const d = new LeaseDeadline(150, 50, res);
    t.ok(d.renewed(performance.now()));
    t.ok(d.remaining() <= 100);
  });
  await within(expired, 'the deadline to fire', 5000);
});

t.test('renewals push the deadline on; disarm stops it', async (t) => {
  let fired = 0;
  const d = new LeaseDeadline(10_000, 1000, () => fired++);
  d.renewed(performance.now());
  const first = d.remaining();
  d.renewed(performance.now() + 50);
  t.ok(d.remaining() > first);
  d.disarm();
  t.equal(fired, 0);
});
