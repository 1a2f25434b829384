/**
 * Test helpers: a Postmaster torn down with the test, fixture paths, and event waits.
 *
 * Tests drive the built package (dist/, compiled by `npm test` before tap runs) and its
 * worker threads start without the test runner's loaders (execArgv: []): a thread then
 * starts in milliseconds, as in production, instead of compiling TypeScript on every start.
 * Coverage still maps back to lib/ through the source maps.
 */
import type { Test } from 'tap';
import { Postmaster, silentLogger, type ActivityRow, type PostmasterOptions } from '../../dist/lib/index.js';

// tap puts its process-info loader in NODE_OPTIONS, which worker threads would inherit and
// which makes every ESM thread start spin up a loader thread of its own.
delete process.env['NODE_OPTIONS'];

export const fixture = (name: string): string => new URL(`../../dist/test/fixtures/${name}.js`, import.meta.url).href;

/** A host with a silent logger, shut down (fast) at the end of the test if still running. */
export function makeHost(t: Test, options: PostmasterOptions = {}): Postmaster {
  const pm = new Postmaster({ logger: silentLogger, terminateGraceMs: 2000, quitGraceMs: 2000, execArgv: [], ...options });
  t.teardown(() => pm.shutdown('fast'));
  return pm;
}

/** Resolve with the first event `name` whose payload satisfies `pred`. */
export function nextEvent<A extends unknown[]>(
  emitter: { on(e: string, f: (...a: A) => void): unknown; off(e: string, f: (...a: A) => void): unknown },
  name: string,
  pred: (...a: A) => boolean = () => true,
): Promise<A> {
  return new Promise((resolve) => {
    const f = (...a: A): void => {
      if (!pred(...a)) return;
      emitter.off(name, f);
      resolve(a);
    };
    emitter.on(name, f);
  });
}

/** The activity row of the next stop of the worker called `name`. */
export function stoppedRow(pm: Postmaster, name: string): Promise<ActivityRow> {
  return nextEvent<[ActivityRow]>(pm, 'stopped', (r) => r.name === name).then(([r]) => r);
}
