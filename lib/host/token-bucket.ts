/**
 * Token buckets, one per key: the control channel's rate limit per requesting role.
 *
 * A bucket holds up to `burst` tokens and gains `perSecond` tokens a second; each request
 * takes one, and a request that finds less than one is refused. A key starts with a full
 * bucket. A bucket that has refilled completely is the same as no bucket, so full buckets
 * are dropped when they are next looked at: the map holds only roles that asked recently.
 *
 * Host thread only. The clock is performance.now() (monotonic: a wall-clock step neither
 * refills nor drains a bucket).
 */
import { performance } from 'node:perf_hooks';
import { InvalidOptionError } from '../errors.js';

export interface RateLimit {
  /** Tokens gained per second. Default 10. */
  perSecond?: number;
  /** Largest number of tokens a bucket holds: the longest burst taken at once. Default 20. */
  burst?: number;
}

export const DEFAULT_RATE_LIMIT: Required<RateLimit> = { perSecond: 10, burst: 20 };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit = {}, private readonly now: () => number = () => performance.now()) {
    const perSecond = limit.perSecond ?? DEFAULT_RATE_LIMIT.perSecond;
    const burst = limit.burst ?? DEFAULT_RATE_LIMIT.burst;
    if (typeof perSecond !== 'number' || !(perSecond > 0) || !Number.isFinite(perSecond)) {
      throw new InvalidOptionError(`rateLimit.perSecond must be a positive number, got ${String(perSecond)}`);
    }
    if (!Number.isInteger(burst) || burst < 1) throw new InvalidOptionError(`rateLimit.burst must be a positive integer, got ${String(burst)}`);
    this.perMs = perSecond / 1000;
    this.burst = burst;
  }

  /** Take one token from `key`'s bucket; false when it has none. */
  take(key: string): boolean {
    const t = this.now();
    const b = this.buckets.get(key);
    const tokens = b ? Math.min(this.burst, b.tokens + (t - b.at) * this.perMs) : this.burst;
    // A refusal leaves the bucket as it was: it takes nothing, and its refill is still
    // counted from the last take, not summed in small steps.
    if (tokens < 1) return false;
    this.buckets.set(key, { tokens: tokens - 1, at: t });
    return true;
  }
}
