/**
 * Text a worker supplies (log lines, activity, the error it exits with) cannot be refused,
 * so everything that prints it for a person escapes control characters: the console
 * logger and formatActivity, seen from a host in a child process (the CLI's views are
 * tested in test/cli/cli.test.ts).
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { formatActivity, type ActivityRow } from '../../dist/lib/index.js';
import { runProcess } from '../helpers/cli.js';
import { fixture } from '../helpers/host.js';

/** An OSC title change, a screen clear, an 8-bit CSI, a line separator and a forged log line. */
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\u009b31m\u2028x\nINFO: forged';
const ESCAPED = '\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u2028x\\nINFO: forged';
/** Every control character but the newline that ends a line. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

t.test('the console logger and formatActivity print worker-supplied text escaped', async (t) => {
  const host = runProcess(t, process.execPath, [fileURLToPath(fixture('hostile-text-host')), HOSTILE]);
  t.equal(await host.exitStatus('the hostile-text host to run its worker and exit'), 0);
  const stderr = host.stderr();
  t.notMatch(stderr, RAW_CONTROL, 'no raw control character reaches stderr');
  t.ok(stderr.includes(`WARN: log ${ESCAPED}`), 'the log message, escaped');
  t.ok(stderr.includes(`detail=field ${ESCAPED}`), 'a field value, escaped');
  t.ok(stderr.includes(`key${ESCAPED}=1`), 'a field name, escaped');
  t.notOk(/^INFO: forged/m.test(stderr), 'no forged line of its own');
  const stdout = host.stdout();
  t.notMatch(stdout, RAW_CONTROL, 'no raw control character in the table');
  t.ok(stdout.includes(`error (1): exit ${ESCAPED}`), 'the last exit message, escaped');
});

t.test('formatActivity escapes every cell and measures the escaped text', async (t) => {
  const row: ActivityRow = {
    slot: 0, name: 'a\u001bb', type: 'c\u0085d', dynamic: true, state: 'waiting_restart', pid: null, startedAt: null, readyAt: null, restarts: 0, activity: HOSTILE,
    lastExit: { code: 1, kind: 'error', error: { name: 'Error', message: `exit ${HOSTILE}` }, at: new Date(0) },
  };
  const table = formatActivity([row]);
  t.notMatch(table, RAW_CONTROL);
  const lines = table.split('\n');
  t.match(lines[2], /^0 +\| a\\x1bb \| c\\x85d \| waiting/);
  t.equal(lines[0]!.indexOf('| type'), lines[2]!.indexOf('| c\\x85d'), 'columns line up on the escaped width');
});
