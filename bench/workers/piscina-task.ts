/** piscina task for start.dynamic's comparison: returns the wall-clock time it began. */
export default function task(): number {
  return performance.timeOrigin + performance.now();
}
