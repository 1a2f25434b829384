/**
 * Test helpers: a deadline for every wait. A wait that never ends fails its test once the
 * deadline has passed, with an error naming what it waited for, instead of running into
 * tap's per-file timeout, which names nothing and stops every later test of the file.
 *
 * A deadline guards against a hang; it is not an assertion of speed. WAIT_MS is far above
 * how long any wait here takes on a loaded machine, and well under tap's 120 s per file.
 * The deadline's timer is cleared as soon as the wait settles, so it never keeps the
 * process alive; until then it does, so that a wait on something that can no longer
 * happen still ends in a labelled failure rather than a silent exit.
 */

export const WAIT_MS = 20_000;

export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** `promise`'s outcome, or a DeadlineError naming `what` once `ms` have passed first. */
export function within<T>(promise: PromiseLike<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `done()` holds, looking once per event-loop turn; for a condition nothing
 * notifies. Past the deadline it stops looking and fails, naming `what`.
 */
export async function pollUntil(done: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() >= deadline) throw new DeadlineError(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((res) => setImmediate(res));
  }
}
