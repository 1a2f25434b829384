/**
 * Prometheus metrics for one host's fleet membership, in the text exposition format, in
 * the style of lib/host/metrics.ts (mount render() beside postmasterMetrics' output):
 *
 *   bgworker_fleet_member_up               gauge    1 while the member is joined (active or leaving)
 *   bgworker_fleet_capacity                gauge    leases this member may hold
 *   bgworker_fleet_leases_held             gauge    leases held now
 *   bgworker_fleet_copies_running          gauge    copies whose thread runs now
 *   bgworker_fleet_assigned                gauge    replicas the latest assignment gives this member
 *   bgworker_fleet_leases_acquired_total   counter  leases taken
 *   bgworker_fleet_leases_released_total   counter  leases given back (hand-over, rebalancing, removal)
 *   bgworker_fleet_leases_lost_total       counter  leases not renewed (their copies were stopped)
 *   bgworker_fleet_fences_total            counter  local deadlines passed without a renewal
 *   bgworker_fleet_heartbeats_total        counter  by result: ok, error
 *   bgworker_fleet_queries_total           counter  statements sent by the fleet's connection
 *   bgworker_fleet_notifications_total     counter  by result: accepted, refused
 *
 * Everything is read from the fleet at render time; nothing is kept here.
 */
import type { Fleet } from './fleet.js';

export interface FleetMetrics {
  render(): string;
}

function metric(name: string, kind: 'gauge' | 'counter', help: string, samples: Array<[Record<string, string>, number]>): string[] {
  const line = ([labels, v]: [Record<string, string>, number]): string => {
    const set = Object.entries(labels).map(([k, x]) => `${k}="${x}"`);
    return `${name}${set.length ? `{${set.join(',')}}` : ''} ${v}`;
  };
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`, ...samples.map(line)];
}

export function fleetMetrics(fleet: Fleet): FleetMetrics {
  return {
    render: () => {
      const s = fleet.stats();
      const held = fleet.held();
      const up = fleet.phase === 'active' || fleet.phase === 'leaving' ? 1 : 0;
      const assigned = [...fleet.currentAssignment().values()].filter((m) => m === fleet.id).length;
      return [
        ...metric('bgworker_fleet_member_up', 'gauge', '1 while this host is a member of the fleet.', [[{}, up]]),
        ...metric('bgworker_fleet_capacity', 'gauge', 'Leases this member may hold.', [[{}, fleet.options.capacity]]),
        ...metric('bgworker_fleet_leases_held', 'gauge', 'Leases held now.', [[{}, held.length]]),
        ...metric('bgworker_fleet_copies_running', 'gauge', 'Copies whose thread runs now.', [[{}, held.filter((h) => h.running).length]]),
        ...metric('bgworker_fleet_assigned', 'gauge', 'Replicas the latest assignment gives this member.', [[{}, assigned]]),
        ...metric('bgworker_fleet_leases_acquired_total', 'counter', 'Leases taken.', [[{}, s.acquired]]),
        ...metric('bgworker_fleet_leases_released_total', 'counter', 'Leases given back.', [[{}, s.released]]),
        ...metric('bgworker_fleet_leases_lost_total', 'counter', 'Leases not renewed; their copies were stopped.', [[{}, s.lost]]),
        ...metric('bgworker_fleet_fences_total', 'counter', 'Local deadlines passed without a renewal.', [[{}, s.fenced]]),
        ...metric('bgworker_fleet_heartbeats_total', 'counter', 'Heartbeats by result.', [[{ result: 'ok' }, s.heartbeats], [{ result: 'error' }, s.heartbeatFailures]]),
        ...metric('bgworker_fleet_queries_total', 'counter', "Statements sent by the fleet's connection.", [[{}, s.queries]]),
        ...metric('bgworker_fleet_notifications_total', 'counter', "NOTIFYs received on the fleet's channel, by result.", [
          [{ result: 'accepted' }, s.notifications - s.notificationsRefused], [{ result: 'refused' }, s.notificationsRefused],
        ]),
      ].join('\n') + '\n';
    },
  };
}
