/**
 * The `bgworker` CLI as an operator runs it: the built bin in a child process, driven by
 * PostgreSQL's signals, read through its JSON lines or its activity table.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BGW_NEVER_RESTART } from '../../dist/lib/index.js';
import { hasLine, jsonLines, runCli, writeConfig } from '../helpers/cli.js';
import { fixture } from '../helpers/host.js';

const reloader = { name: 'reloader', module: fixture('log-on-sighup'), flags: ['BGWORKER_SHMEM_ACCESS'], restartTime: 5 };
const waiter = { name: 'waiter', module: fixture('wait-for-terminate'), flags: ['BGWORKER_SHMEM_ACCESS'], restartTime: 5 };
const base = { maxWorkerProcesses: 4, terminateGraceMs: 2000, quitGraceMs: 2000, spareThreads: 1, shmem: { test: 64 } };
const stoppedOf = (out: string, name: string) => jsonLines(out).find((l) => l['event'] === 'stopped' && l['name'] === name);

t.test('JSON lines: start, a SIGHUP reload seen by a worker, SIGTERM smart shutdown, exit 0', async (t) => {
  const config = writeConfig(t.testdir(), { ...base, workers: [reloader, waiter] });
  const cli = runCli(t, ['--output', 'json', config]);
  await cli.waitFor(hasLine({ event: 'phase', state: 'run' }), 'the host to reach phase run');
  await cli.waitFor((s) => hasLine({ event: 'started', name: 'reloader' })(s) && hasLine({ event: 'started', name: 'waiter' })(s), 'both workers to start');
  cli.child.kill('SIGHUP');
  await cli.waitFor(hasLine({ msg: 'configuration reloaded', worker: 'reloader' }), 'the reloader to log the reload');
  cli.child.kill('SIGTERM');
  t.equal(await cli.exitStatus('the CLI to exit after SIGTERM'), 0, 'exit status 0 after a clean shutdown');
  const out = cli.stdout();
  t.ok(hasLine({ msg: 'received SIGHUP, reloading configuration' })(out));
  t.ok(hasLine({ msg: 'received smart shutdown request', mode: 'smart' })(out));
  t.match(stoppedOf(out, 'waiter'), { lastExit: { kind: 'shutdown', code: 1, error: { code: 'BGW_ERR_ADMIN_SHUTDOWN' } } }, 'SIGTERM ended it');
  t.match(jsonLines(out).at(-1), { event: 'exit', status: 0 }, 'the last line is the host exit');
  t.equal(cli.stderr(), '');
});

t.test('SIGINT is a fast shutdown', async (t) => {
  const cli = runCli(t, ['--output', 'json', writeConfig(t.testdir(), { ...base, workers: [waiter] })]);
  await cli.waitFor(hasLine({ event: 'started', name: 'waiter' }), 'the waiter to start');
  cli.child.kill('SIGINT');
  t.equal(await cli.exitStatus('the CLI to exit after SIGINT'), 0);
  t.ok(hasLine({ msg: 'received fast shutdown request', mode: 'fast' })(cli.stdout()));
  t.match(stoppedOf(cli.stdout(), 'waiter'), { lastExit: { kind: 'shutdown', code: 1 } });
});

t.test('SIGQUIT is an immediate shutdown: workers quit at once (exit 2)', async (t) => {
  const cli = runCli(t, ['--output', 'json', writeConfig(t.testdir(), { ...base, workers: [waiter] })]);
  await cli.waitFor(hasLine({ event: 'started', name: 'waiter' }), 'the waiter to start');
  cli.child.kill('SIGQUIT');
  t.equal(await cli.exitStatus('the CLI to exit after SIGQUIT'), 0);
  t.ok(hasLine({ msg: 'received immediate shutdown request', mode: 'immediate' })(cli.stdout()));
  t.match(stoppedOf(cli.stdout(), 'waiter'), { lastExit: { kind: 'immediate', code: 2 } });
});

t.test('a host that dies (a crash with restartAfterCrash off) exits 1', async (t) => {
  const crasher = { name: 'crasher', module: fixture('process-exit'), flags: ['BGWORKER_SHMEM_ACCESS'], mainArg: { code: 3 } };
  const cli = runCli(t, ['--output', 'json', writeConfig(t.testdir(), { ...base, restartAfterCrash: false, workers: [waiter, crasher] })]);
  t.equal(await cli.exitStatus('the CLI to exit once its host died'), 1);
  const out = cli.stdout();
  t.ok(hasLine({ event: 'crash', name: 'crasher' })(out));
  t.match(jsonLines(out).at(-1), { event: 'exit', status: 1, level: 'error' });
});

t.test('the activity table, with module paths relative to the config file', async (t) => {
  const dir = t.testdir({ 'done.js': 'export function main() {}\n' });
  const once = { name: 'one-shot', module: './done.js', restartTime: BGW_NEVER_RESTART };
  const cli = runCli(t, ['--output', 'table', '--interval', '0.05', writeConfig(dir, { ...base, workers: [waiter, once] })]);
  await cli.waitFor((s) => /^\d+ +\| waiter +\| waiter +\| running +\| \d+/m.test(s) && s.includes('(1 row)'), 'a table with the waiter running alone');
  t.match(cli.stdout(), /slot \| name +\| type +\| state +\| pid +\| uptime \| restarts \| last exit/);
  t.match(cli.stdout(), /host run — slots 1\/4 used/, 'the one-shot ran, exited 0 and freed its slot');
  cli.child.kill('SIGINT');
  t.equal(await cli.exitStatus('the CLI to exit after SIGINT'), 0);
  t.match(cli.stdout(), /INFO +received fast shutdown request/);
  t.match(cli.stdout(), /host exited with status 0\n$/);
});

t.test('--seconds stops the host by itself, even before it has finished starting', async (t) => {
  const cli = runCli(t, ['--seconds', '0.001', writeConfig(t.testdir(), { ...base, workers: [waiter] })]);
  t.equal(await cli.exitStatus('the CLI to stop by itself after --seconds'), 0);
  t.ok(hasLine({ msg: 'received fast shutdown request', signal: 'time is up' })(cli.stdout()), 'not a TTY: JSON lines by default');
});

t.test('usage and config errors exit 2 with the error code on stderr', async (t) => {
  const help = runCli(t, ['--help']);
  t.equal(await help.exitStatus('bgworker --help to exit'), 0);
  t.match(help.stdout(), /^usage: bgworker/);
  const dir = t.testdir();
  writeFileSync(join(dir, 'bad.json'), '{ "workers": [ ');
  for (const [args, code] of [
    [[], 'BGW_ERR_CONFIG_INVALID'],
    [[join(dir, 'bad.json')], 'BGW_ERR_CONFIG_INVALID'],
    [[writeConfig(dir, { workers: [{ name: 'x', module: './missing.js' }] }, 'missing.json')], 'BGW_ERR_MODULE_NOT_FOUND'],
    [[writeConfig(dir, { maxWorkerProcesses: 0 }, 'zero.json')], 'BGW_ERR_INVALID_OPTION'],
  ] as const) {
    const cli = runCli(t, [...args]);
    t.equal(await cli.exitStatus(`the CLI to refuse its arguments with ${code}`), 2, code);
    t.match(cli.stderr(), new RegExp(`^bgworker: .*\\(${code}\\)`));
  }
});

t.test('bad values in the config exit 2 with one line on stderr that names the problem', async (t) => {
  const dir = t.testdir({ 'w.js': 'export function main() {}\n', lib: {} });
  const one = (w: object) => ({ workers: [{ name: 'w', module: './w.js', ...w }] });
  const cases: Array<[string, object, string, RegExp]> = [
    ['extra', one({ extra: '!!!notbase64' }), 'BGW_ERR_CONFIG_INVALID', /workers\[0\]\.extra of worker "w" is not base64/],
    ['execArgv', { execArgv: ['--bogus'] }, 'BGW_ERR_INVALID_OPTION', /execArgv\[0\] "--bogus" is not a Node flag/],
    ['worker-refused flag', { execArgv: ['--expose-gc'] }, 'BGW_ERR_THREAD_START_FAILED', /could not start a worker thread/],
    ['module directory', one({ module: './lib' }), 'BGW_ERR_MODULE_NOT_FOUND', /is a directory, not a file/],
    ['preload directory', { preload: ['./lib'] }, 'BGW_ERR_MODULE_NOT_FOUND', /is a directory, not a file/],
    ['preload missing', { preload: ['./missing.js'] }, 'BGW_ERR_MODULE_NOT_FOUND', /does not exist/],
    ['restartIntensity', { restartIntensity: { maxRestarts: -1 } }, 'BGW_ERR_INVALID_OPTION', /restartIntensity\.maxRestarts must be/],
    ['shmem size', { shmem: { big: 2 ** 31 } }, 'BGW_ERR_INVALID_OPTION', /shmem region "big"/],
    ['escape in a name', one({ name: 'evil\u001b[2J' }), 'BGW_ERR_INVALID_NAME', /name "evil\\x1b\[2J" contains control characters/],
  ];
  for (const [what, config, code, message] of cases) {
    const cli = runCli(t, ['--output', 'json', writeConfig(dir, config, `${what.replaceAll(' ', '-')}.json`)]);
    t.equal(await cli.exitStatus(`the CLI to refuse ${what}`), 2, `${what}: exit 2`);
    t.match(cli.stderr(), new RegExp(`^bgworker: [^\\n]*\\(${code}\\); bgworker --help for usage\\n$`), `${what}: one line with ${code}`);
    t.match(cli.stderr(), message, `${what}: the message says what is wrong`);
    t.notMatch(cli.stderr().slice(0, -1), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, `${what}: no raw control character`);
    t.equal(cli.stdout().includes('"event":"started"'), false, `${what}: no worker was started`);
  }
});

/** An OSC title change, a screen clear, an 8-bit CSI, a line separator and a forged log line. */
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\u009b31m\u2028x\nINFO  forged';
const ESCAPED = '\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u2028x\\nINFO  forged';
const hostile = { name: 'hostile', module: fixture('hostile-text'), restartTime: 3600, mainArg: { text: HOSTILE } };

