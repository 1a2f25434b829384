/**
 * What one idle thread's V8 heap holds, for mem.worker's split of RSS per worker: the
 * physical size of the young generation, the old generation (objects and bytecode), the
 * code space, and memory outside the heap that V8 accounts for (external), in KiB.
 */
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

export const HEAP_PARTS = ['new_space', 'old_space', 'code_space', 'external'] as const;

export function heapKiB(): number[] {
  const spaces = new Map(getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
  const external = getHeapStatistics().external_memory;
  return HEAP_PARTS.map((p) => (p === 'external' ? external : spaces.get(p) ?? 0) / 1024);
}
