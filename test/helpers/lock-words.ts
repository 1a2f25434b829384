/**
 * Test helpers for LWLocks seen from the host: the raw state and sleepers words of a lock in
 * a host's segment, and the hex form assertion messages use.
 *
 * The words are read through the host's internals (its SharedMemory), which the public API
 * does not expose: a test that proves a lock word ends idle has to look at the word itself.
 */
import { lockIndex, L_SLEEPERS, L_STATE, type SegmentLayout } from '../../dist/lib/shm/layout.js';
import type { Postmaster } from '../../dist/lib/index.js';

interface PostmasterInternals {
  shm: { seg: { i32: Int32Array; layout: SegmentLayout } };
}

export interface LockWords {
  readonly i32: Int32Array;
  /** Int32 index of the state word. */
  readonly stateIndex: number;
  state(): number;
  sleepers(): number;
}

/** Lock `n` of a started host: 0 is BackgroundWorkerLock, then the named locks in the order of the "locks" option. */
export function lockWords(pm: Postmaster, n: number): LockWords {
  const { i32, layout } = (pm as unknown as PostmasterInternals).shm.seg;
  const base = lockIndex(layout, n);
  return {
    i32,
    stateIndex: base + L_STATE,
    state: () => Atomics.load(i32, base + L_STATE),
    sleepers: () => Atomics.load(i32, base + L_SLEEPERS),
  };
}

/** The state word as the lock's header describes it, for assertion messages. */
export function hex(word: number): string {
  return `0x${(word >>> 0).toString(16).padStart(8, '0')}`;
}
