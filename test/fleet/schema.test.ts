/**
 * Two hosts that start at once on an empty database (a schema that does not exist yet):
 * the fleet's schema is created once — one migration recorded, one state row — and both
 * join. Run twice, since the race is a matter of timing.
 */
import t from 'tap';
import { requirePg } from '../helpers/pg.js';
import { FAST, freshSchema, startFleetHost } from '../helpers/fleet.js';

for (const round of [1, 2]) {
  t.test(`two hosts starting at once create the schema once (round ${round})`, async (t) => {
    const client = await requirePg(t);
    if (!client) return;
    const schema = `bgw_fleet_race_${round}`;
    await freshSchema(t, client, schema);
    const [a, b] = await Promise.all([startFleetHost(t, 'a', { schema, ...FAST }), startFleetHost(t, 'b', { schema, ...FAST })]);
    t.not(a.member, b.member, 'two identities');
    const { rows: migrations } = await client.query(`SELECT component, version FROM ${schema}.bgworker_migrations`);
    t.same(migrations, [{ component: 'fleet', version: 1 }], 'the fleet migration applied once');
    const { rows: state } = await client.query(`SELECT count(*)::int AS n FROM ${schema}.fleet_state`);
    t.equal(state[0].n, 1, 'one state row');
    const { rows: members } = await client.query(`SELECT id, state FROM ${schema}.fleet_member_status ORDER BY id`);
    t.same(members.map((m) => m.state), ['active', 'active'], 'both joined');
    t.same(members.map((m) => m.id).sort(), [a.member, b.member].sort());
  });
}
