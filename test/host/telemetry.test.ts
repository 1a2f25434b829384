/**
 * OpenTelemetry through the real SDK's in-memory exporters: a span per worker life, under
 * the context active where the worker was registered, carried into the worker so that its
 * own spans join the same trace; and the host's metrics on the application's MeterProvider.
 */
import t from 'tap';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BGWORKER_SHMEM_ACCESS, type ActivityRow } from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

// The application's SDK, installed before the host is made (the meter is taken then).
const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const reader = new TestReader();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

t.test('a worker life is a span under the registering code, and the worker\'s spans join its trace', async (t) => {
  const log = recordingLogger();
  const pm = makeHost(t, { logger: log });
  await pm.start();
  const stopped = nextEvent<[ActivityRow]>(pm, 'stopped', 'the traced worker to end');
  const request = await trace.getTracer('service').startActiveSpan('handle request', async (span) => {
    await pm.registerDynamicBackgroundWorker({ name: 'traced', type: 'otel', module: fixture('otel-worker'), flags: BGWORKER_SHMEM_ACCESS });
    span.end();
    return span.spanContext();
  });
  await stopped;
  const life = spans.getFinishedSpans().find((s) => s.name === 'bgworker otel');
  t.ok(life, 'the life\'s span was exported');
  t.equal(life!.spanContext().traceId, request.traceId, 'in the request\'s trace');
  t.equal(life!.parentSpanContext?.spanId, request.spanId, 'a child of the span that registered it');
  t.match(life!.attributes, { 'bgworker.worker.name': 'traced', 'bgworker.worker.type': 'otel', 'bgworker.exit.kind': 'normal', 'bgworker.exit.code': 0 });
  t.ok(typeof life!.attributes['bgworker.slot'] === 'number' && typeof life!.attributes['thread.id'] === 'number', 'slot and thread id');
  t.ok(life!.events.some((e) => e.name === 'ready'), 'readiness as a span event');
  const line = await log.waitFor(/^span /, 'the worker to report its own span');
  t.equal(line, `span ${request.traceId} ${request.spanId}`, 'the worker\'s span joined the caller\'s trace, under the registering span');
});

t.test('a failed life ends its span with an error status', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const stopped = nextEvent<[ActivityRow]>(pm, 'stopped', 'the thrower to end');
  await trace.getTracer('service').startActiveSpan('another request', async (span) => {
    await pm.registerDynamicBackgroundWorker({ name: 'thrower', type: 'throwing', module: fixture('throw-at-once'), flags: BGWORKER_SHMEM_ACCESS });
    span.end();
  });
  await stopped;
  const life = spans.getFinishedSpans().find((s) => s.name === 'bgworker throwing');
  t.equal(life?.status.code, 2, 'status ERROR');
  t.equal(life?.attributes['bgworker.exit.kind'], 'error');
});

t.test('the host\'s metrics reach the application\'s MeterProvider', async (t) => {
  const { resourceMetrics } = await reader.collect();
  const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  const byName = (n: string) => all.find((m) => m.descriptor.name === n);
  t.ok(byName('bgworker.worker.starts')?.dataPoints.some((p) => p.attributes['bgworker.worker.type'] === 'otel' && p.value === 1), 'starts by type');
  t.ok(byName('bgworker.worker.exits')?.dataPoints.some((p) => p.attributes['bgworker.exit.kind'] === 'error'), 'exits by kind');
  t.equal(byName('bgworker.worker.run.duration')?.descriptor.unit, 's', 'durations in seconds');
  t.ok(byName('bgworker.slot.usage'), 'slot usage, observed at collection');
});
