/**
 * A benchmark run leaves the work tree as it found it: results go to the ignored bench/out/,
 * and the committed figures (bench/results/) change only with --publish.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { childEnv, runProcess } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const status = (): string => execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root, encoding: 'utf8' });

t.test('npm run bench -- --quick --only <figure> writes bench/out/ and nothing git tracks', async (t) => {
  const before = status();
  const startedAt = Date.now();
  const run = runProcess(t, process.execPath, ['dist/bench/run.js', '--quick', '--only', 'rwlock.shared'], { cwd: root, env: childEnv() });
  t.equal(await run.exitStatus('the one-figure benchmark run to finish'), 0);
  const out = new URL('../../bench/out/latest.json', import.meta.url);
  t.ok(existsSync(out) && statSync(out).mtimeMs >= startedAt - 1000, 'bench/out/latest.json written by this run');
  const results = JSON.parse(readFileSync(out, 'utf8')) as { figures: Array<{ id: string; ours: number | null }> };
  t.ok(results.figures.some((f) => f.id === 'rwlock.shared' && typeof f.ours === 'number'), 'it holds the figure measured');
  t.equal(status(), before, 'git status is what it was before the run');
});
