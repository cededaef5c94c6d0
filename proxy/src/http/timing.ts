/**
 * The Server-Timing header that lets a report attribute latency: time spent waiting for
 * providers, time spent waiting between attempts, and the proxy's own time (the rest).
 */
export function serverTiming(totalMs: number, upstreamMs: number, waitMs: number): string {
  const proxyMs = Math.max(0, totalMs - upstreamMs - waitMs)
  let value = `proxy;dur=${proxyMs.toFixed(2)}, upstream;dur=${upstreamMs.toFixed(2)}`
  if (waitMs > 0) value += `, retry-wait;dur=${waitMs.toFixed(2)}`
  return value
}