t.test('the table view escapes what workers log and the errors they exit with', async (t) => {
  const cli = runCli(t, ['--output', 'table', '--interval', '0.05', writeConfig(t.testdir(), { ...base, workers: [hostile] })]);
  await cli.waitFor((s) => s.includes(`error (1): exit ${ESCAPED}`) && s.includes(`[hostile] log ${ESCAPED}`), 'the table to show the exit and the log line');
  cli.child.kill('SIGINT');
  t.equal(await cli.exitStatus('the CLI to exit after SIGINT'), 0);
  const screens = cli.stdout().replaceAll('\u001b[H\u001b[2J', '');
  t.notMatch(screens, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/, 'no control character but newline, besides the view\'s own screen clear');
  t.notMatch(screens, /^INFO +forged/m, 'no forged log line');
});

t.test('the JSON view keeps the text exact and escapes what JSON.stringify leaves raw', async (t) => {
  const cli = runCli(t, ['--output', 'json', writeConfig(t.testdir(), { ...base, workers: [hostile] })]);
  await cli.waitFor(hasLine({ event: 'stopped', name: 'hostile' }), 'the hostile worker to stop');
  cli.child.kill('SIGINT');
  t.equal(await cli.exitStatus('the CLI to exit after SIGINT'), 0);
  t.notMatch(cli.stdout(), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/, 'C0, DEL, C1 and the separators are all \\u escapes');
  t.ok(hasLine({ msg: `log ${HOSTILE}`, worker: 'hostile' })(cli.stdout()), 'and the line parses back to the exact text');
  t.match(stoppedOf(cli.stdout(), 'hostile'), { lastExit: { error: { message: `exit ${HOSTILE}` } } });
});
