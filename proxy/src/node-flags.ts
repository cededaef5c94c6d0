import { join } from 'node:path'

/**
 * The V8 options the proxy runs with: `npm start`, deploy/Dockerfile, deploy/k8s and every harness
 * that starts it pass these to node (a cluster's workers inherit them).
 *
 * --max-semi-space-size=16: V8 sizes the young generation from the machine's memory, up to 32 MB a
 * semi-space (64 MB of young generation, all of it resident once a busy proxy has cycled through it)
 * on a large machine. The size is a trade of memory for CPU: a scavenge costs about what survives it
 * (the requests in flight), whatever the size, so a young generation twice as large is collected
 * half as often (8 MB semi-spaces at 22,000 requests/s on one core: every 10 ms, 0.5-0.7 ms each,
 * 7 % of the CPU). Measured side by side (four proxies on one core, 64 connections each,
 * zero-latency mock, warm rounds, A/B/B/A) and through `npm run bench:memory`'s extreme tier, with
 * the compile cache below: 16 MB costs 3-5 % less CPU per request than 8 MB and 13-16 MB more peak
 * RSS (30 minutes: 191.8 against 178.9 MB, both flat), 32 MB about 10 % less CPU than 8 and 44 MB
 * more (225 against 181 MB without the cache: past the 200 MB the proxy is held to). 16 keeps that
 * bound, 8 MB short of it; a deployment short of memory starts node with 8, one with memory to
 * spare with 32 (the last value on node's command line wins; NODE_OPTIONS does not override it).
 *
 * --initial-old-space-size=64: V8 starts marking the old generation for a full collection as soon
 * as the room left under its limit is smaller than the young generation (a scavenge could promote
 * that much), and it sets that limit from what the last full collection left, times a growing
 * factor. A proxy's live heap is small (about 30 MB streaming at 1,000 streams/s), so the room left
 * after a full collection is already short of 32 MB of young generation: V8 began the next one at
 * once, a full collection every second or two (13 to 21 in 30 s, measured), each with marking
 * steps of 16 to 22 ms on the main thread that every request arriving meanwhile waited for (time
 * to first byte p99 13 to 15 ms through the proxy at 1,000 streams/s). An initial old
 * space size set by the embedder is also V8's floor for that limit ("skip full GCs below that
 * threshold"): with 64 MB, one full collection in 60 s at that load (time to first byte p99 3 to
 * 5 ms), and 2 to 4 % less CPU a request (paired). More garbage waits for a collection: peak RSS
 * through the extreme tier for 30 minutes 192.9 MB (194.7 without), flat; with 2,000 slow streams
 * open, 237 MB (210 without). proxy/test/launch.test.ts checks the floor on the node it runs on.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--initial-old-space-size=64']

/** Where node keeps the proxy's compile cache, under the repository (or the image's /app). */
export const COMPILE_CACHE_DIR = 'node_modules/.cache/node-compile-cache'

/**
 * The environment that starts the proxy with node's compile cache (NODE_COMPILE_CACHE), as npm
 * start, deploy/Dockerfile (deploy/k8s runs its image) and every harness start it; a value the
 * environment already has wins, and NODE_DISABLE_COMPILE_CACHE=1 turns the cache off.
 *
 * The cache keeps each source with its types stripped, and V8's code for it, keyed by the file's
 * path and content. A proxy whose sources are all found there never loads node's TypeScript
 * stripper (amaro: swc compiled to WebAssembly), about 20 MB of resident memory an idle proxy does
 * not carry (125 against 148 MB, measured), and the CPU a request costs is the same (paired, four
 * proxies on one core: +0.1 %, -0.5 %). server.ts writes the cache as soon as its modules are
 * loaded; `npm run setup` and the container image's build fill it ahead of the first start.
 */
export function withCompileCache(env: NodeJS.ProcessEnv, root: string): NodeJS.ProcessEnv {
  return env.NODE_COMPILE_CACHE === undefined
    ? { ...env, NODE_COMPILE_CACHE: join(root, COMPILE_CACHE_DIR) }
    : env
}
