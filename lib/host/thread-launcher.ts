/**
 * The thread launcher: PostgreSQL forks a fresh process per worker life; we give each
 * worker life a fresh worker_thread, taken warm from a small pool of spares.
 *
 * A spare is a thread that has already started, attached the segment and preloaded the
 * modules the host names (its shared_preload_libraries), and now waits for a `launch`
 * message. Launching is therefore a postMessage, not a thread start: the thread id is known
 * at once (PostgreSQL knows the pid right after fork), and the entry runs as soon as the
 * spare reads its port. The pool is refilled in the background after every launch: on
 * the next event-loop turn, not inside launch(), since `new Worker` costs the host thread
 * up to a few milliseconds that the launched worker and its waiters would otherwise wait.
 *
 * A thread runs one worker life and then exits; nothing of one worker's module state is
 * ever seen by the next. That is why this is not piscina: piscina reuses a thread for the
 * next task (it has no isolateWorkers), terminates a thread on abort instead of letting it
 * finish its SIGTERM path, and freezes idle threads in Atomics.wait. Spares that are no
 * longer needed are told to retire and exit by themselves, so no thread is ever terminated
 * at a clean shutdown.
 *
 * A thread that cannot be had is a ThreadStartFailedError with Node's error as its cause:
 * `new Worker` throws for execArgv flags that worker threads refuse and for resource
 * limits it cannot apply, and a thread can fail before it is ready (a `--import` that
 * cannot be loaded). At start() that fails start(), after the spares already up have been
 * retired; later it is a failed launch (a fork failure), which pm-child.ts reports.
 */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ThreadStartFailedError } from '../errors.js';
import { printable } from '../printable.js';
import type { HostMessage, ThreadData, WorkerMessage } from '../protocol/messages.js';
import type { DatabaseSettings } from '../pg/connect.js';
import type { Segment } from '../shm/segment.js';
import type { BackgroundWorkerEntry, WorkerResourceLimits } from '../types.js';

