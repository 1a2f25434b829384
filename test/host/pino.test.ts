/**
 * The host's logger as pino: every worker life logs through its own child,
 * logger.child({ worker, type, pid, slot }), so its lines carry them as pino bindings;
 * the lines go to the stream pino writes to, as JSON.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import pino from 'pino';
import { BGWORKER_SHMEM_ACCESS, type ActivityRow } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';

t.test('a pino logger given to the host gives each worker a child bound to worker, type, pid, slot', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  let wrote: () => void = () => {};
  const written = new Promise<void>((res) => (wrote = res));
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      if (lines.some((l) => l['msg'] === 'hello from a worker')) wrote();
      cb();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  const bindings: Array<Record<string, unknown>> = [];
  const child = logger.child.bind(logger);
  logger.child = ((b: Record<string, unknown>) => {
    bindings.push(b);
    return child(b);
  }) as typeof logger.child;
  const pm = makeHost(t, { logger });
  await pm.start();
  const started = nextEvent<[ActivityRow]>(pm, 'started', 'the worker to start');
  await pm.registerDynamicBackgroundWorker({ name: 'talker', type: 'talkers', module: fixture('log-fields'), flags: BGWORKER_SHMEM_ACCESS });
  const [row] = await started;
  await within(written, 'the worker\'s line to reach the pino stream');
  const line = lines.find((l) => l['msg'] === 'hello from a worker')!;
  t.match(line, { level: 30, worker: 'talker', type: 'talkers', pid: row.pid, slot: row.slot, answer: 42 }, 'bindings and the line\'s own fields');
  t.same(bindings, [{ worker: 'talker', type: 'talkers', pid: row.pid, slot: row.slot }], 'through one child for the life');
});
