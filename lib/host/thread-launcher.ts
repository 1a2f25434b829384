/**
 * The thread launcher: PostgreSQL forks a fresh process per worker life; we give each
 * worker life a fresh worker_thread, taken warm from a small pool of spares.
 *
 * A spare is a thread that has already started, attached the segment and preloaded the
 * modules the host names (its shared_preload_libraries), and now waits for a `launch`
 * message. Launching is therefore a postMessage, not a thread start: the thread id is known
 * at once (PostgreSQL knows the pid right after fork), and the entry runs as soon as the
 * spare reads its port. The pool is refilled in the background after every launch.
 *
 * A thread runs one worker life and then exits; nothing of one worker's module state is
 * ever seen by the next. That is why this is not piscina: piscina reuses a thread for the
 * next task (it has no isolateWorkers), terminates a thread on abort instead of letting it
 * finish its SIGTERM path, and freezes idle threads in Atomics.wait. Spares that are no
 * longer needed are told to retire and exit by themselves, so no thread is ever terminated
 * at a clean shutdown.
 */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostMessage, ThreadData, WorkerMessage } from '../protocol/messages.js';
import type { DatabaseSettings } from '../pg/connect.js';
import type { Segment } from '../shm/segment.js';
import type { BackgroundWorkerEntry, WorkerResourceLimits } from '../types.js';

const entryUrl = new URL(`../worker/entry${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

export interface Launcher {
  /** Start a worker life in a thread; throws if no thread can be had (a fork failure). */
  launch(slot: number, entry: BackgroundWorkerEntry, mainArg: Uint8Array): Worker;
  /** Load a module in every spare ahead of need. */
  preload(url: string): void;
  /** Let every spare exit by itself; resolves when they are gone. */
  retire(): Promise<void>;
}

export class ThreadLauncher implements Launcher {
  private readonly spares = new Set<Worker>();
  private readonly preloads = new Set<string>();
  private retiring = false;

  constructor(
    private readonly seg: Segment,
    private readonly spareCount: number,
    private readonly execArgv: string[] | undefined,
    private readonly database: DatabaseSettings,
  ) {}

  /** Fill the pool and wait until every spare reported ready. */
  async start(preload: Iterable<string>): Promise<void> {
    for (const url of preload) this.preloads.add(url);
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < this.spareCount; i++) ready.push(this.spawnSpare());
    await Promise.all(ready);
  }

  /** Warm spares ready now. */
  get sparesReady(): number {
    return this.spares.size;
  }

  launch(slot: number, entry: BackgroundWorkerEntry, mainArg: Uint8Array): Worker {
    // A thread's resource limits are fixed when it starts: a worker with limits of its own
    // gets a thread of its own, started now.
    const limited = Object.keys(entry.resourceLimits).length > 0;
    let w = limited ? undefined : (this.spares.values().next().value as Worker | undefined);
    if (w) this.spares.delete(w);
    else w = this.spawn(limited ? entry.resourceLimits : undefined);
    const m: HostMessage = { type: 'launch', slot, entry, mainArg };
    w.postMessage(m);
    if (!this.retiring) void this.spawnSpare();
    return w;
  }

  preload(url: string): void {
    if (this.preloads.has(url)) return;
    this.preloads.add(url);
    const m: HostMessage = { type: 'preload', url };
    for (const w of this.spares) w.postMessage(m);
  }

  async retire(): Promise<void> {
    this.retiring = true;
    const gone = [...this.spares].map((w) => new Promise<void>((res) => w.once('exit', () => res())));
    const m: HostMessage = { type: 'retire' };
    for (const w of this.spares) w.postMessage(m);
    await Promise.all(gone);
  }

  private spawn(resourceLimits?: WorkerResourceLimits): Worker {
    const workerData: ThreadData = { sab: this.seg.sab, layout: this.seg.layout, preload: [...this.preloads], database: this.database };
    return new Worker(entryUrl, {
      workerData,
      ...(this.execArgv ? { execArgv: this.execArgv } : {}),
      ...(resourceLimits ? { resourceLimits } : {}),
    });
  }

  private spawnSpare(): Promise<void> {
    const w = this.spawn();
    this.spares.add(w);
    let ready = false;
    return new Promise<void>((resolve) => {
      const onMessage = (m: WorkerMessage): void => {
        if (m.type !== 'ready') return;
        ready = true;
        w.off('message', onMessage);
        resolve();
      };
      w.on('message', onMessage);
      w.once('exit', () => {
        resolve();
        // A spare that died after it was ready is replaced. One that died before (a preloaded
        // module that kills its thread) is not, or a bad module would respawn threads forever;
        // launches then start threads on demand.
        if (this.spares.delete(w) && ready && !this.retiring) void this.spawnSpare();
      });
    });
  }
}
