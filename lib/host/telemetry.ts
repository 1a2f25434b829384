/**
 * OpenTelemetry, through @opentelemetry/api only: a no-op unless the application installed
 * an SDK (a TracerProvider, a MeterProvider, a propagator), in which case the host's
 * telemetry goes wherever the application's goes.
 *
 * Traces. Every worker life is a span, `bgworker <type>`, from its registration (first
 * life) or its launch (later lives) to its exit, with the worker's name, type, slot and
 * thread id, and how it ended (bgworker.exit.kind, .code; error.type and an error status
 * for error, crash and timeout). Its parent is the context that was active where the worker
 * was registered (pm.registerDynamicBackgroundWorker), and that same context travels to the
 * worker thread (propagation.inject into the launch, extract around the entry: entry.ts),
 * so spans the worker makes join the caller's trace.
 *
 * Metrics, named by the semantic conventions' rules (dotted names, units, `.duration` in
 * seconds, `.usage` for a count by state): bgworker.worker.starts, bgworker.worker.exits
 * (by bgworker.worker.type, bgworker.exit.kind), bgworker.worker.start.duration,
 * .ready.duration, .run.duration (histograms, s), and bgworker.slot.usage, bgworker.worker
 * .count (by state), bgworker.thread.count (by kind) as observable gauges read at export.
 * The meter is taken when the host is made: install the MeterProvider before new Postmaster().
 *
 * Host thread only; the postmaster calls it, it never calls the postmaster back except to
 * read what the observable gauges report.
 */
import {
  context, metrics, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span,
} from '@opentelemetry/api';
import type { ActivityRow } from '../types.js';

const SCOPE = 'bgworker';

/** The W3C (or whatever the application's propagator writes) form of a context. */
export type TraceCarrier = Record<string, string>;

/** The active context, as the application's propagator writes it; undefined when there is nothing to carry. */
export function captureTraceContext(): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** What the gauges read from the host at export. */
export interface TelemetrySource {
  slots(): { usable: number; used: number };
  activity(): ActivityRow[];
  threadCounts(): { workers: number; spares: number };
}

const FAILED_KINDS = new Set(['error', 'crash', 'timeout', 'hard_stop']);

export class Telemetry {
  private readonly tracer = trace.getTracer(SCOPE);
  /** The open span of each slot's running life (a slot runs one life at a time). */
  private readonly spans = new Map<number, Span>();
  private readonly starts;
  private readonly exits;
  private readonly startDuration;
  private readonly readyDuration;
  private readonly runDuration;

  constructor(source: TelemetrySource) {
    const meter = metrics.getMeter(SCOPE);
    this.starts = meter.createCounter('bgworker.worker.starts', { description: 'Worker threads launched.', unit: '{start}' });
    this.exits = meter.createCounter('bgworker.worker.exits', { description: 'Worker lives ended, by exit kind.', unit: '{exit}' });
    const histogram = (name: string, description: string) => meter.createHistogram(name, { description, unit: 's' });
    this.startDuration = histogram('bgworker.worker.start.duration', 'Registration to the thread launched, for first lives.');
    this.readyDuration = histogram('bgworker.worker.ready.duration', 'Registration (or launch) to ready.');
    this.runDuration = histogram('bgworker.worker.run.duration', 'Launch to exit of a worker life.');
    meter.createObservableGauge('bgworker.slot.usage', { description: 'Usable slots, used and free.', unit: '{slot}' }).addCallback((r) => {
      const s = source.slots();
      r.observe(s.used, { 'bgworker.slot.state': 'used' });
      r.observe(Math.max(0, s.usable - s.used), { 'bgworker.slot.state': 'free' });
    });
    meter.createObservableGauge('bgworker.worker.count', { description: 'Registered workers by state.', unit: '{worker}' }).addCallback((r) => {
      const byState = new Map<string, number>();
      for (const row of source.activity()) byState.set(row.state, (byState.get(row.state) ?? 0) + 1);
      for (const [state, n] of byState) r.observe(n, { 'bgworker.worker.state': state });
    });
    meter.createObservableGauge('bgworker.thread.count', { description: 'Threads running a worker life, and warm spares.', unit: '{thread}' }).addCallback((r) => {
      const t = source.threadCounts();
      r.observe(t.workers, { 'bgworker.thread.kind': 'worker' });
      r.observe(t.spares, { 'bgworker.thread.kind': 'spare' });
    });
  }

  /** A life began: its span starts, under the registering code's context. */
  lifeStarted(row: ActivityRow, carrier: TraceCarrier | undefined, startMs: number | undefined, startTime: Date): void {
    const parent: Context = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(`bgworker ${row.type}`, { startTime, attributes: lifeAttributes(row) }, parent);
    this.spans.get(row.slot)?.end();
    this.spans.set(row.slot, span);
    this.starts.add(1, { 'bgworker.worker.type': row.type });
    if (startMs !== undefined) this.startDuration.record(startMs / 1000, { 'bgworker.worker.type': row.type });
  }

  lifeReady(row: ActivityRow, ms: number): void {
    this.readyDuration.record(ms / 1000, { 'bgworker.worker.type': row.type });
    this.spans.get(row.slot)?.addEvent('ready');
  }

  /** The life ended: its span ends with how. */
  lifeEnded(row: ActivityRow, runMs: number | undefined): void {
    const kind = row.lastExit?.kind ?? 'normal';
    this.exits.add(1, { 'bgworker.worker.type': row.type, 'bgworker.exit.kind': kind });
    if (runMs !== undefined) this.runDuration.record(runMs / 1000, { 'bgworker.worker.type': row.type });
    const span = this.spans.get(row.slot);
    if (!span) return;
    this.spans.delete(row.slot);
    span.setAttributes({ 'bgworker.exit.kind': kind, 'bgworker.exit.code': row.lastExit?.code ?? 0 });
    if (FAILED_KINDS.has(kind)) {
      span.setAttribute('error.type', row.lastExit?.error?.code ?? kind);
      span.setStatus({ code: SpanStatusCode.ERROR, message: row.lastExit?.error?.message ?? kind });
    }
    span.end();
  }
}

function lifeAttributes(row: ActivityRow): Record<string, string | number> {
  return { 'bgworker.worker.name': row.name, 'bgworker.worker.type': row.type, 'bgworker.slot': row.slot, 'thread.id': row.pid ?? 0 };
}
