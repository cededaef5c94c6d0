import { HttpRequestInterceptor } from '@mswjs/interceptors/http'
import type { AnyHandler } from 'msw'
import { defineNetwork, InterceptorSource } from 'msw/experimental'

export interface MswNetworkOptions {
  /** What happens to requests no handler matches; default 'bypass' (they reach the real network). */
  onUnhandledFrame?: 'bypass' | 'warn' | 'error'
}

/**
 * An msw network that also sees undici's own Pool/Client/request (which setupServer misses: its
 * interceptors patch http.ClientRequest and the global fetch, not the sockets undici opens).
 * @mswjs/interceptors' HttpRequestInterceptor works at the net.Socket level and parses HTTP/1.1
 * off the socket, so any client is seen; msw/experimental's defineNetwork + InterceptorSource
 * feed those requests to ordinary msw handlers. Call `await network.enable()` / `network.disable()`.
 */
export function createMswNetwork(handlers: AnyHandler[], options: MswNetworkOptions = {}) {
  return defineNetwork({
    sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })],
    handlers,
    context: { quiet: true },
    onUnhandledFrame: options.onUnhandledFrame ?? 'bypass',
  })
}
