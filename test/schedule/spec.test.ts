/**
 * Bad schedules are refused by pm.schedule() with typed errors naming the field, before
 * anything is armed; a removed schedule takes no more calls.
 */
import t from 'tap';
import { fixture } from '../helpers/host.js';
import { job, scheduleHost, scheduleJob } from '../helpers/schedule.js';

t.test('bad time rules, policies and fields: BGW_ERR_SCHEDULE_INVALID', async (t) => {
  const pm = await scheduleHost(t, { terminateGraceMs: 500 });
  const bad: Array<[string, Record<string, unknown>]> = [
    ['no time rule', {}],
    ['both rules', { every: 1000, cron: '* * * * *' }],
    ['a zero interval', { every: 0 }],
    ['a negative interval', { every: -100 }],
    ['an unreadable duration', { every: '5 minutes' }],
    ['a fractional interval', { every: 1.5 }],
    ['maxRuntimeMs below terminateGraceMs', { every: 1000, maxRuntimeMs: 499 }],
    ['maxRuntimeMs zero', { every: 1000, maxRuntimeMs: 0 }],
    ['an unknown overlap policy', { every: 1000, overlap: 'wait' }],
    ['maxParallel without parallel', { every: 1000, maxParallel: 3 }],
    ['an unknown misfire policy', { every: 1000, misfire: 'catch_up_all' }],
    ['maxRetries below -1', { every: 1000, maxRetries: -2 }],
    ['a bad retryPeriodMs', { every: 1000, retryPeriodMs: 0 }],
    ['a misspelt policy', { every: 1000, maxRunTimeMs: 5000 }],
    ['timeZone on an interval', { every: 1000, timeZone: 'UTC' }],
    ['after-finish cron', { cron: '* * * * *', fixed: false }],
    ['after-finish in a fleet', { every: 1000, fixed: false, fleet: true }],
    ['a bad fleet schema', { every: 1000, fleet: { schema: 'Bad-Schema' } }],
    ['a bad initialStart', { every: 1000, initialStart: 'yesterday-ish' }],
    ['a bad historySize', { every: 1000, historySize: 0 }],
    ['a non-boolean scheduled', { every: 1000, scheduled: 'no' }],
  ];
  for (const [what, fields] of bad) {
    await t.rejects(pm.schedule({ name: 'bad', module: job, ...fields }), { code: 'BGW_ERR_SCHEDULE_INVALID' }, what);
  }
  await t.rejects(pm.schedule({ name: '', module: job, every: 1000 }), { code: 'BGW_ERR_SCHEDULE_INVALID' }, 'an empty name');
  await t.rejects(pm.schedule({ name: 'x'.repeat(64), module: job, every: 1000 }), { code: 'BGW_ERR_SCHEDULE_INVALID' }, 'a name over 63 bytes');
  t.same(pm.schedules(), [], 'nothing was declared');
});

t.test('cron expressions and time zones', async (t) => {
  const pm = await scheduleHost(t);
  await t.rejects(pm.schedule({ name: 'c', module: job, cron: '61 * * * *' }), { code: 'BGW_ERR_CRON_INVALID' });
  await t.rejects(pm.schedule({ name: 'c', module: job, cron: '0 0 30 2 *' }), { code: 'BGW_ERR_CRON_INVALID', message: /never fires/ });
  await t.rejects(pm.schedule({ name: 'c', module: job, cron: '* * * * *', timeZone: 'Europe/Atlantis' }), { code: 'BGW_ERR_TIME_ZONE_UNKNOWN' });
});

t.test("the registration is checked by the host's rules", async (t) => {
  const pm = await scheduleHost(t);
  await t.rejects(pm.schedule({ name: 'm', module: fixture('no-such-module'), every: 1000 }), { code: 'BGW_ERR_MODULE_NOT_FOUND' });
  await t.rejects(pm.schedule({ name: 'f', module: job, every: 1000, flags: 0x100 }), { code: 'BGW_ERR_INVALID_FLAGS' });
});

t.test('names are unique per host; a removed schedule takes no more calls but stats()', async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'once', every: '1h' });
  await t.rejects(pm.schedule({ name: 'once', module: job, every: 1000 }), { code: 'BGW_ERR_SCHEDULE_EXISTS' });
  t.throws(() => w.update({ name: 'other' }), { code: 'BGW_ERR_SCHEDULE_INVALID' }, 'the name cannot change');
  t.throws(() => w.update({ every: 0 }), { code: 'BGW_ERR_SCHEDULE_INVALID' }, 'an update is checked');
  w.remove();
  for (const call of [() => w.pause(), () => w.resume(), () => w.runNow(), () => w.update({ every: 5000 })]) t.throws(call, { code: 'BGW_ERR_SCHEDULE_REMOVED' });
  t.equal(w.stats().name, 'once');
  t.same(pm.schedules(), []);
  const again = await scheduleJob(t, pm, { name: 'once', every: '1h' });
  t.equal(pm.schedules()[0], again, 'the name is free again');
});

t.test('a host that is not started, or has stopped, takes no schedule', async (t) => {
  const { makeHost } = await import('../helpers/host.js');
  const pm = makeHost(t);
  await t.rejects(pm.schedule({ name: 'early', module: job, every: 1000 }), { code: 'BGW_ERR_NOT_STARTED' });
  await pm.start();
  await pm.shutdown('fast');
  await t.rejects(pm.schedule({ name: 'late', module: job, every: 1000 }), { code: 'BGW_ERR_POSTMASTER_STOPPED' });
});
