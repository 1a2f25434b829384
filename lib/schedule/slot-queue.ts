/**
 * Waiting for a free slot. A scheduled run whose registration finds every slot taken is
 * delayed, not dropped: it waits here, first in, first out, with every other delayed run
 * of the host's schedules, and is registered as soon as a slot frees.
 *
 * A slot frees when the host unregisters a worker (the 'unregistered' event), which wakes
 * the queue; a fallback timer (RETRY_MS, doubling to RETRY_CAP_MS while nothing frees)
 * catches the frees that come without one: a registration terminated before the host saw
 * it, or setMaxWorkerProcesses raising the limit. One registration is tried at a time, the
 * head's: when it gets a slot the next is tried at once, when it gets none the queue waits
 * again, so runs start in the order their ticks came. A waiter can be cancelled (its
 * schedule removed, the host stopping), and then resolves null.
 *
 * Host thread only.
 */
import type { BackgroundWorkerHandle } from '../host/handle.js';
import type { Postmaster } from '../host/postmaster.js';
import type { BackgroundWorker } from '../types.js';

const RETRY_MS = 50;
const RETRY_CAP_MS = 1_000;

interface Waiter {
  worker: BackgroundWorker;
  resolve(h: BackgroundWorkerHandle | null): void;
  reject(err: unknown): void;
  cancelled: boolean;
}

export interface SlotWait {
  /** The handle, or null once cancelled. Rejects with the host's registration error. */
  handle: Promise<BackgroundWorkerHandle | null>;
  cancel(): void;
}

export class SlotQueue {
  private readonly waiters: Waiter[] = [];
  private pumping = false;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MS;
  private readonly onFreed = (): void => {
    this.retryMs = RETRY_MS;
    void this.pump();
  };

  constructor(private readonly pm: Postmaster) {
    pm.on('unregistered', this.onFreed);
  }

  /**
   * Register `worker` now if a slot is free and nobody waits, else queue it (`delayed` is
   * called once, when it starts to wait).
   */
  acquire(worker: BackgroundWorker, delayed: () => void): SlotWait {
    let waiter!: Waiter;
    const handle = new Promise<BackgroundWorkerHandle | null>((resolve, reject) => {
      waiter = { worker, resolve, reject, cancelled: false };
    });
    const cancel = (): void => {
      waiter.cancelled = true;
      void this.pump();
    };
    if (this.waiters.length > 0) {
      delayed();
      this.waiters.push(waiter);
      void this.pump();
      return { handle, cancel };
    }
    this.pm.registerDynamicBackgroundWorker(worker).then((h) => {
      if (h) return waiter.resolve(h);
      delayed();
      this.waiters.push(waiter);
      // A slot freed since this registration looked would have found the queue empty.
      void this.pump();
    }, waiter.reject);
    return { handle, cancel };
  }

  /** Cancel every waiter (the host is stopping). */
  cancelAll(): void {
    for (const w of this.waiters) w.cancelled = true;
    void this.pump();
  }

  close(): void {
    this.cancelAll();
    this.pm.off('unregistered', this.onFreed);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiters.length > 0) {
        const head = this.waiters[0]!;
        if (head.cancelled) {
          this.waiters.shift();
          head.resolve(null);
          continue;
        }
        let h: BackgroundWorkerHandle | null;
        try {
          h = await this.pm.registerDynamicBackgroundWorker(head.worker);
        } catch (err) {
          this.waiters.shift();
          head.reject(err);
          continue;
        }
        if (!h) break;
        this.waiters.shift();
        // Cancelled while its registration was in flight: the slot is given back at once.
        if (head.cancelled) {
          void h.terminate();
          head.resolve(null);
        } else {
          head.resolve(h);
        }
      }
    } finally {
      this.pumping = false;
    }
    this.armRetry();
  }

  private armRetry(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.waiters.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retryMs = Math.min(RETRY_CAP_MS, this.retryMs * 2);
      void this.pump();
    }, this.retryMs).unref();
  }
}
