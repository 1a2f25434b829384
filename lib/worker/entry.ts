/**
 * The file every bgworker thread runs: InitPostmasterChild + BackgroundWorkerMain.
 *
 * Life of a thread:
 *   1. spare: attach the segment, preload the modules the host names (its
 *      shared_preload_libraries, so a launch does not pay for loading), post `ready`;
 *   2. `launch`: take the slot, flip the dead-man switch to ACTIVE, import the module,
 *      find the export, call it with signals held until its first synchronous lines ran
 *      (a worker whose readiness is 'entry' is declared ready just before);
 *   3. exit: the entry resolved → exit 0; it threw → log, exit 1 (the ERROR/FATAL path);
 *      a reusable worker's clean end instead keeps the thread for another life of its
 *      module (proc-exit.ts), which starts again at 2 with every per-life state reset.
 *
 * Exits go through proc-exit.ts, the orderly path. Everything else (an uncaught error
 * outside the entry, another exit code, out of memory, terminate()) skips it and leaves the
 * dead-man switch ACTIVE: the host classifies that as a crash whatever the exit code says.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AdminShutdownError, FunctionNotFoundError } from '../errors.js';
import type { HostMessage, LaunchMessage, ThreadData } from '../protocol/messages.js';
import { PM_CHILD_ACTIVE } from '../shm/layout.js';
import { PmSignal } from '../shm/pm-signal.js';
import { ProcArray } from '../shm/proc-array.js';
import { Segment } from '../shm/segment.js';
import { WorkerContext } from './context.js';
import { serviceSignals, unblockSignals, watchForHostDeath } from './interrupts.js';
import { workerLog } from './log.js';
import { hasMyProc, setMyProc } from './my-proc.js';
import { activeResources, endReusableLife, procExit } from './proc-exit.js';
import { beginLife } from './life.js';
import { traceRunner } from './trace-context.js';
import { declareReady } from './readiness.js';
import { publishHazards } from './hazards.js';
import { onHostReply, postToHost } from './to-host.js';
import { setExitOnPmDeath } from './wait-latch.js';
import { prepareModule } from './ts-loader.js';

const port = parentPort!;
const data = workerData as ThreadData;
const seg = Segment.attach(data.sab, data.layout);
const procs = new ProcArray(seg);
const pmSignal = new PmSignal(procs);

async function preload(url: string): Promise<void> {
  // A module that fails to load is reported when a worker is launched with it.
  await Promise.resolve(prepareModule(url))
    .then(() => import(url))
    .catch(() => undefined);
}

async function backgroundWorkerMain(m: LaunchMessage): Promise<void> {
  beginLife();
  procs.setChildState(m.slot, PM_CHILD_ACTIVE);
  setMyProc({ slot: m.slot, entry: m.entry, database: data.database, seg, procs, pmSignal, latch: procs.latch(m.slot) });
  setExitOnPmDeath(() => procExit(1));
  publishHazards(procs, m.slot);
  watchForHostDeath(seg, pmSignal);
  const baseline = m.entry.reusable ? activeResources() : null;
  let code: 0 | 1 = 0;
  let error: unknown;
  try {
    await prepareModule(m.entry.libraryName);
    const mod = (await import(m.entry.libraryName)) as Record<string, unknown>;
    const fn = mod[m.entry.functionName];
    if (typeof fn !== 'function') {
      throw new FunctionNotFoundError(
        `could not find function "${m.entry.functionName}" in module "${m.entry.libraryName}"`,
      );
    }
    const ctx = new WorkerContext(m.mainArg);
    const inTrace = await traceRunner(m.trace);
    unblockSignals();
    if (m.entry.readiness === 'entry') declareReady();
    const result: unknown = inTrace(() => fn(ctx));
    serviceSignals();
    await result;
  } catch (err) {
    // A terminate is the expected way out (PostgreSQL logs it as FATAL but it is no fault).
    const level = err instanceof AdminShutdownError ? 'info' : 'error';
    workerLog[level]({ err }, err instanceof Error ? err.message : String(err));
    code = 1;
    error = err;
  }
  if (baseline && (await endReusableLife(code, error, baseline, data.reuse))) return;
  procExit(code, error);
}

port.on('message', (m: HostMessage) => {
  switch (m.type) {
    case 'launch':
      void backgroundWorkerMain(m);
      break;
    case 'preload':
      void preload(m.url);
      break;
    case 'nudge':
      if (hasMyProc()) serviceSignals();
      break;
    case 'reply':
      onHostReply(m);
      break;
    case 'retire':
      process.exit(0);
  }
});

for (const url of data.preload) await preload(url);
postToHost({ type: 'ready' });
