/**
 * TickTimer: a tick's callback never comes before its wall-clock time (a cron tick at
 * 03:00:00.000 must not run at 02:59:59.999), arm() replaces what was armed, clear() drops
 * it, and an armed timer does not keep the process alive.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { TickTimer } from '../../lib/schedule/tick-timer.js';
import { within } from '../helpers/deadline.js';

function fired(at: number): Promise<number> {
  return new Promise((resolve) => new TickTimer(() => resolve(Date.now())).arm(at));
}

t.test('the callback comes at or after its time, never before', async (t) => {
  for (let i = 0; i < 20; i++) {
    const at = Date.now() + 3 + (i % 7);
    const now = await within(fired(at), `tick ${i}`);
    t.ok(now >= at, `tick ${i}: called at ${now}, due ${at}`);
  }
});

t.test('a time already past calls back on the next turn, not from inside arm()', async (t) => {
  let called = false;
  let done!: () => void;
  const finished = new Promise<void>((res) => (done = res));
  new TickTimer(() => {
    called = true;
    done();
  }).arm(Date.now() - 1000);
  t.notOk(called, 'not called from arm()');
  await within(finished, 'the past tick');
  t.ok(called);
});

t.test('arm() replaces the armed time; clear() drops it', async (t) => {
  const calls: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((res) => (done = res));
  const timer = new TickTimer(() => {
    calls.push('fired');
    done();
  });
  timer.arm(Date.now() + 5);
  timer.arm(Date.now() + 20);
  const dropped = new TickTimer(() => calls.push('dropped'));
  dropped.arm(Date.now() + 5);
  dropped.clear();
  await within(finished, 'the re-armed tick');
  await within(new Promise((res) => setTimeout(res, 30)), 'a turn past the dropped time');
  t.same(calls, ['fired'], 'one call for the re-armed timer, none for the cleared one');
});

t.test('an armed timer does not keep the process alive', async (t) => {
  const url = new URL('../../lib/schedule/tick-timer.ts', import.meta.url).href;
  const src = `import { TickTimer } from ${JSON.stringify(url)}; new TickTimer(() => console.log('fired')).arm(Date.now() + 60000);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 0, `exited by itself (${r.stderr})`);
  t.equal(r.stdout, '', 'without calling back');
});
