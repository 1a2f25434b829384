/**
 * The trace context of the code that registered this worker (host/telemetry.ts injects it
 * into the launch), restored around the entry, so that spans the worker makes join the
 * caller's trace. @opentelemetry/api is loaded only when a context came: a worker of a host
 * without an SDK never loads it. Spans are made by the SDK the worker module installs in its
 * own thread (a TracerProvider, a context manager, the same propagator as the host's);
 * without one the restored context is inert.
 */
type Runner = <T>(fn: () => T) => T;

const direct: Runner = (fn) => fn();

export async function traceRunner(carrier: Record<string, string> | undefined): Promise<Runner> {
  if (!carrier) return direct;
  try {
    const api = await import('@opentelemetry/api');
    const parent = api.propagation.extract(api.ROOT_CONTEXT, carrier);
    return (fn) => api.context.with(parent, fn);
  } catch {
    return direct;
  }
}
