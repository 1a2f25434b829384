/**
 * The fleet's tick schedule: one tick at a time, a tick at most `periodMs` after the start
 * of the previous one, and early ticks on demand — at most one per `minGapMs`, so a flood
 * of NOTIFYs costs a bounded number of heartbeats.
 *
 * kick(delay) asks for a tick within `delay` (an earlier request wins); a request that
 * arrives while a tick runs is kept and served minGapMs after it. A tick that throws is
 * logged and the schedule goes on. stop() ends it; the tick in flight, if any, is `running`.
 */
import type { Logger } from '../types.js';

export class Ticker {
  private timer: NodeJS.Timeout | null = null;
  private due = Infinity;
  private again = false;
  private stopped = false;
  /** The tick in flight, if any. */
  running: Promise<void> | null = null;
  /** performance.now() at the start of the latest tick. */
  lastStart = -Infinity;

  constructor(private readonly periodMs: number, private readonly minGapMs: number, private readonly tick: () => Promise<void>, private readonly log: Logger) {}

  /** A tick within `delayMs`, or sooner if one is already due sooner. */
  kick(delayMs: number): void {
    if (this.stopped) return;
    const due = performance.now() + delayMs;
    if (this.timer && this.due <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.due = Infinity;
      void this.run();
    }, Math.max(0, delayMs));
  }

  /** An early tick, no sooner than minGapMs after the start of the last one. */
  soon(): void {
    this.kick(Math.max(0, this.lastStart + this.minGapMs - performance.now()));
  }

  /** Run a tick now (or once the one in flight is done); resolves when it has run. */
  async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const started = performance.now();
    this.lastStart = started;
    this.running = this.tick()
      .catch((err: Error) => this.log.error({ err }, `fleet: tick failed: ${err.message}`))
      .finally(() => (this.running = null));
    await this.running;
    if (this.again) {
      this.again = false;
      this.kick(this.minGapMs);
    }
    this.kick(Math.max(0, started + this.periodMs - performance.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
