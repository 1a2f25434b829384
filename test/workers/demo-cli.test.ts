/**
 * `npm start`: the demo run by the bgworker CLI from workers/demo/bgworker.json — counters
 * under one LWLock, a ticker that hears SIGHUP, and a checker registered every two seconds
 * by the scheduler worker and the configured "audit" schedule, each check finding the total equal to the sum of the counters.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { hasLine, jsonLines, runCli } from '../helpers/cli.js';

const config = fileURLToPath(new URL('../../workers/demo/bgworker.json', import.meta.url));
const checks = (out: string) => jsonLines(out).filter((l) => l['type'] === 'checker' && typeof l['worker'] === 'string');

t.test('the demo through the CLI: checks every two seconds, a SIGHUP reload, Ctrl-C', async (t) => {
  const cli = runCli(t, ['--output', 'json', config]);
  await cli.waitFor((s) => checks(s).length >= 2, 'two checks by the scheduled checker');
  for (const c of checks(cli.stdout())) t.match(c['msg'], /^check #\d+: total (\d+), sum of counters \1$/);
  await cli.waitFor((s) => jsonLines(s).some((l) => l['event'] === 'schedule.finish' && l['schedule'] === 'audit' && l['status'] === 'success'), 'a run of the scheduled audit');
  cli.child.kill('SIGHUP');
  await cli.waitFor(hasLine({ msg: 'configuration reloaded', worker: 'ticker' }), 'the ticker to log the reload');
  cli.child.kill('SIGINT');
  t.equal(await cli.exitStatus('the CLI to exit after SIGINT'), 0);
  t.match(jsonLines(cli.stdout()).at(-1), { event: 'exit', status: 0 });
});
