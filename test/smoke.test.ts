import t from 'tap';
import { BgwHandleStatus } from '../dist/lib/index.js';
import { fixture, makeHost } from './helpers/host.js';

t.test('a dynamic worker that returns is started, then stopped and unregistered', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'zero', module: fixture('exit-zero') });
  t.ok(h);
  const s = await h!.waitForStartup();
  t.ok(s.status === BgwHandleStatus.Started || s.status === BgwHandleStatus.Stopped);
  t.equal((await h!.waitForShutdown()).status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), []);
});