// Built, the worker side is one prebuilt bundle (package.json's build:worker): the thread's
// entry and the public worker API share a single runtime chunk, so a thread resolves and
// compiles three files instead of thirty, and a worker module importing 'bgworker/worker'
// gets the very module instances the entry set up.
const entryUrl = new URL(`../worker/entry${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

export interface Launcher {
  /** Start a worker life in a thread; throws if no thread can be had (a fork failure). */
  launch(slot: number, entry: BackgroundWorkerEntry, mainArg: Uint8Array, trace?: Record<string, string>): Worker;
  /** A reusable worker's thread ended its life clean and may run another of `module`'s. */
  giveBack?(worker: Worker, module: string): void;
  /** Load a module in every spare ahead of need. */
  preload(url: string): void;
  /** Let every spare exit by itself; resolves when they are gone. */
  retire(): Promise<void>;
}

/** How threads are kept warm and reused (pm-options.ts resolves them). */
export interface ThreadPolicy {
  /** Spares kept while launches come. */
  spareThreads: number;
  /** Spares kept once no launch came for spareIdleMs. */
  minSpareThreads: number;
  spareIdleMs: number;
  /** Reuse: lives per thread and heap (MB) before a thread is retired instead of reused. */
  maxLives: number;
  maxHeapMb: number;
  /** Reusable threads kept idle at most, and how long one waits for its next life. */
  maxIdle: number;
  idleMs: number;
}

export class ThreadLauncher implements Launcher {
  private readonly spares = new Set<Worker>();
  private readonly preloads = new Set<string>();
  /** Reusable threads waiting for another life of their module, oldest first. */
  private readonly idle = new Map<Worker, { module: string; timer: NodeJS.Timeout }>();
  private retiring = false;
  private lastLaunch = 0;
  private refillQueued = false;
  private readonly shrink: NodeJS.Timeout;

  constructor(
    private readonly seg: Segment,
    private readonly policy: ThreadPolicy,
    private readonly execArgv: string[] | undefined,
    private readonly database: DatabaseSettings,
  ) {
    this.shrink = setInterval(() => this.shrinkSpares(), Math.max(100, policy.spareIdleMs / 4));
    this.shrink.unref();
  }

  /** Fill the pool and wait until every spare reported ready; throws if one failed before. */
  async start(preload: Iterable<string>): Promise<void> {
    for (const url of preload) this.preloads.add(url);
    const ready: Array<Promise<ThreadStartFailedError | null>> = [];
    for (let i = 0; i < this.policy.spareThreads; i++) ready.push(this.spawnSpare());
    const failure = (await Promise.all(ready)).find((f) => f !== null);
    if (failure) {
      await this.retire();
      throw failure;
    }
  }

  /** Warm spares ready now. */
  get sparesReady(): number {
    return this.spares.size;
  }

  /** Reusable threads idle in the pool now. */
  get idleReusable(): number {
    return this.idle.size;
  }

  launch(slot: number, entry: BackgroundWorkerEntry, mainArg: Uint8Array, trace?: Record<string, string>): Worker {
    this.lastLaunch = Date.now();
    // A thread's resource limits are fixed when it starts: a worker with limits of its own
    // gets a thread of its own, started now, and is never reused.
    const limited = Object.keys(entry.resourceLimits).length > 0;
    let w = entry.reusable && !limited ? this.takeIdle(entry.libraryName) : undefined;
    if (!w && !limited) {
      w = this.spares.values().next().value as Worker | undefined;
      if (w) this.spares.delete(w);
      this.refillSoon();
    }
    w ??= this.spawn(limited ? entry.resourceLimits : undefined);
    const m: HostMessage = trace ? { type: 'launch', slot, entry, mainArg, trace } : { type: 'launch', slot, entry, mainArg };
    w.postMessage(m);
    return w;
  }

  /** Bring the spares back up to spareThreads on the next turn; one refill per turn however many launches. */
  private refillSoon(): void {
    if (this.refillQueued) return;
    this.refillQueued = true;
    setImmediate(() => {
      this.refillQueued = false;
      for (let n = this.policy.spareThreads - this.spares.size; n > 0 && !this.retiring; n--) void this.spawnSpare();
    });
  }

  /** A reusable worker's thread came back: keep it for another life of `module`, within the bounds. */
  giveBack(worker: Worker, module: string): void {
    if (this.retiring || this.policy.maxIdle === 0) return this.retireThread(worker);
    if (this.idle.size >= this.policy.maxIdle) this.retireThread(this.idle.keys().next().value as Worker);
    const timer = setTimeout(() => this.retireThread(worker), this.policy.idleMs);
    timer.unref();
    this.idle.set(worker, { module, timer });
    worker.once('exit', () => this.dropIdle(worker));
  }

  private takeIdle(module: string): Worker | undefined {
    for (const [w, e] of this.idle) {
      if (e.module !== module) continue;
      this.dropIdle(w);
      return w;
    }
    return undefined;
  }

  private dropIdle(w: Worker): void {
    const e = this.idle.get(w);
    if (!e) return;
    clearTimeout(e.timer);
    this.idle.delete(w);
  }

  private retireThread(w: Worker): void {
    this.dropIdle(w);
    const m: HostMessage = { type: 'retire' };
    w.postMessage(m);
  }

  /**
   * Spares follow demand: spareThreads of them while launches come; once none came for
   * spareIdleMs, they are retired down to minSpareThreads. The next launch takes a spare if
   * one is left (or starts a thread) and brings them back up.
   */
  private shrinkSpares(): void {
    if (this.retiring || Date.now() - this.lastLaunch < this.policy.spareIdleMs) return;
    for (const w of [...this.spares].slice(this.policy.minSpareThreads)) {
      this.spares.delete(w);
      this.retireThread(w);
    }
  }

  preload(url: string): void {
    if (this.preloads.has(url)) return;
    this.preloads.add(url);
    const m: HostMessage = { type: 'preload', url };
    for (const w of this.spares) w.postMessage(m);
  }

  async retire(): Promise<void> {
    this.retiring = true;
    clearInterval(this.shrink);
    const all = [...this.spares, ...this.idle.keys()];
    const gone = all.map((w) => new Promise<void>((res) => w.once('exit', () => res())));
    for (const w of all) this.retireThread(w);
    await Promise.all(gone);
  }

  /** @throws {BGW_ERR_THREAD_START_FAILED} */
  private spawn(resourceLimits?: WorkerResourceLimits): Worker {
    const reuse = { maxLives: this.policy.maxLives, maxHeapMb: this.policy.maxHeapMb };
    const workerData: ThreadData = { sab: this.seg.sab, layout: this.seg.layout, preload: [...this.preloads], database: this.database, reuse };
    try {
      return new Worker(entryUrl, {
        workerData,
        ...(this.execArgv ? { execArgv: this.execArgv } : {}),
        ...(resourceLimits ? { resourceLimits } : {}),
      });
    } catch (cause) {
      throw threadStartFailed(cause);
    }
  }

  /** Resolves once the spare is ready, or gone: with why, if it failed before it was ready. */
  private spawnSpare(): Promise<ThreadStartFailedError | null> {
    let w: Worker;
    try {
      w = this.spawn();
    } catch (err) {
      return Promise.resolve(err as ThreadStartFailedError);
    }
    this.spares.add(w);
    let ready = false;
    let failure: ThreadStartFailedError | null = null;
    return new Promise((resolve) => {
      // Before it is ready a spare has only attached the segment and loaded the preloads: an
      // error then is a thread that cannot serve (after, pm-child.ts listens once it is launched).
      const onError = (err: unknown): void => void (failure ??= threadStartFailed(err));
      const onMessage = (m: WorkerMessage): void => {
        if (m.type !== 'ready') return;
        ready = true;
        w.off('message', onMessage);
        w.off('error', onError);
        resolve(null);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.once('exit', () => {
        resolve(failure);
        // A spare that died after it was ready is replaced. One that died before (a preloaded
        // module that kills its thread) is not, or a bad module would respawn threads forever;
        // launches then start threads on demand.
        if (this.spares.delete(w) && ready && !this.retiring && this.spares.size < this.policy.spareThreads) void this.spawnSpare();
      });
    });
  }
}

function threadStartFailed(cause: unknown): ThreadStartFailedError {
  const why = printable(cause instanceof Error ? cause.message : String(cause));
  return new ThreadStartFailedError(
    `could not start a worker thread: ${why}; check the host's execArgv (worker threads refuse V8 and process-wide flags) and the workers' resourceLimits`,
    { cause },
  );
}
