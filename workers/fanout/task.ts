/** A short CPU task for the fan-out pool: how many primes lie in [from, to). */
export default function countPrimes({ from, to }: { from: number; to: number }): number {
  let n = 0;
  for (let k = Math.max(2, from); k < to; k++) {
    let prime = true;
    for (let d = 2; d * d <= k; d++) {
      if (k % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) n++;
  }
  return n;
}
