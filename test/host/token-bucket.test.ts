/**
 * The control channel's rate limit (lib/host/token-bucket.ts), on a clock the test moves:
 * a full bucket per key to start, one token per take, refills at the rate up to the burst,
 * a refused take costs nothing, and keys do not share.
 */
import t from 'tap';
import { DEFAULT_RATE_LIMIT, TokenBuckets } from '../../dist/lib/host/token-bucket.js';

function clocked(limit?: ConstructorParameters<typeof TokenBuckets>[0]) {
  let now = 0;
  const buckets = new TokenBuckets(limit, () => now);
  return { buckets, advance: (ms: number) => void (now += ms) };
}

const takes = (b: TokenBuckets, key: string, n: number): boolean[] => Array.from({ length: n }, () => b.take(key));

t.test('a burst, then the refill rate', async (t) => {
  const { buckets, advance } = clocked({ perSecond: 2, burst: 3 });
  t.same(takes(buckets, 'alice', 4), [true, true, true, false], 'a new key starts full');
  advance(499);
  t.equal(buckets.take('alice'), false, 'less than one token after 499 ms at 2/s');
  advance(1);
  t.equal(buckets.take('alice'), true, 'one token after 500 ms');
  t.equal(buckets.take('alice'), false, 'and only one');
  advance(60_000);
  t.same(takes(buckets, 'alice', 4), [true, true, true, false], 'a long pause refills up to the burst, no further');
});

t.test('keys have their own buckets', async (t) => {
  const { buckets } = clocked({ perSecond: 1, burst: 1 });
  t.same([buckets.take('alice'), buckets.take('alice'), buckets.take('bob')], [true, false, true]);
});

t.test('refused takes cost nothing: a role that keeps asking is served at the rate', async (t) => {
  const { buckets, advance } = clocked({ perSecond: 10, burst: 1 });
  let served = 0;
  for (let ms = 0; ms < 1000; ms++) {
    if (buckets.take('spammer')) served++;
    advance(1);
  }
  t.equal(served, 10, '10 in one second at 10/s: the one in the bucket, then one per refill');
});

t.test('defaults and bad limits', async (t) => {
  t.same(DEFAULT_RATE_LIMIT, { perSecond: 10, burst: 20 });
  const { buckets } = clocked();
  t.equal(takes(buckets, 'k', 21).filter(Boolean).length, 20, 'a burst of 20 by default');
  for (const bad of [{ perSecond: 0 }, { perSecond: -1 }, { perSecond: Infinity }, { perSecond: NaN }, { burst: 0 }, { burst: 2.5 }]) {
    t.throws(() => new TokenBuckets(bad), { code: 'BGW_ERR_INVALID_OPTION' }, JSON.stringify(bad));
  }
});
