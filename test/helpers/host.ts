/**
 * Test helpers: a Postmaster torn down with the test, fixture paths, and event waits.
 */
import type { Test } from 'tap';
import { Postmaster, silentLogger, type PostmasterOptions } from '../../lib/index.js';

export const fixture = (name: string): string => new URL(`../fixtures/${name}.ts`, import.meta.url).href;

/** A host with a silent logger, shut down (fast) at the end of the test if still running. */
export function makeHost(t: Test, options: PostmasterOptions = {}): Postmaster {
  const pm = new Postmaster({ logger: silentLogger, terminateGraceMs: 2000, quitGraceMs: 2000, ...options });
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
