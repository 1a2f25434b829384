/**
 * Prometheus metrics for one host's fleet membership, through prom-client, registered in the
 * service's Registry (or one of their own; lib/host/scraped-metrics.ts):
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
import type { Registry } from 'prom-client';
import { scrapedMetrics, type ScrapedMetrics } from '../host/scraped-metrics.js';
import type { Fleet } from './fleet.js';

export type FleetMetrics = ScrapedMetrics;

export function fleetMetrics(fleet: Fleet, options: { registry?: Registry } = {}): FleetMetrics {
  const one = (v: number): Array<[Record<string, string>, number]> => [[{}, v]];
  const held = () => fleet.held();
  const s = () => fleet.stats();
  return scrapedMetrics([
    { name: 'bgworker_fleet_member_up', type: 'gauge', help: '1 while this host is a member of the fleet.', read: () => one(fleet.phase === 'active' || fleet.phase === 'leaving' ? 1 : 0) },
    { name: 'bgworker_fleet_capacity', type: 'gauge', help: 'Leases this member may hold.', read: () => one(fleet.options.capacity) },
    { name: 'bgworker_fleet_leases_held', type: 'gauge', help: 'Leases held now.', read: () => one(held().length) },
    { name: 'bgworker_fleet_copies_running', type: 'gauge', help: 'Copies whose thread runs now.', read: () => one(held().filter((h) => h.running).length) },
    { name: 'bgworker_fleet_assigned', type: 'gauge', help: 'Replicas the latest assignment gives this member.', read: () => one([...fleet.currentAssignment().values()].filter((m) => m === fleet.id).length) },
    { name: 'bgworker_fleet_leases_acquired_total', type: 'counter', help: 'Leases taken.', read: () => one(s().acquired) },
    { name: 'bgworker_fleet_leases_released_total', type: 'counter', help: 'Leases given back.', read: () => one(s().released) },
    { name: 'bgworker_fleet_leases_lost_total', type: 'counter', help: 'Leases not renewed; their copies were stopped.', read: () => one(s().lost) },
    { name: 'bgworker_fleet_fences_total', type: 'counter', help: 'Local deadlines passed without a renewal.', read: () => one(s().fenced) },
    { name: 'bgworker_fleet_heartbeats_total', type: 'counter', help: 'Heartbeats by result.', labelNames: ['result'], read: () => [[{ result: 'ok' }, s().heartbeats], [{ result: 'error' }, s().heartbeatFailures]] },
    { name: 'bgworker_fleet_queries_total', type: 'counter', help: "Statements sent by the fleet's connection.", read: () => one(s().queries) },
    { name: 'bgworker_fleet_notifications_total', type: 'counter', help: "NOTIFYs received on the fleet's channel, by result.", labelNames: ['result'], read: () => {
      const st = s();
      return [[{ result: 'accepted' }, st.notifications - st.notificationsRefused], [{ result: 'refused' }, st.notificationsRefused]];
    } },
  ], options.registry);
}
