/**
 * Words of the rwlock benches' SharedArrayBuffer, each group on its own cache line: the
 * LWLock (state, sleepers), the baseline futex mutex, the bare CAS word, start/stop flags,
 * and the data the read and write sections touch: a write section writes SECTION_WORDS of
 * them, a read section reads SECTION_WORDS or, for the long-read variant, all DATA_WORDS.
 */
export const LOCK = 0;
export const MUTEX = 16;
export const BARE = 32;
export const GO = 48;
export const STOP = 49;
export const DATA = 64;
export const SECTION_WORDS = 256;
export const DATA_WORDS = 4096;
export const RWLOCK_BYTES = 4 * (DATA + DATA_WORDS);

export type RwOp =
  | { op: 'solo'; kind: 'shared' | 'exclusive' | 'bare'; n: number }
  | { op: 'mixed'; kind: 'rwlock' | 'mutex'; readWords: number }
  | { op: 'reader'; holdUs: number }
  | { op: 'writer'; samples: number; gapMs: number };
