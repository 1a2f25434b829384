/**
 * tinypool task for mem.worker.tinypool: it counts itself in `up` and blocks until all
 * `count` tasks have begun, so that each of the pool's threads has run one task (as each of
 * our workers has run its entry) before the probe reads RSS.
 */
export default function task({ up, count }: { up: SharedArrayBuffer; count: number }): number {
  const i32 = new Int32Array(up);
  Atomics.add(i32, 0, 1);
  Atomics.notify(i32, 0);
  for (let n = Atomics.load(i32, 0); n < count; n = Atomics.load(i32, 0)) {
    if (Atomics.wait(i32, 0, n, 10_000) === 'timed-out') throw new Error(`only ${n} of ${count} tinypool threads began a task`);
  }
  return count;
}
