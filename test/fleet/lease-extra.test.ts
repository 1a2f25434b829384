/**
 * The lease in a copy's extra bytes (lib/fleet/lease-extra.ts): written by the fleet, read
 * by the copy, and never mistaken for another worker's extra.
 */
import t from 'tap';
import { FLEET_EXTRA_BYTES, encodeLeaseExtra, fleetLeaseOf } from '../../dist/lib/fleet/lease-extra.js';

t.test('round trip', async (t) => {
  const extra = encodeLeaseExtra(7, 2 ** 40 + 3);
  t.equal(extra.length, FLEET_EXTRA_BYTES);
  t.same(fleetLeaseOf({ name: 'importer#7', extra }), { worker: 'importer', replica: 7, term: 2 ** 40 + 3 });
  t.same(fleetLeaseOf({ name: 'a#b#0', extra: encodeLeaseExtra(0, 1) }), { worker: 'a#b', replica: 0, term: 1 }, 'the last # splits');
});

t.test('anything else is not a lease', async (t) => {
  const extra = encodeLeaseExtra(1, 5);
  t.equal(fleetLeaseOf({ name: 'importer#2', extra }), null, 'the name must carry the replica');
  t.equal(fleetLeaseOf({ name: 'importer', extra }), null);
  t.equal(fleetLeaseOf({ name: 'w#1', extra: new Uint8Array(0) }), null);
  t.equal(fleetLeaseOf({ name: 'w#1', extra: new Uint8Array(16) }), null, 'no magic');
  t.equal(fleetLeaseOf({ name: 'w#1', extra: new Uint8Array([...extra, 0]) }), null, 'wrong length');
  const sub = new Uint8Array(32);
  sub.set(extra, 8);
  t.same(fleetLeaseOf({ name: 'w#1', extra: sub.subarray(8, 24) }), { worker: 'w', replica: 1, term: 5 }, 'a view into a larger buffer');
});
