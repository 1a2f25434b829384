/**
 * worker_spi on the host side: the static registrations of _PG_init and worker_spi_launch().
 *
 * A host that runs worker_spi requests its shared-memory region (`workerSpiShmem`) and sets
 * the naptime with `setWorkerSpiNaptime` followed by pm.reloadConfig().
 */
import { fileURLToPath } from 'node:url';
import {
  BGW_NEVER_RESTART, BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_SHMEM_ACCESS, BgWorkerStartTime,
  BgwHandleStatus, type BackgroundWorker, type Postmaster,
} from '../../lib/index.js';
import { WORKER_SPI_REGION, WORKER_SPI_REGION_BYTES, type WorkerSpiArg } from './config.js';

const workerModule = fileURLToPath(new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export const workerSpiShmem = { [WORKER_SPI_REGION]: WORKER_SPI_REGION_BYTES };

export function setWorkerSpiNaptime(pm: Postmaster, ms: number): void {
  Atomics.store(pm.shmem(WORKER_SPI_REGION).int32, 0, ms);
}

function workerSpi(name: string, type: string, arg: WorkerSpiArg): BackgroundWorker<WorkerSpiArg> {
  return {
    name, type, module: workerModule, function: 'worker_spi_main',
    flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
    startTime: BgWorkerStartTime.RecoveryFinished, restartTime: BGW_NEVER_RESTART, mainArg: arg,
  };
}

/** _PG_init's loop: static workers 1..total, on the configured database and role. */
export function registerWorkerSpi(pm: Postmaster, total: number, conf: Omit<WorkerSpiArg, 'index'> = {}): void {
  for (let i = 1; i <= total; i++) pm.registerBackgroundWorker(workerSpi(`worker_spi worker ${i}`, 'worker_spi', { ...conf, index: i }));
}

/**
 * worker_spi_launch(index, database, role): the pid of the started worker, null when no
 * slot is free; throws if it stopped before starting or the host is gone.
 */
export async function workerSpiLaunch(pm: Postmaster, index: number, conf: Omit<WorkerSpiArg, 'index'> = {}): Promise<number | null> {
  const h = await pm.registerDynamicBackgroundWorker(workerSpi(`worker_spi dynamic worker ${index}`, 'worker_spi dynamic', { ...conf, index }));
  if (!h) return null;
  const s = await h.waitForStartup();
  if (s.status === BgwHandleStatus.Stopped) throw new Error('could not start background process: more details may be available in the host log');
  if (s.status === BgwHandleStatus.PostmasterDied) throw new Error('cannot start background processes without postmaster');
  return s.pid!;
}
