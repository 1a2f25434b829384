/**
 * The dashboard's live feed: Server-Sent Events (text/event-stream) to a bounded set of
 * clients. Each client gets the current snapshot when it connects, then each one the
 * dashboard broadcasts; a comment line goes out every heartbeatMs so that proxies and the
 * browser keep an idle connection open and a dead peer is found by the write that fails.
 *
 * A client is removed when its request closes (the browser left, the socket broke) or the
 * feed is closed; a client past maxClients is answered 503 with Retry-After, so a page left
 * open in many tabs cannot hold an unbounded number of sockets. A client that does not
 * read has its writes buffered by Node; one whose buffer passes maxBufferedBytes is
 * dropped rather than let grow, and its EventSource reconnects when it reads again.
 *
 * The heartbeat timer runs only while a client is connected and is unref'd, so an open
 * dashboard never keeps the process alive by itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EventStreamOptions {
  maxClients: number;
  heartbeatMs: number;
  /** Drop a client whose unsent output passes this many bytes. */
  maxBufferedBytes: number;
  /** Told when the first client connects and when the last one leaves. */
  onActive?(active: boolean): void;
}

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly o: EventStreamOptions) {}

  get size(): number {
    return this.clients.size;
  }

  /** Take `req` as a client and send it `first`; or refuse it with 503 when full. */
  accept(req: IncomingMessage, res: ServerResponse, first: string): void {
    if (this.clients.size >= this.o.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`the dashboard serves at most ${this.o.maxClients} live clients\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    const drop = (): void => this.drop(res);
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
    if (this.clients.size === 1) this.activate(true);
    this.write(res, 'snapshot', first);
  }

  /** Send one event to every client. */
  broadcast(event: string, data: string): void {
    for (const res of this.clients) this.write(res, event, data);
  }

  /** End every client's stream. */
  close(): void {
    for (const res of [...this.clients]) {
      this.drop(res);
      res.end();
    }
  }

  private write(res: ServerResponse, event: string, data: string): void {
    if (res.writableLength > this.o.maxBufferedBytes) {
      this.drop(res);
      res.destroy();
      return;
    }
    res.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  private drop(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0) this.activate(false);
  }

  private activate(active: boolean): void {
    if (active) {
      this.heartbeat = setInterval(() => {
        for (const res of this.clients) res.write(': heartbeat\n\n');
      }, this.o.heartbeatMs).unref();
    } else if (this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
    this.o.onActive?.(active);
  }
}
