/**
 * Test helpers: an HTTP server on 127.0.0.1 for a request handler, closed with the test,
 * and a Server-Sent Events client that collects the events it receives, so that a test
 * waits for an event instead of sleeping (each wait with a deadline, see deadline.ts).
 */
import { createServer, get, request, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { within } from './deadline.js';

/** Serve `handler` on an ephemeral port of 127.0.0.1 until the test ends; resolves with its base URL. */
export async function serve(t: Test, handler: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await within(new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res())), 'the server to listen');
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((res) => server.close(() => res()));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export interface HttpReply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One request, its whole answer. */
export function fetchText(url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpReply> {
  return within(new Promise<HttpReply>((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  }), `${o.method ?? 'GET'} ${url}`);
}

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  events: SseEvent[];
  /** Comment lines received (heartbeats). */
  comments: number;
  /** Resolves with the first event from index `from` on that satisfies `pred`. */
  waitFor(pred: (e: SseEvent) => boolean, what: string, from?: number): Promise<SseEvent>;
  close(): void;
  closed: Promise<void>;
}

/** Connect to an event stream; closed at the end of the test. */
export async function sse(t: Test, url: string): Promise<SseClient> {
  const res = await within(new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject)), `GET ${url}`);
  const checks = new Set<() => void>();
  const c: SseClient = {
    status: res.statusCode!,
    events: [],
    comments: 0,
    waitFor: (pred, what, from = 0) => {
      let check = (): void => undefined;
      const found = new Promise<SseEvent>((resolve) => {
        check = () => {
          const e = c.events.slice(from).find(pred);
          if (e) {
            checks.delete(check);
            resolve(e);
          }
        };
        checks.add(check);
        check();
      });
      return within(found, what).finally(() => checks.delete(check));
    },
    close: () => res.destroy(),
    closed: new Promise((resolve) => res.once('close', () => resolve())),
  };
  let buffer = '';
  res.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      if (lines.every((l) => l.startsWith(':'))) c.comments++;
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (event) c.events.push({ event, data });
    }
    for (const check of [...checks]) check();
  });
  res.on('error', () => undefined);
  t.teardown(() => c.close());
  return c;
}
