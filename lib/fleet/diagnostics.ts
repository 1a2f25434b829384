/**
 * Fleet events on node:diagnostics_channel, in the style of the host's (lib/host/
 * diagnostics.ts): every event a Fleet emits has one channel, FLEET_CHANNELS is the only
 * list of their names, and a message names the fleet and carries the event's payload:
 *
 *   bgworker:fleet:joined       { fleet, member }           joined as { id, seq }
 *   bgworker:fleet:acquired     { fleet, lease }            took a lease ({ worker, replica, term })
 *   bgworker:fleet:started      { fleet, lease, pid }       its copy's thread runs
 *   bgworker:fleet:stopped      { fleet, lease, lastExit }  its copy's thread ended
 *   bgworker:fleet:released     { fleet, lease }            gave a lease back (hand-over)
 *   bgworker:fleet:lost         { fleet, lease, reason }    a lease was not renewed: its copy is stopped
 *   bgworker:fleet:fenced       { fleet, reason }           the local deadline passed: every copy is stopped
 *   bgworker:fleet:refused      { fleet, worker, reason }   this host cannot run a declared registration
 *   bgworker:fleet:rebalanced   { fleet, summary }          a new snapshot and assignment
 *   bgworker:fleet:unreachable  { fleet, error }            a statement failed
 *   bgworker:fleet:ignored      { fleet, error }            a NOTIFY payload was refused
 *   bgworker:fleet:left         { fleet }                   the member left
 *
 * observeFleet(fleet) attaches a fleet (once; later calls return the same detach
 * function). See also metrics.ts, which counts the same events.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Fleet, FleetEvents } from './fleet.js';

type EventName = keyof FleetEvents;

export const FLEET_CHANNELS = {
  joined: 'bgworker:fleet:joined',
  acquired: 'bgworker:fleet:acquired',
  started: 'bgworker:fleet:started',
  stopped: 'bgworker:fleet:stopped',
  released: 'bgworker:fleet:released',
  lost: 'bgworker:fleet:lost',
  fenced: 'bgworker:fleet:fenced',
  refused: 'bgworker:fleet:refused',
  rebalanced: 'bgworker:fleet:rebalanced',
  unreachable: 'bgworker:fleet:unreachable',
  ignored: 'bgworker:fleet:ignored',
  left: 'bgworker:fleet:left',
} as const satisfies Record<EventName, string>;

const payload: { [E in EventName]: (...args: FleetEvents[E]) => object } = {
  joined: (member) => ({ member }),
  acquired: (lease) => ({ lease }),
  started: (lease, pid) => ({ lease, pid }),
  stopped: (lease, lastExit) => ({ lease, lastExit }),
  released: (lease) => ({ lease }),
  lost: (lease, reason) => ({ lease, reason }),
  fenced: (reason) => ({ reason }),
  refused: (worker, reason) => ({ worker, reason }),
  rebalanced: (summary) => ({ summary }),
  unreachable: (error) => ({ error }),
  ignored: (error) => ({ error }),
  left: () => ({}),
};

const observed = new WeakMap<Fleet, () => void>();

/** Publish every event of `fleet` on its channel in FLEET_CHANNELS; returns the detach function. */
export function observeFleet(fleet: Fleet): () => void {
  const existing = observed.get(fleet);
  if (existing) return existing;
  const detachers = (Object.keys(FLEET_CHANNELS) as EventName[]).map((event) => {
    const channel = diagnosticsChannel.channel(FLEET_CHANNELS[event]);
    const build = payload[event] as (...args: unknown[]) => object;
    const listener = (...args: unknown[]): void => {
      if (channel.hasSubscribers) channel.publish({ fleet, ...build(...args) });
    };
    const emitter = fleet as unknown as NodeJS.EventEmitter;
    emitter.on(event, listener);
    return () => emitter.off(event, listener);
  });
  const detach = (): void => {
    for (const d of detachers) d();
    observed.delete(fleet);
  };
  observed.set(fleet, detach);
  return detach;
}
