/**
 * The host-side watchers of each slot: callbacks of the host's handles and queue endpoints,
 * run whenever the host changed something about the slot (a launch, an exit, a free, the
 * end of a crash cycle or of the host). The host's handles re-read the slot when called,
 * so a call carries no data and an extra call is harmless; a missing one would leave a wait
 * hanging, which is why the host notifies on every change whatever bgw_notify_pid says.
 *
 * Host thread only.
 */
export class SlotWatchers {
  private readonly bySlot = new Map<number, Set<() => void>>();

  /** Call `fn` on every change of `slot`; returns the unsubscribe function. */
  watch(slot: number, fn: () => void): () => void {
    let set = this.bySlot.get(slot);
    if (!set) this.bySlot.set(slot, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.bySlot.delete(slot);
    };
  }

  notify(slot: number): void {
    const set = this.bySlot.get(slot);
    if (set) for (const fn of [...set]) fn();
  }

  /** Every watched slot (the end of a crash cycle, or of the host). */
  notifyAll(): void {
    for (const slot of [...this.bySlot.keys()]) this.notify(slot);
  }
}
