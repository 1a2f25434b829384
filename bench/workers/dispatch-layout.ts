/**
 * What dispatch.rtt's host and its long-lived echo worker share: two shm_mq queues in one
 * named region of the host's segment, requests at offset 0 and replies after them.
 */
export const DISPATCH_REGION = 'bench.dispatch';
export const DISPATCH_QUEUE_BYTES = 4096;
export const DISPATCH_REGION_BYTES = 2 * DISPATCH_QUEUE_BYTES;

/** Byte offsets of the two queues within the segment, given the region's own offset. */
export const requestsAt = (regionOffset: number): number => regionOffset;
export const repliesAt = (regionOffset: number): number => regionOffset + DISPATCH_QUEUE_BYTES;
