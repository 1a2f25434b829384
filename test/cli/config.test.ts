/** The CLI's config file and command line: shapes accepted, paths resolved, mistakes named. */
import t from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCliArgs } from '../../dist/lib/cli/args.js';
import { loadConfig, parseConfig } from '../../dist/lib/cli/config.js';
import { BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_SHMEM_ACCESS, BgWorkerStartTime } from '../../dist/lib/index.js';

const parse = (o: unknown) => parseConfig(JSON.stringify(o), '/srv/app');

t.test('every host option and registration field', async (t) => {
  const file = pathToFileURL('/opt/w.js').href;
  const c = parse({
    maxWorkerProcesses: 4, maxParallelWorkers: 2, terminateGraceMs: 100, quitGraceMs: 200, spareThreads: 0, mainArgBytes: 64, hostLatches: 1,
    restartAfterCrash: false, shmem: { stats: 64 }, locks: ['stats'], preload: ['lib/pre.js'], execArgv: ['--import', 'tsx'],
    database: { host: '127.0.0.1', database: 'app' }, restartIntensity: { maxRestarts: 3, withinSeconds: 60 },
    workers: [
      { name: 'a', type: 'collector', module: './a.js', function: 'run', flags: ['BGWORKER_SHMEM_ACCESS', 'BGWORKER_BACKEND_DATABASE_CONNECTION'],
        startTime: 'RecoveryFinished', restartTime: 5, mainArg: { n: [1, 2] }, extra: Buffer.from([1, 2, 3]).toString('base64'),
        resourceLimits: { maxOldGenerationSizeMb: 64 } },
      { name: 'b', module: file, flags: 1, startTime: 0 },
    ],
  });
  t.same(c.options, {
    maxWorkerProcesses: 4, maxParallelWorkers: 2, terminateGraceMs: 100, quitGraceMs: 200, spareThreads: 0, mainArgBytes: 64, hostLatches: 1,
    restartAfterCrash: false, shmem: { stats: 64 }, locks: ['stats'], preload: ['/srv/app/lib/pre.js'], execArgv: ['--import', 'tsx'],
    database: { host: '127.0.0.1', database: 'app' }, restartIntensity: { maxRestarts: 3, withinSeconds: 60 },
  });
  t.same(c.workers, [
    { name: 'a', module: '/srv/app/a.js', type: 'collector', function: 'run', flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
      startTime: BgWorkerStartTime.RecoveryFinished, restartTime: 5, resourceLimits: { maxOldGenerationSizeMb: 64 }, extra: new Uint8Array([1, 2, 3]),
      mainArg: { n: [1, 2] } },
    { name: 'b', module: file, flags: 1, startTime: 0 },
  ]);
});

t.test('an empty object is a host with defaults and no workers or schedules', async (t) => {
  t.same(parse({}), { options: {}, workers: [], schedules: [] });
  t.same(parse({ restartIntensity: false }).options, { restartIntensity: false }, 'restart forever, as PostgreSQL');
});

t.test('mistakes are BGW_ERR_CONFIG_INVALID, naming the field', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /the config must be an object/],
    [{ maxWorkerProcess: 4 }, /unknown field "maxWorkerProcess"/],
    [{ maxWorkerProcesses: '4' }, /maxWorkerProcesses must be a number/],
    [{ restartAfterCrash: 'no' }, /restartAfterCrash must be true or false/],
    [{ shmem: { a: '1' } }, /shmem\.a must be a number/],
    [{ restartIntensity: true }, /restartIntensity must be an object/],
    [{ locks: 'a' }, /locks must be an array/],
    [{ execArgv: [1] }, /execArgv\[0\] must be a string/],
    [{ database: 'postgres://' }, /database must be an object/],
    [{ workers: {} }, /workers must be an array/],
    [{ workers: [{ module: './a.js' }] }, /workers\[0\]\.name must be a string/],
    [{ workers: [{ name: 'a', module: './a.js', notifyPid: 0 }] }, /workers\[0\]: unknown field "notifyPid"/],
    [{ workers: [{ name: 'a', module: './a.js', flags: ['SHMEM'] }] }, /workers\[0\]\.flags: unknown flag "SHMEM"/],
    [{ workers: [{ name: 'a', module: './a.js', startTime: 'Later' }] }, /workers\[0\]\.startTime: unknown start time "Later"/],
  ];
  for (const [config, message] of cases) t.throws(() => parse(config), { code: 'BGW_ERR_CONFIG_INVALID', message }, String(message));
  t.throws(() => parseConfig('{', '/'), { code: 'BGW_ERR_CONFIG_INVALID', message: /not JSON/ });
});

t.test('extra is strict base64: anything else is refused, naming the worker and the field', async (t) => {
  const withExtra = (extra: unknown) => ({ workers: [{ name: 'a', module: './a.js' }, { name: 'packer', module: './p.js', extra }] });
  for (const extra of ['!!!notbase64', 'AQI', 'AQID\n', '-_8=', 'AQ==AQ==', 'A===']) {
    t.throws(() => parse(withExtra(extra)), {
      code: 'BGW_ERR_CONFIG_INVALID',
      message: /^workers\[1\]\.extra of worker "packer" is not base64 \(A–Z, a–z, 0–9, \+ and \/, padded with =\)/,
    }, JSON.stringify(extra));
  }
  for (const [extra, bytes] of [['', []], ['AQ==', [1]], ['AQI=', [1, 2]], ['AQID', [1, 2, 3]], ['+/8=', [251, 255]]] as const) {
    t.same(parse(withExtra(extra)).workers[1]!.extra, new Uint8Array(bytes), `${JSON.stringify(extra)} is accepted`);
  }
});

t.test('loadConfig resolves paths against the file it read', async (t) => {
  const dir = t.testdir({ 'c.json': JSON.stringify({ workers: [{ name: 'a', module: 'w/a.js' }] }) });
  t.equal(loadConfig(join(dir, 'c.json')).workers[0]!.module, join(dir, 'w/a.js'));
  t.throws(() => loadConfig(join(dir, 'none.json')), { code: 'BGW_ERR_CONFIG_INVALID', message: /cannot read config file/ });
});

t.test('the command line', async (t) => {
  t.same(parseCliArgs(['c.json'], true), { config: 'c.json', output: 'table', intervalMs: 1000, stopAfterMs: null, http: null });
  t.same(parseCliArgs(['c.json'], false), { config: 'c.json', output: 'json', intervalMs: 1000, stopAfterMs: null, http: null });
  t.same(parseCliArgs(['--output', 'json', '--interval', '0.5', 'c.json', '--seconds', '10'], true), { config: 'c.json', output: 'json', intervalMs: 500, stopAfterMs: 10000, http: null });
  t.match(parseCliArgs(['--http', '0', 'c.json'], false), { http: { port: 0, host: '127.0.0.1' } });
  t.match(parseCliArgs(['--http', '9187', '--http-host', '::1', 'c.json'], false), { http: { port: 9187, host: '::1' } });
  t.same(parseCliArgs(['-h'], false), { help: true });
  t.same(parseCliArgs(['--version'], false), { version: true });
  for (const argv of [[], ['a', 'b'], ['--output', 'html', 'c'], ['--interval', '0', 'c'], ['--seconds', 'x', 'c'], ['--nope', 'c'], ['--http', '70000', 'c'], ['--http', 'x', 'c'], ['--http-host', '::1', 'c']]) {
    t.throws(() => parseCliArgs(argv, false), { code: 'BGW_ERR_CONFIG_INVALID' }, argv.join(' '));
  }
});
