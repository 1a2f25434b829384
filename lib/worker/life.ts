/**
 * One worker life in a thread. A thread runs one life and exits, as a forked backend does —
 * unless its worker was registered reusable (beyond PostgreSQL), when a clean end returns
 * the thread to the host's pool and a later life of the same module runs in it.
 *
 * Every worker-side file that keeps per-life state (signal handlers and the abort signal,
 * exit callbacks, the database connection, LISTEN port, readiness, hazard counts, MyProc)
 * registers a reset here; `beginLife` runs them all before a life starts, so nothing of one
 * life's runtime state is seen by the next. What survives is the user's own module state —
 * the point of reuse, and what the registration accepts by asking for it.
 */
const resets: Array<() => void> = [];

/** Register how a file forgets one life's state. */
export function onNewLife(reset: () => void): void {
  resets.push(reset);
}

export function beginLife(): void {
  for (const reset of resets) reset();
}
