/**
 * The V8 options the proxy runs with: `npm start`, deploy/Dockerfile, deploy/k8s and every harness
 * that starts it pass these to node (a cluster's workers inherit them).
 *
 * --max-semi-space-size=8: V8 sizes the young generation from the machine's memory, up to 32 MB a
 * semi-space (64 MB of young generation, all of it resident once a busy proxy has cycled through it)
 * on a large machine. The size is a trade of memory for CPU: a scavenge costs about what survives it
 * (the requests in flight), whatever the size, so a young generation twice as large is collected
 * half as often. At 22,000 requests/s on one core, 8 MB semi-spaces are scavenged every 10 ms
 * (0.5-0.7 ms each, 7 % of the CPU). Measured side by side (four proxies on one core, 64
 * connections each, zero-latency mock, 8 warm rounds) and through `npm run bench:memory`'s extreme
 * tier: 16 MB costs about 5 % less CPU per request and 17 MB more peak RSS (198 against 181 MB),
 * 32 MB about 10 % less CPU and 44 MB more (225 MB, past the 200 MB the proxy is held to). 8 keeps
 * that bound with room to spare; a deployment with memory to spare starts node with a larger value
 * (the last one on node's command line wins; NODE_OPTIONS does not override it).
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']
