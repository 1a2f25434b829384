/**
 * Entries of two bgworkers that ping-pong through their process latches (latch.rtt.*):
 * each sets the other's latch and waits on its own with ctx.latch.wait / waitAsync, the
 * path every worker uses (interrupt check, host-death check, then the sleep), in
 * PostgreSQL's Pattern A (reset, check for work, wait; docs/semantics.md §5.3).
 *
 * The peer's latch is taken by slot (each worker publishes its slot in the region) through the
 * worker's shm_mq endpoint, whose latchOf is the same Latch.set a "set that worker's latch"
 * call would make.
 *
 * `napper` is an idle waiter for the spin row's CPU figure: it naps on its latch with a
 * timeout, spinning before each sleep if asked to, and nobody ever sets its latch.
 */
import type { Latch } from '../../lib/shm/latch.js';
import { type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT } from '../../lib/worker/index.js';
import { PING, PING_SLOT, PONG, PONG_SLOT, serveBatches, STOP, TURN } from './pair-layout.js';

export interface PairArg {
  region: string;
  mode: 'sync' | 'async' | 'spin';
  spin: number;
}

export interface NapArg {
  region: string;
  napMs: number;
  spin: number;
}

const EVENTS = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

function publishSlot(ctx: WorkerContext, i32: Int32Array, at: number): void {
  Atomics.store(i32, at, ctx.slot + 1);
  Atomics.notify(i32, at);
}

/** The peer's process latch, once the peer has published its slot at `at`. */
function peerLatch(ctx: WorkerContext, i32: Int32Array, at: number): Latch {
  let s: number;
  while ((s = Atomics.load(i32, at)) === 0) Atomics.wait(i32, at, 0, 10);
  return ctx.mqEndpoint().latchOf(s - 1);
}

export async function ping(ctx: WorkerContext<PairArg>): Promise<void> {
  const { int32: i32, float64: f64 } = ctx.shmem(ctx.mainArg.region);
  publishSlot(ctx, i32, PING_SLOT);
  const peer = peerLatch(ctx, i32, PONG_SLOT);
  const opts = { spin: ctx.mainArg.spin };
  const myTurn = (): boolean => {
    ctx.latch.reset();
    return Atomics.load(i32, TURN) === PING;
  };
  const serve = (): void => {
    Atomics.store(i32, TURN, PONG);
    peer.set();
  };
  const roundTrip = (): number => {
    const t0 = performance.now();
    serve();
    while (!myTurn()) ctx.latch.wait(EVENTS, -1, opts);
    return performance.now() - t0;
  };
  const roundTripAsync = async (): Promise<number> => {
    const t0 = performance.now();
    serve();
    while (!myTurn()) await ctx.latch.waitAsync(EVENTS);
    return performance.now() - t0;
  };
  await serveBatches(i32, f64, ctx.mainArg.mode === 'async' ? roundTripAsync : roundTrip);
  peer.set(); // the host set STOP: let the ponger see it
}

export async function pong(ctx: WorkerContext<PairArg>): Promise<void> {
  const i32 = ctx.shmem(ctx.mainArg.region).int32;
  publishSlot(ctx, i32, PONG_SLOT);
  const peer = peerLatch(ctx, i32, PING_SLOT);
  const opts = { spin: ctx.mainArg.spin };
  for (;;) {
    ctx.latch.reset();
    if (Atomics.load(i32, STOP)) return;
    if (Atomics.load(i32, TURN) === PONG) {
      Atomics.store(i32, TURN, PING);
      peer.set();
    }
    if (ctx.mainArg.mode === 'async') await ctx.latch.waitAsync(EVENTS);
    else ctx.latch.wait(EVENTS, -1, opts);
  }
}

export function napper(ctx: WorkerContext<NapArg>): void {
  const i32 = ctx.shmem(ctx.mainArg.region).int32;
  const opts = { spin: ctx.mainArg.spin };
  while (!Atomics.load(i32, 0)) {
    ctx.latch.wait(EVENTS | WL_TIMEOUT, ctx.mainArg.napMs, opts);
    ctx.latch.reset();
  }
}
