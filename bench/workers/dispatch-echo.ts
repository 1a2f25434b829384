/**
 * dispatch.rtt's long-lived bgworker: the receiver of the request queue and the sender of
 * the reply queue in the host's region (dispatch-layout.ts). It sends every request back as
 * it came, with the blocking queue calls a worker may use, until the host detaches.
 */
import { ShmMq, type WorkerContext } from '../../lib/worker/index.js';
import { DISPATCH_REGION, repliesAt, requestsAt } from './dispatch-layout.js';

export function main(ctx: WorkerContext): void {
  const region = ctx.shmem(DISPATCH_REGION);
  const me = ctx.mqEndpoint();
  const requests = ShmMq.open(region.buffer, requestsAt(region.byteOffset));
  const replies = ShmMq.open(region.buffer, repliesAt(region.byteOffset));
  requests.setReceiver(me);
  replies.setSender(me);
  const input = ctx.mqAttach(requests, 'receiver');
  const output = ctx.mqAttach(replies, 'sender');
  for (;;) {
    const r = input.receive();
    if (r.result !== 'success' || output.send(r.data!) !== 'success') break;
  }
  input.detach();
  output.detach();
}
