/**
 * The service's long-lived worker: it attaches the echo segment, becomes the receiver of
 * the request queue and the sender of the reply queue, and answers each request with a
 * JSON reply (its sequence number, the payload's length, the payload upper-cased), using
 * the blocking queue calls as a worker may. It ends when either queue is detached (the
 * host closed the channel) or on SIGTERM, whose latch set ends the blocking receive.
 */
import { ShmMq, ShmToc, type WorkerContext } from '../../lib/worker/index.js';
import { ECHO_KEY_REPLIES, ECHO_KEY_REQUESTS, ECHO_TOC_MAGIC, type EchoArg } from './layout.js';

export async function main(ctx: WorkerContext<EchoArg>): Promise<void> {
  const seg = await ctx.dsmAttach(ctx.mainArg.dsm);
  if (!seg) throw new Error('the echo segment is gone');
  const toc = ShmToc.attach(ECHO_TOC_MAGIC, seg.buffer, 0);
  if (!toc) throw new Error('bad magic number in the echo segment');
  const me = ctx.mqEndpoint();
  const requests = ShmMq.open(seg.buffer, toc.lookup(ECHO_KEY_REQUESTS)!);
  const replies = ShmMq.open(seg.buffer, toc.lookup(ECHO_KEY_REPLIES)!);
  requests.setReceiver(me);
  replies.setSender(me);
  const input = ctx.mqAttach(requests, 'receiver');
  const output = ctx.mqAttach(replies, 'sender');
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  ctx.reportActivity('waiting for requests');
  for (let seq = 1; ; seq++) {
    const r = input.receive();
    if (r.result !== 'success') break;
    const text = decoder.decode(r.data!);
    const reply = encoder.encode(JSON.stringify({ seq, bytes: r.data!.byteLength, echo: text.toUpperCase() }));
    if (output.send(reply) !== 'success') break;
    ctx.checkForInterrupts();
  }
  input.detach();
  output.detach();
  seg.detach();
}
