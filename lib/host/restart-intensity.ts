/**
 * Restart intensity, after Erlang/OTP supervisors: PostgreSQL restarts a failing worker
 * forever (docs/semantics.md §8.11, restart storms); a service wants a brake.
 *
 * Every relaunch of a worker whose last exit was a real error or crash (exit-status.ts:
 * countsForRestartBrake) is counted, per worker and for the whole host, in a sliding window
 * of `withinSeconds`. Relaunches after a stop somebody asked for are not counted, nor are
 * those of bystanders stopped by another worker's crash (kind crash_restart), nor exits
 * caused by a database outage (below). A relaunch that would make a worker's count exceed
 * `maxRestarts`, or the host's exceed `hostMaxRestarts`, is refused: the worker is marked
 * failed (state 'failed', event 'failed') and stays registered until terminated.
 * Relaunches also back off: with k relaunches already in the window the delay is at least
 * min(backoffMaxMs, backoffBaseMs × 2^(k-1)), on top of bgw_restart_time.
 *
 * Defaults: 5 relaunches per worker and 50 per host within 30 s; backoff from 250 ms up to
 * 30 s. A worker whose restartTime is 6 s or more never trips the per-worker limit;
 * `restartIntensity: false` restores PostgreSQL's restart-forever behaviour. The options are
 * checked when the host is made (checkRestartIntensity): whole numbers, the two limits also
 * Infinity, no unknown names; a value left undefined takes its default.
 *
 * Database outages. An exit because the database could not be reached (exit-status.ts:
 * outage) is never counted and never marks a worker failed, however long the outage lasts;
 * the relaunch waits min(outageBackoffMaxMs, outageBackoffBaseMs × 2^(k-1)) plus up to a
 * fifth more at random (so that many workers do not reconnect in step), on top of
 * bgw_restart_time, where k counts the worker's consecutive outage exits. k starts again
 * at 1 after a life that ran for outageBackoffMaxMs or longer, and at 0 after any other
 * exit. Defaults: 500 ms doubling up to 30 s. This holds with `restartIntensity: false` too.
 */
import { InvalidOptionError } from '../errors.js';
import { printable } from '../printable.js';

export interface RestartIntensityOptions {
  maxRestarts?: number;
  hostMaxRestarts?: number;
  withinSeconds?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  outageBackoffBaseMs?: number;
  outageBackoffMaxMs?: number;
}

const DEFAULTS: Required<RestartIntensityOptions> = {
  maxRestarts: 5,
  hostMaxRestarts: 50,
  withinSeconds: 30,
  backoffBaseMs: 250,
  backoffMaxMs: 30_000,
  outageBackoffBaseMs: 500,
  outageBackoffMaxMs: 30_000,
};
const OUTAGE_JITTER = 0.2;

/** The least each option may be; the two limits may also be Infinity (no limit). */
const MINIMUM: Record<keyof RestartIntensityOptions, number> = {
  maxRestarts: 0,
  hostMaxRestarts: 0,
  withinSeconds: 1,
  backoffBaseMs: 0,
  backoffMaxMs: 0,
  outageBackoffBaseMs: 0,
  outageBackoffMaxMs: 0,
};
const UNLIMITED = new Set<string>(['maxRestarts', 'hostMaxRestarts']);

/** @throws {BGW_ERR_INVALID_OPTION} unless `o` is undefined, false or an object of known options in range */
export function checkRestartIntensity(o: unknown): void {
  if (o === undefined || o === false) return;
  const names = Object.keys(MINIMUM);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new InvalidOptionError(`restartIntensity must be false or an object of { ${names.join(', ')} }`);
  }
  for (const [k, v] of Object.entries(o)) {
    if (!Object.hasOwn(MINIMUM, k)) {
      throw new InvalidOptionError(`unknown restartIntensity option "${printable(k)}"; known are ${names.join(', ')}`);
    }
    if (v === undefined || (v === Infinity && UNLIMITED.has(k))) continue;
    const min = MINIMUM[k as keyof RestartIntensityOptions];
    if (!Number.isSafeInteger(v) || (v as number) < min) {
      const or = UNLIMITED.has(k) ? ', or Infinity for no limit' : '';
      throw new InvalidOptionError(`restartIntensity.${k} must be a whole number of at least ${min}${or}; got ${printable(String(v))}`);
    }
  }
}

/** The options given, without the ones left undefined, over the defaults. */
function withDefaults(options: RestartIntensityOptions): Required<RestartIntensityOptions> {
  const given = Object.entries(options).filter(([, v]) => v !== undefined);
  return { ...DEFAULTS, ...(Object.fromEntries(given) as RestartIntensityOptions) };
}

/** One window of relaunch times. */
class Window {
  private times: number[] = [];
  constructor(private readonly spanMs: number) {}
  count(now: number): number {
    this.times = this.times.filter((t) => now - t < this.spanMs);
    return this.times.length;
  }
  add(now: number): void {
    this.times.push(now);
  }
}

export class RestartIntensity {
  private readonly o: Required<RestartIntensityOptions>;
  private host: Window;
  private readonly perWorker = new WeakMap<object, Window>();

  constructor(options: RestartIntensityOptions | false | undefined) {
    this.o = options === false
      ? { ...DEFAULTS, maxRestarts: Infinity, hostMaxRestarts: Infinity, backoffBaseMs: 0 }
      : withDefaults(options ?? {});
    this.host = new Window(this.o.withinSeconds * 1000);
  }

  /** The delay before the relaunch after the k-th consecutive outage exit (k ≥ 1). */
  outageBackoffMs(k: number): number {
    const base = Math.min(this.o.outageBackoffMaxMs, this.o.outageBackoffBaseMs * 2 ** (k - 1));
    return base * (1 + Math.random() * OUTAGE_JITTER);
  }

  /** The consecutive-outage count after an exit: a long life starts the count again. */
  nextOutageCount(previous: number, outage: boolean, lifeMs: number): number {
    if (!outage) return 0;
    return lifeMs >= this.o.outageBackoffMaxMs ? 1 : previous + 1;
  }

  /**
   * An operator reset a failed worker (pm.resetFailed): forget its relaunches, and the
   * host's, so that the next relaunch is admitted whichever limit refused the last one.
   */
  forget(worker: object): void {
    this.perWorker.delete(worker);
    this.host = new Window(this.o.withinSeconds * 1000);
  }

  private window(worker: object): Window {
    let w = this.perWorker.get(worker);
    if (!w) this.perWorker.set(worker, (w = new Window(this.o.withinSeconds * 1000)));
    return w;
  }

  /** The backoff a relaunch of `worker` waits at least, after its last stop. */
  backoffMs(worker: object, now: number): number {
    const k = this.window(worker).count(now);
    return k === 0 || this.o.backoffBaseMs === 0 ? 0 : Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (k - 1));
  }

  /** Count a relaunch, or refuse it when a limit would be exceeded. */
  admit(worker: object, now: number): boolean {
    const w = this.window(worker);
    if (w.count(now) >= this.o.maxRestarts || this.host.count(now) >= this.o.hostMaxRestarts) return false;
    w.add(now);
    this.host.add(now);
    return true;
  }

  describe(): string {
    return `${this.o.maxRestarts} per worker / ${this.o.hostMaxRestarts} per host within ${this.o.withinSeconds} s`;
  }
}
