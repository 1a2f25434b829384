/** hello_world: says "Hello World!" each time its latch wait times out; ends on SIGTERM. */
import t from 'tap';
import { BgwHandleStatus } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { makeHost } from '../helpers/host.js';

t.test('hello world greets on every timeout and stops on terminate', async (t) => {
  let greetings = 0;
  let resolveThird: () => void;
  const third = new Promise<void>((res) => (resolveThird = res));
  const logger = {
    debug() {}, warn() {}, error() {},
    info: (_o: unknown, msg?: string) => {
      if (msg === 'Hello World!' && ++greetings === 3) resolveThird();
    },
  };
  const pm = makeHost(t, { logger });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({
    name: 'hello world',
    module: new URL('../../dist/workers/hello_world.js', import.meta.url),
    mainArg: { naptimeMs: 20 },
  });
  await within(third, 'the third "Hello World!"');
  await h!.terminate();
  t.equal((await within(h!.waitForShutdown(), 'hello world to stop on terminate')).status, BgwHandleStatus.Stopped);
  t.ok(greetings >= 3);
});
