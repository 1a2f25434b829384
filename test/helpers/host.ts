/**
 * Test helpers: a Postmaster torn down with the test, fixture paths, and event waits that
 * fail with a label once their deadline has passed (see deadline.ts).
 *
 * Tests drive the built package (dist/, compiled by `npm test` before tap runs) and its
 * worker threads start without the test runner's loaders (execArgv: []): a thread then
 * starts in milliseconds, as in production, instead of compiling TypeScript on every start.
 * Coverage still maps back to lib/ through the source maps.
 */
import type { Test } from 'tap';
import { Postmaster, silentLogger, type ActivityRow, type PostmasterOptions, type ShutdownMode } from '../../dist/lib/index.js';
import { WAIT_MS, within } from './deadline.js';

// tap puts its process-info loader in NODE_OPTIONS, which worker threads would inherit and
// which makes every ESM thread start spin up a loader thread of its own.
delete process.env['NODE_OPTIONS'];

export const fixture = (name: string): string => new URL(`../../dist/test/fixtures/${name}.js`, import.meta.url).href;

/** The real host, except that start() and shutdown() fail with a label instead of hanging. */
class DeadlinedPostmaster extends Postmaster {
  override start(opts?: { ready?: boolean }): Promise<void> {
    return within(super.start(opts), 'the host to start');
  }

  override shutdown(mode: ShutdownMode = 'fast'): Promise<void> {
    return within(super.shutdown(mode), `the host's ${mode} shutdown to complete`);
  }
}

/** A host with a silent logger, shut down (fast) at the end of the test if still running. */
export function makeHost(t: Test, options: PostmasterOptions = {}): Postmaster {
  const pm = new DeadlinedPostmaster({ logger: silentLogger, terminateGraceMs: 2000, quitGraceMs: 2000, execArgv: [], ...options });
  t.teardown(() => pm.shutdown('fast'));
  return pm;
}

interface Emitter<A extends unknown[]> {
  on(e: string, f: (...a: A) => void): unknown;
  off(e: string, f: (...a: A) => void): unknown;
}

/**
 * Resolves with the payloads of the first `n` events `name` that satisfy `pred`; fails
 * past the deadline, naming `what`. The listener goes either way.
 */
export function nextEvents<A extends unknown[]>(
  emitter: Emitter<A>,
  name: string,
  n: number,
  what: string,
  pred: (...a: A) => boolean = () => true,
  ms = WAIT_MS,
): Promise<A[]> {
  const seen: A[] = [];
  let f: (...a: A) => void = () => undefined;
  const all = new Promise<A[]>((resolve) => {
    f = (...a) => {
      if (pred(...a) && seen.push(a) === n) resolve(seen);
    };
    emitter.on(name, f);
  });
  return within(all, `${what} ('${name}' event${n === 1 ? '' : ` ×${n}`})`, ms).finally(() => emitter.off(name, f));
}

/** Resolves with the first event `name` whose payload satisfies `pred`; fails past the deadline, naming `what`. */
export function nextEvent<A extends unknown[]>(
  emitter: Emitter<A>,
  name: string,
  what: string,
  pred: (...a: A) => boolean = () => true,
  ms = WAIT_MS,
): Promise<A> {
  return nextEvents(emitter, name, 1, what, pred, ms).then(([a]) => a!);
}

/** The activity row of the next stop of the worker called `name`. */
export function stoppedRow(pm: Postmaster, name: string, ms = WAIT_MS): Promise<ActivityRow> {
  return nextEvent<[ActivityRow]>(pm, 'stopped', `worker "${name}" to stop`, (r) => r.name === name, ms).then(([r]) => r);
}

/** The activity row of the start of the worker called `name` after `restarts` restarts. */
export function startedRow(pm: Postmaster, name: string, restarts = 0, ms = WAIT_MS): Promise<ActivityRow> {
  const what = restarts === 0 ? `worker "${name}" to start` : `worker "${name}" to start again (restart ${restarts})`;
  return nextEvent<[ActivityRow]>(pm, 'started', what, (r) => r.name === name && r.restarts === restarts, ms).then(([r]) => r);
}
