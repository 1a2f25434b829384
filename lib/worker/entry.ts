/**
 * The file every bgworker thread runs: InitPostmasterChild + BackgroundWorkerMain.
 *
 * Life of a thread:
 *   1. spare: attach the segment, preload the modules the host names (its
 *      shared_preload_libraries, so a launch does not pay for loading), post `ready`;
 *   2. `launch`: take the slot, flip the dead-man switch to ACTIVE, import the module,
 *      find the export, call it with signals held until its first synchronous lines ran;
 *   3. exit: the entry resolved → exit 0; it threw → log, exit 1 (the ERROR/FATAL path).
 *
 * The orderly exit path (proc_exit) runs the exit callbacks, releases every LWLock,
 * switches the dead-man word back to ASSIGNED, reports the code and error to the host, and
 * only then exits. A direct process.exit(0|1) in user code takes the same path through the
 * 'exit' event, as C's exit() runs PostgreSQL's atexit hook. Everything else (an uncaught
 * error outside the entry, another exit code, out of memory, terminate()) skips it and leaves
 * the switch ACTIVE: the host classifies that as a crash whatever the exit code says.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AdminShutdownError, FunctionNotFoundError } from '../errors.js';
import type { HostMessage, LaunchMessage, ThreadData, WorkerMessage } from '../protocol/messages.js';
import { toWire } from '../protocol/wire-error.js';
import { PM_CHILD_ACTIVE, PM_CHILD_ASSIGNED } from '../shm/layout.js';
import { releaseAllLWLocks } from '../shm/lwlock.js';
import { ProcArray } from '../shm/proc-array.js';
import { Segment } from '../shm/segment.js';
import { runExitCallbacks, WorkerContext } from './context.js';
import { serviceSignals, unblockSignals } from './interrupts.js';
import { workerLog } from './log.js';
import { onDsmReply } from './dsm.js';
import { getMyProc, hasMyProc, setMyProc } from './my-proc.js';
import { setExitOnPmDeath } from './wait-latch.js';

const port = parentPort!;
const data = workerData as ThreadData;
const seg = Segment.attach(data.sab, data.layout);
const procs = new ProcArray(seg);
let crashed = false;
let exiting = false;

function post(m: WorkerMessage): void {
  port.postMessage(m);
}

async function preload(url: string): Promise<void> {
  // A module that fails to load is reported when a worker is launched with it.
  await import(url).catch(() => undefined);
}

/** proc_exit(code): the orderly path. */
function procExit(code: 0 | 1, err?: unknown): never {
  exiting = true;
  runExitCallbacks((e) => workerLog.error({ err: e }, 'exit callback failed'));
  releaseAllLWLocks();
  const p = getMyProc();
  procs.setChildState(p.slot, PM_CHILD_ASSIGNED);
  post(err === undefined ? { type: 'exit-report', code } : { type: 'exit-report', code, error: toWire(err) });
  process.exit(code);
}

process.on('uncaughtExceptionMonitor', () => {
  crashed = true;
});
process.on('exit', (code) => {
  // User code called process.exit(0|1) directly: still orderly, as C's exit() is.
  if (exiting || crashed || !hasMyProc() || (code !== 0 && code !== 1)) return;
  releaseAllLWLocks();
  procs.setChildState(getMyProc().slot, PM_CHILD_ASSIGNED);
});

async function backgroundWorkerMain(m: LaunchMessage): Promise<void> {
  procs.setChildState(m.slot, PM_CHILD_ACTIVE);
  setMyProc({ slot: m.slot, entry: m.entry, seg, procs, latch: procs.latch(m.slot) });
  setExitOnPmDeath(() => procExit(1));
  try {
    const mod = (await import(m.entry.libraryName)) as Record<string, unknown>;
    const fn = mod[m.entry.functionName];
    if (typeof fn !== 'function') {
      throw new FunctionNotFoundError(
        `could not find function "${m.entry.functionName}" in module "${m.entry.libraryName}"`,
      );
    }
    const ctx = new WorkerContext(m.mainArg);
    unblockSignals();
    const result: unknown = fn(ctx);
    serviceSignals();
    await result;
  } catch (err) {
    // A terminate is the expected way out (PostgreSQL logs it as FATAL but it is no fault).
    const level = err instanceof AdminShutdownError ? 'info' : 'error';
    workerLog[level]({ err }, err instanceof Error ? err.message : String(err));
    procExit(1, err);
  }
  procExit(0);
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
    case 'dsm-reply':
      onDsmReply(m);
      break;
    case 'retire':
      process.exit(0);
  }
});

for (const url of data.preload) await preload(url);
post({ type: 'ready' });
