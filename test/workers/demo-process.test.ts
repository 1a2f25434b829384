/**
 * The embedded demo as a user runs it: a separate node process running the demo host, stopped
 * with SIGINT (fast shutdown), which must then exit by itself with status 0 — no stray
 * thread or handle keeps it alive.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { within } from '../helpers/deadline.js';

const main = fileURLToPath(new URL('../../dist/workers/demo/main.js', import.meta.url));

t.test('the demo stops cleanly on SIGINT and the process exits by itself', async (t) => {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  const exited = once(child, 'exit');
  let out = '';
  const firstTable = new Promise<void>((res) =>
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      if (out.includes('(4 rows)') || out.includes('(5 rows)')) res();
    }),
  );
  await within(firstTable, "the demo's first activity table");
  child.kill('SIGINT');
  const [code] = (await within(exited, 'the demo process to exit by itself after SIGINT')) as [number | null];
  t.equal(code, 0, 'exit status 0, with no process.exit in the demo');
  t.match(out, /stopped cleanly: total (\d+) = sum of counters \1/);
});
