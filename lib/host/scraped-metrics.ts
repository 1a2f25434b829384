/**
 * prom-client metrics whose values are read from their owner at scrape time (the fleet's and
 * the scheduler's counts, which their objects keep already): a Gauge or Counter whose
 * collect() clears it and sets what the owner reports, so nothing is counted twice and
 * nothing is kept here. A counter's samples come from the owner's running totals, so they
 * only grow for as long as the owner lives, as a counter's must.
 *
 * Registered in the caller's Registry, or in one of their own (served by metricsHandler).
 */
import promClient, { type Registry } from 'prom-client';

export type Samples = Array<[labels: Record<string, string>, value: number]>;

export interface ScrapedMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
  /** Remove these metrics from the registry. */
  close(): void;
}

export interface ScrapedMetric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames?: string[];
  read(): Samples;
}

/** Register `metrics` in `registry` (default a new one). */
export function scrapedMetrics(metrics: ScrapedMetric[], registry: Registry = new promClient.Registry()): ScrapedMetrics {
  const registers = [registry];
  for (const m of metrics) {
    const labelNames = m.labelNames ?? [];
    if (m.type === 'gauge') {
      new promClient.Gauge({ name: m.name, help: m.help, labelNames, registers, collect() {
        this.reset();
        for (const [labels, v] of m.read()) this.set(labels, v);
      } });
    } else {
      new promClient.Counter({ name: m.name, help: m.help, labelNames, registers, collect() {
        this.reset();
        for (const [labels, v] of m.read()) this.inc(labels, v);
      } });
    }
  }
  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: () => {
      for (const m of metrics) registry.removeSingleMetric(m.name);
    },
  };
}
