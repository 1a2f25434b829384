/** worker_spi's configuration, shared by the worker and the host-side launcher. */
export const WORKER_SPI_REGION = 'worker_spi';
/** The region's size: cell 0 is the naptime in ms (the worker_spi.naptime GUC). */
export const WORKER_SPI_REGION_BYTES = 64;
export const WORKER_SPI_DEFAULT_NAPTIME_MS = 10_000;

export interface WorkerSpiArg {
  /** bgw_main_arg: the worker's number i, and so its schema, schema<i>. */
  index: number;
  /** worker_spi.database; the host's default database when unset. */
  database?: string;
  /** worker_spi.role; the host's default user when unset. */
  role?: string;
}
