/**
 * What the example service's host and its workers agree on: the echo segment's table of
 * contents (two queues: requests host → echo worker, replies echo worker → host) and the
 * job worker's result segment (one Float64: the count, or -1 for none yet).
 */
export const ECHO_TOC_MAGIC = 0x5e2c_0001;
export const ECHO_KEY_REQUESTS = 0;
export const ECHO_KEY_REPLIES = 1;
/** Each queue's size in bytes: 64 KiB of ring, as PostgreSQL's parallel workers use. */
export const ECHO_QUEUE_BYTES = 64 * 1024;

export interface EchoArg {
  dsm: number;
}

export interface JobArg {
  dsm: number;
  /** Count the primes below this. */
  below: number;
}

/** The result segment's size: one Float64. */
export const JOB_RESULT_BYTES = 8;
