/**
 * The V8 options the proxy runs with: `npm start`, deploy/Dockerfile, deploy/k8s and every harness
 * that starts it pass these to node (a cluster's workers inherit them).
 *
 * --max-semi-space-size=8: V8 sizes the young generation from the machine's memory, up to 32 MB a
 * semi-space (64 MB of young generation, all of it resident once a busy proxy has cycled through it)
 * on a large machine. A request's objects die within milliseconds, so 8 MB semi-spaces collect them
 * as well: measured side by side on one core (64 connections, zero-latency mock, 4 paired rounds),
 * CPU per request 0.99 x, peak RSS 195 -> 168 MB.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']
