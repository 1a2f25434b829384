/**
 * Self-fencing: the local deadline by which a host must assume it has lost its leases.
 *
 * The database sets lease_until = now() + leaseMs when it executes a renewal, and now() is
 * then no earlier than the moment the host sent it. So, counting from the moment a renewal
 * that succeeded was SENT (performance.now(): monotonic, and it keeps counting while the
 * process is paused), every lease it renewed is good for at least leaseMs. The host stops
 * its copies at
 *
 *   deadline = sentAt(last successful renewal) + leaseMs − fenceMarginMs
 *
 * unless a later renewal succeeded first: fenceMarginMs is the time the copies have to
 * stop before any other host may take their leases. No message from the database is
 * needed for this, which is the point: a host that cannot reach the database (down,
 * partitioned) or that could not run (paused by SIGSTOP, a stalled VM) stops its copies
 * at the deadline or at the first moment it runs again after it, whichever is later.
 *
 * A renewal whose answer arrives after the deadline does not count: the timer may not
 * have run yet (after a pause, I/O and timers are served in either order), so renewed()
 * checks the clock itself and fences at once.
 */
export class LeaseDeadline {
  private deadline = Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly leaseMs: number, private readonly marginMs: number, private readonly onExpire: () => void) {}

  /** A renewal sent at `sentAt` succeeded. False if it came too late: the host was fenced. */
  renewed(sentAt: number): boolean {
    const deadline = sentAt + this.leaseMs - this.marginMs;
    if (performance.now() >= deadline) {
      this.expire();
      return false;
    }
    this.deadline = deadline;
    this.arm();
    return true;
  }

  /** Milliseconds left, Infinity before the first renewal. */
  remaining(): number {
    return this.deadline - performance.now();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.deadline = Infinity;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), Math.max(0, this.deadline - performance.now()));
    this.timer.unref();
  }

  private check(): void {
    this.timer = null;
    if (performance.now() >= this.deadline) this.expire();
    else this.arm();
  }

  private expire(): void {
    this.disarm();
    this.onExpire();
  }
}
