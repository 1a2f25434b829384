/**
 * test_shm_mq's shared layout (test_shm_mq.h): one dynamic shared-memory segment with a
 * table of contents. Key 0 holds the header, keys 1..nworkers+1 the queues. The leader (the
 * host) sends on queue 1 and receives on queue nworkers+1; worker k receives on queue k and
 * sends on queue k+1.
 */
export const PG_TEST_SHM_MQ_MAGIC = 0x79fb2447;

/** Int32 cells of the header chunk (PostgreSQL guards the counters with a spinlock; these are atomic adds). */
export const HDR_WORKERS_TOTAL = 0;
export const HDR_WORKERS_ATTACHED = 1;
export const HDR_WORKERS_READY = 2;
export const HDR_BYTES = 16;

export interface TestShmMqArg {
  /** The segment's dsm handle (bgw_main_arg). */
  dsm: number;
  /** The leader's proc number: its latch is set when this worker is ready (bgw_notify_pid's PGPROC). */
  leader: number;
}
