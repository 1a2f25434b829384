/**
 * The doorbell's payloads (lib/fleet/doorbell.ts): what the SQL side sends is accepted;
 * anything else is refused with a typed error.
 */
import t from 'tap';
import { parseDoorbell } from '../../dist/lib/fleet/doorbell.js';

t.test('the payloads the SQL side sends', async (t) => {
  for (const p of ['{"kind":"insert","worker":"w"}', '{"kind":"update","worker":"a.b-c_d"}', '{"kind":"delete","worker":"w"}', '{"kind":"member"}', '{"kind":"release"}', '{"kind":"release","worker":"w","replica":3}']) {
    t.same(parseDoorbell(p), JSON.parse(p), p);
  }
});

t.test('anything else is refused', async (t) => {
  const bad = ['', 'x', 'null', '1', '[]', '{}', '{"kind":1}', '{"kind":"kill"}', '{"kind":"member","worker":"w"}', '{"kind":"update"}',
    '{"kind":"update","worker":"w","replica":1}', '{"kind":"release","worker":"a;b"}', '{"kind":"release","replica":1.5}', '{"kind":"release","replica":-1}',
    '{"kind":"release","other":true}', JSON.stringify({ kind: 'member', x: 'y'.repeat(600) }), '{"kind":"release","worker":"' + 'w'.repeat(64) + '"}'];
  for (const p of bad) t.throws(() => parseDoorbell(p), { code: 'BGW_ERR_FLEET_INVALID_NOTIFICATION' }, p.slice(0, 60));
});
