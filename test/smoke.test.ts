import t from 'tap';
import { BgwHandleStatus } from '../dist/lib/index.js';
import { within } from './helpers/deadline.js';
import { fixture, makeHost } from './helpers/host.js';

t.test('a dynamic worker that returns is started, then stopped and unregistered', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'zero', module: fixture('exit-zero') });
  t.ok(h);
  const s = await within(h!.waitForStartup(), 'worker "zero" to start');
  t.ok(s.status === BgwHandleStatus.Started || s.status === BgwHandleStatus.Stopped);
  t.equal((await within(h!.waitForShutdown(), 'worker "zero" to return and stop')).status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), []);
});
