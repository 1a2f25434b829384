/**
 * The misfire rule across a host restart, in database mode: the last tick is read from the
 * schedule's runs table, so a host that comes back after ticks were missed catches up once
 * (misfire run_once) or skips to the next tick (misfire skip). The outage is made by moving
 * the recorded ticks back in time, not by waiting.
 */
import t from 'tap';
import { nextEvent } from '../helpers/host.js';
import { database, requirePg } from '../helpers/pg.js';
import { finishes, scheduleHost, scheduleJob } from '../helpers/schedule.js';

t.test('misfire across a restart: the last tick is read from the database', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const schema = 'bgw_misfire_test';
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const host = (tt: typeof t) => scheduleHost(tt, { database });
  await t.test('first life: a few ticks, then the host stops', async (t) => {
    const pm = await host(t);
    const w = await scheduleJob(t, pm, { name: 'nightly', every: 200, fleet: { schema } });
    await finishes(w, 2, 'two runs of the first life');
    await pm.shutdown('fast');
  });
  // The outage: ten intervals pass while no host runs the schedule.
  await client.query(`UPDATE ${schema}.schedule_runs SET scheduled_at = scheduled_at - interval '2 seconds' WHERE schedule = 'nightly'`);
  await t.test('second life, misfire run_once: one catch-up for the missed ticks', async (t) => {
    const pm = await host(t);
    const w = await scheduleJob(t, pm, { name: 'nightly', every: 200, fleet: { schema } });
    const [info] = await nextEvent<[{ missed: number; ran: boolean }]>(w, 'misfire', 'the missed ticks to be noticed');
    t.ok(info.missed >= 9 && info.ran, `missed ${info.missed}; a catch-up runs`);
    const [r] = await finishes(w, 1, 'the catch-up run', (x) => x.kind === 'catch_up');
    t.equal(r!.status, 'success');
    const s = await w.fleetStats();
    t.ok(s && s.missed_ticks >= 9, 'the database counts the missed ticks');
    await pm.shutdown('fast');
  });
  await client.query(`UPDATE ${schema}.schedule_runs SET scheduled_at = scheduled_at - interval '2 seconds' WHERE schedule = 'nightly'`);
  await t.test('third life, misfire skip: the late tick is skipped, the schedule goes on', async (t) => {
    const pm = await host(t);
    // Declared mid-interval, so that the latest due tick is 100 ms old: past the 50 ms grace.
    // This arranges the clock's phase; nothing waits on another thread here.
    await new Promise((res) => setTimeout(res, 200 - ((Date.now() - 100) % 200)));
    const w = await scheduleJob(t, pm, { name: 'nightly', every: 200, misfire: 'skip', misfireGraceMs: 50, fleet: { schema } });
    const [info] = await nextEvent<[{ missed: number; ran: boolean }]>(w, 'misfire', 'the missed ticks to be noticed');
    t.equal(info.ran, false);
    t.ok(w.stats().skippedBy.misfire >= 1, 'the late tick was skipped');
    // A loaded machine may reach a later tick past 50 ms too; the rest of the test needs none skipped.
    w.update({ misfireGraceMs: 1000 });
    const [r] = await finishes(w, 1, 'a later tick, on time');
    t.equal(r!.kind, 'tick');
    await pm.shutdown('fast');
  });
  await client.query(`DROP SCHEMA ${schema} CASCADE`);
});
