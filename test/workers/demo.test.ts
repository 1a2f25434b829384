/** The demo host runs, keeps its shared-memory invariant, and stops by itself. */
import t from 'tap';
import { Writable } from 'node:stream';
import { runDemo } from '../../dist/workers/demo/main.js';
import { within } from '../helpers/deadline.js';
import '../helpers/host.js';

t.test('runDemo: counters consistent under the lock, one-shot checkers ran, clean stop', async (t) => {
  let text = '';
  const out = new Writable({ write: (chunk, _e, cb) => ((text += String(chunk)), cb()) });
  const s = await within(runDemo({ seconds: 4.5, out, execArgv: [] }), 'the demo to run for 4.5 s and stop');
  t.ok(s.total > 0, `counted ${s.total}`);
  t.equal(s.total, s.sumOfCounters, 'total equals the sum of the per-worker cells');
  t.ok(s.checks >= 1, `${s.checks} one-shot checks ran`);
  t.equal(s.mismatches, 0);
  t.match(text, /stopped cleanly/);
  t.match(text, /check #1/);
  t.match(text, /audit schedule: [1-9]\d* of [1-9]\d* runs succeeded/, 'the scheduled audit ran');
});
