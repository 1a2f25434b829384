/**
 * Host options and handle data that are not what they should be: each is a typed error at
 * the call that passed it (new Postmaster(), start(), handleFrom()), before any shared
 * memory exists or is read, with a message that names the option and what it takes.
 */
import t, { type Test } from 'tap';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Postmaster, silentLogger, type PostmasterOptions } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost } from '../helpers/host.js';

const refused = (t: Test, options: Record<string, unknown>, message: RegExp, what: string): void => {
  t.throws(() => new Postmaster({ logger: silentLogger, ...options } as PostmasterOptions), { code: 'BGW_ERR_INVALID_OPTION', message }, what);
};

t.test('shmem regions: a size a region can have, a total the segment can have, an init that is a function', async (t) => {
  refused(t, { shmem: { big: 2 ** 31 } }, /shmem region "big".*2147483647/, 'a region of 2^31 bytes');
  refused(t, { shmem: { big: { size: 2 ** 40 } } }, /shmem region "big"/, 'a region of 2^40 bytes');
  refused(t, { shmem: { a: 2 ** 31 - 1, b: 2 ** 31 - 1 } }, /shared memory segment.*\d+ bytes.*at most 2147483647/, 'regions that fit one by one but not together');
  refused(t, { maxWorkerProcesses: 4096, mainArgBytes: 1 << 24 }, /shared memory segment.*mainArgBytes/, 'slots whose mainArg space does not fit');
  refused(t, { shmem: { r: { size: 8, init: 'x' } } }, /shmem region "r": init must be a function/, 'an init that is a string');
  refused(t, { shmem: [64] }, /shmem must be an object/, 'an array of sizes');
  const pm = new Postmaster({ logger: silentLogger, shmem: { r: { size: 8, init: () => undefined }, s: 2 ** 20 } });
  t.ok(pm, 'valid regions are accepted');
});

t.test('a logger has debug, info, warn and error functions', async (t) => {
  refused(t, { logger: {} }, /logger must have debug, info, warn and error functions; it lacks debug, info, warn, error/, 'an empty object');
  refused(t, { logger: { ...silentLogger, warn: 'loud' } }, /it lacks warn/, 'a method that is not a function');
  refused(t, { logger: console.log }, /logger must have/, 'a bare function');
  t.ok(new Postmaster({ logger: { ...silentLogger, trace() {}, child: () => silentLogger } as PostmasterOptions['logger'] }), 'extra methods (pino) are fine');
});

t.test('restartIntensity: false or an object of known, non-negative whole numbers', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [5, /restartIntensity must be false or an object/],
    [true, /restartIntensity must be false or an object/],
    [[], /restartIntensity must be false or an object/],
    [{ maxRestart: 3 }, /unknown restartIntensity option "maxRestart"; known are maxRestarts/],
    [{ maxRestarts: -1 }, /restartIntensity\.maxRestarts must be/],
    [{ maxRestarts: 1.5 }, /restartIntensity\.maxRestarts must be/],
    [{ hostMaxRestarts: Number.NaN }, /restartIntensity\.hostMaxRestarts must be/],
    [{ withinSeconds: 0 }, /restartIntensity\.withinSeconds must be/],
    [{ backoffBaseMs: '250' }, /restartIntensity\.backoffBaseMs must be/],
    [{ backoffMaxMs: Infinity }, /restartIntensity\.backoffMaxMs must be/],
  ];
  for (const [restartIntensity, message] of cases) refused(t, { restartIntensity }, message, JSON.stringify(restartIntensity) ?? String(restartIntensity));
  const valid: Array<PostmasterOptions['restartIntensity']> = [false, {}, { maxRestarts: 0, withinSeconds: 1, backoffBaseMs: 0 }, { maxRestarts: Infinity, hostMaxRestarts: Infinity }];
  for (const restartIntensity of valid) {
    t.ok(new Postmaster({ logger: silentLogger, restartIntensity }), `accepted: ${JSON.stringify(restartIntensity)}`);
  }
});

t.test('restartAfterCrash is a boolean', async (t) => {
  for (const restartAfterCrash of ['no', 0, null]) refused(t, { restartAfterCrash }, /restartAfterCrash must be true or false/, String(restartAfterCrash));
  t.ok(new Postmaster({ logger: silentLogger, restartAfterCrash: false }));
});

