/** The demo's shared-memory region: Int32 cells by name. */
export const DEMO_TOTAL = 0;
export const DEMO_TICKS = 1;
export const DEMO_RELOADS = 2;
export const DEMO_CHECKS = 3;
export const DEMO_MISMATCHES = 4;
/** Per-counter-worker cells start here. */
export const DEMO_COUNTER_CELLS = 8;
export const DEMO_REGION_BYTES = 256;
