/** dispatch.rtt's baseline task for piscina's warm run(): the request comes back as it came. */
export default function echo(n: number): number {
  return n;
}