t.test('execArgv: strings, each a flag Node accepts in NODE_OPTIONS, or the value after one', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['--import tsx', /execArgv must be an array of strings/],
    [[3], /execArgv\[0\] must be a string/],
    [['--bogus'], /execArgv\[0\] "--bogus" is not a Node flag that worker threads accept/],
    [['--import=tsx', '--bogus=1'], /execArgv\[1\] "--bogus=1" is not a Node flag/],
    [['tsx'], /execArgv\[0\] "tsx" is a value without a flag before it/],
  ];
  for (const [execArgv, message] of cases) refused(t, { execArgv }, message, JSON.stringify(execArgv));
  for (const execArgv of [[], ['--import', 'tsx'], ['--import=tsx'], ['--no-warnings', '--enable-source-maps'], ['-C', 'dev']]) {
    t.ok(new Postmaster({ logger: silentLogger, execArgv }), `accepted: ${JSON.stringify(execArgv)}`);
  }
});

t.test('a flag that passes the check but that Worker refuses fails start() with a typed error, cause attached', async (t) => {
  // --expose-gc is a NODE_OPTIONS flag, yet a V8 option that worker threads refuse.
  const pm = makeHost(t, { execArgv: ['--expose-gc'] });
  const err = await pm.start().then(() => null, (e: unknown) => e as Error & { code?: string; cause?: { code?: string } });
  t.match(err, { code: 'BGW_ERR_THREAD_START_FAILED', message: /could not start a worker thread: .*--expose-gc.*; check the host's execArgv/ });
  t.equal(err?.cause?.code, 'ERR_WORKER_INVALID_EXEC_ARGV', "Node's own error is the cause");
  await within(pm.shutdown('fast'), 'the shutdown of a host whose start failed');
  t.equal(pm.pmState, 'stopped', 'the host is stopped, not left half started');
  await t.rejects(pm.registerDynamicBackgroundWorker({ name: 'w', module: fixture('exit-zero') }), { code: 'BGW_ERR_POSTMASTER_STOPPED' });
});

t.test('a thread that fails before it is ready fails start() with a typed error, not an uncaught one', async (t) => {
  const pm = makeHost(t, { execArgv: ['--import', '/nonexistent/loader.mjs'], spareThreads: 2 });
  const err = await pm.start().then(() => null, (e: unknown) => e as Error & { code?: string; cause?: { code?: string } });
  t.match(err, { code: 'BGW_ERR_THREAD_START_FAILED', message: /could not start a worker thread: Cannot find module '\/nonexistent\/loader\.mjs'/ });
  t.equal(err?.cause?.code, 'ERR_MODULE_NOT_FOUND');
  await within(pm.shutdown('fast'), 'the shutdown of a host whose start failed');
  t.equal(pm.pmState, 'stopped');
});

t.test('preload modules: an existing regular file', async (t) => {
  const dir = dirname(fileURLToPath(fixture('exit-zero')));
  t.throws(() => new Postmaster({ preload: [dir] }), { code: 'BGW_ERR_MODULE_NOT_FOUND', message: /is a directory, not a file/ });
  t.throws(() => new Postmaster({ preload: ['/nonexistent/pre.js'] }), { code: 'BGW_ERR_MODULE_NOT_FOUND', message: /does not exist/ });
});

t.test('handleFrom takes a slot of this host and a generation that is a non-negative 64-bit integer', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 2 });
  await pm.start();
  const cases: Array<[unknown, RegExp]> = [
    [{ slot: 0, generation: 'zz' }, /generation must be a non-negative integer/],
    [{ slot: 0, generation: '1.5' }, /generation must be a non-negative integer/],
    [{ slot: 0, generation: '' }, /generation must be a non-negative integer/],
    [{ slot: 0, generation: -1n }, /generation must be a non-negative integer/],
    [{ slot: 0, generation: 2n ** 63n }, /generation must be a non-negative integer/],
    [{ slot: 0, generation: 1.5 }, /generation must be a non-negative integer/],
    [{ slot: 0 }, /generation must be a non-negative integer/],
    [{ slot: 2, generation: 0n }, /no slot 2: slots are 0\.\.1/],
    [{ slot: '0', generation: 0n }, /no slot "0": slots are 0\.\.1/],
    [null, /a handle's plain form is \{ slot, generation \}/],
    ['0:1', /a handle's plain form is \{ slot, generation \}/],
  ];
  for (const [data, message] of cases) {
    t.throws(() => pm.handleFrom(data as { slot: number; generation: bigint }), { code: 'BGW_ERR_INVALID_OPTION', message }, JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  }
  for (const generation of [0n, '0', '9223372036854775807', 7]) {
    t.equal(pm.handleFrom({ slot: 1, generation: generation as bigint }).status().status, 'stopped', `generation ${String(generation)}`);
  }
});
