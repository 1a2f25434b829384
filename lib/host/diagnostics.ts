/**
 * Postmaster events on node:diagnostics_channel, so that APM tools and other observers can
 * subscribe by channel name, without a reference to the host.
 *
 * Every event a Postmaster emits has one channel; CHANNELS is the only list of their names.
 * A message is a plain object naming the host and carrying the event's payload:
 *
 *   bgworker:host:phase           { postmaster, state }    a new host state (PmState)
 *   bgworker:host:shutdown        { postmaster, mode }     a shutdown was requested
 *   bgworker:worker:registered    { postmaster, row }      a slot was filled
 *   bgworker:worker:unregistered  { postmaster, row }      a slot was freed
 *   bgworker:worker:started       { postmaster, row }      a thread was launched for a worker
 *   bgworker:worker:ready         { postmaster, row, ms }  a worker life became ready, ms after registration
 *   bgworker:worker:activity      { postmaster, row }      a worker reported what it is doing
 *   bgworker:worker:stopped       { postmaster, row }      its thread ended; row.lastExit says how
 *   bgworker:worker:crash         { postmaster, row }      a crash that begins a crash-restart cycle
 *   bgworker:worker:failed        { postmaster, row }      past its restart intensity: not restarted
 *   bgworker:host:reinitialized   { postmaster }           shared memory rebuilt after a crash cycle
 *   bgworker:host:exit            { postmaster, status }   the host is gone: 0 stopped, 1 died
 *   bgworker:host:callback_error  { postmaster, err, where }  a user callback threw; the host went on
 *
 * `row` is the worker's ActivityRow at the moment of the event. A channel with no
 * subscriber costs one hasSubscribers check per event.
 *
 * observePostmaster(pm) attaches a host (once; later calls return the same detach
 * function) and is called on the host thread. Attach before start() to see the static
 * workers' first launches. See also metrics.ts, which counts the same events.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ActivityRow, ShutdownMode } from '../types.js';
import type { PmState, Postmaster, PostmasterEvents } from './postmaster.js';

type EventName = keyof PostmasterEvents;

/** The channel of each Postmaster event. */
export const CHANNELS = {
  phase: 'bgworker:host:phase',
  shutdown: 'bgworker:host:shutdown',
  registered: 'bgworker:worker:registered',
  unregistered: 'bgworker:worker:unregistered',
  started: 'bgworker:worker:started',
  ready: 'bgworker:worker:ready',
  activity: 'bgworker:worker:activity',
  stopped: 'bgworker:worker:stopped',
  crash: 'bgworker:worker:crash',
  failed: 'bgworker:worker:failed',
  reinitialized: 'bgworker:host:reinitialized',
  exit: 'bgworker:host:exit',
  callbackError: 'bgworker:host:callback_error',
} as const satisfies Record<EventName, string>;

/** What is published on each event's channel. */
export interface DiagnosticsMessages {
  phase: { postmaster: Postmaster; state: PmState };
  shutdown: { postmaster: Postmaster; mode: ShutdownMode };
  registered: { postmaster: Postmaster; row: ActivityRow };
  unregistered: { postmaster: Postmaster; row: ActivityRow };
  started: { postmaster: Postmaster; row: ActivityRow };
  ready: { postmaster: Postmaster; row: ActivityRow; ms: number };
  activity: { postmaster: Postmaster; row: ActivityRow };
  stopped: { postmaster: Postmaster; row: ActivityRow };
  crash: { postmaster: Postmaster; row: ActivityRow };
  failed: { postmaster: Postmaster; row: ActivityRow };
  reinitialized: { postmaster: Postmaster };
  exit: { postmaster: Postmaster; status: number };
  callbackError: { postmaster: Postmaster; err: unknown; where: string };
}

const payload: { [E in EventName]: (...args: PostmasterEvents[E]) => object } = {
  phase: (state) => ({ state }),
  shutdown: (mode) => ({ mode }),
  registered: (row) => ({ row }),
  unregistered: (row) => ({ row }),
  started: (row) => ({ row }),
  ready: (row, ms) => ({ row, ms }),
  activity: (row) => ({ row }),
  stopped: (row) => ({ row }),
  crash: (row) => ({ row }),
  failed: (row) => ({ row }),
  reinitialized: () => ({}),
  exit: (status) => ({ status }),
  callbackError: (err, where) => ({ err, where }),
};

const observed = new WeakMap<Postmaster, () => void>();

/**
 * Publish every event of `pm` on its channel in CHANNELS.
 * @returns a function that stops publishing this host's events
 */
export function observePostmaster(pm: Postmaster): () => void {
  const existing = observed.get(pm);
  if (existing) return existing;
  const detachers = (Object.keys(CHANNELS) as EventName[]).map((event) => publishEvent(pm, event));
  const detach = (): void => {
    for (const d of detachers) d();
    observed.delete(pm);
  };
  observed.set(pm, detach);
  return detach;
}

function publishEvent(pm: Postmaster, event: EventName): () => void {
  const channel = diagnosticsChannel.channel(CHANNELS[event]);
  const build = payload[event] as (...args: unknown[]) => object;
  const listener = (...args: unknown[]): void => {
    if (channel.hasSubscribers) channel.publish({ postmaster: pm, ...build(...args) });
  };
  const emitter = pm as unknown as NodeJS.EventEmitter;
  emitter.on(event, listener);
  return () => emitter.off(event, listener);
}
