import type { FastifyInstance } from 'fastify'
import type { Condenser } from '../context/condenser.ts'
import { ProxyError } from '../errors.ts'
import { parseChatRequest, routeFor } from '../providers/chat-request.ts'
import type { ProviderRegistry, Route } from '../providers/registry.ts'
import { CHAT_REQUEST_SCHEMA } from './chat-schema.ts'

export interface CondenseDeps {
  readonly registry: ProviderRegistry
  readonly condenser: Condenser
  /** The route's context window (configuration, then model discovery), for a default target. */
  readonly windowOf: (route: Route) => number | undefined
  /** condensation.safety_margin, applied to a default target. */
  readonly margin: number
}

const EMPTY = Buffer.alloc(0)

/**
 * POST /v1/context/condense {model, messages, target_tokens}: the conversation condensed to at
 * most target_tokens (default: the model's context window less the safety margin): system
 * messages and the most recent turns kept, older turns replaced by a summary (summary cache).
 * Token counts by gpt-tokenizer (o200k_base). x-cache: HIT when the summary came from the
 * summary cache, MISS when it was written now, BYPASS when nothing had to be condensed.
 */
export function registerCondenseRoute(app: FastifyInstance, deps: CondenseDeps): void {
  const schema = {
    body: {
      ...CHAT_REQUEST_SCHEMA,
      properties: {
        ...CHAT_REQUEST_SCHEMA.properties,
        target_tokens: { type: ['integer', 'null'], minimum: 16 },
      },
    },
  }
  app.post('/v1/context/condense', { schema, config: { route: 'condense' } }, async (request, reply) => {
    const req = parseChatRequest(request.body, request.rawBody ?? EMPTY)
    const model: string = req.body.model
    request.record.model = model
    const route = routeFor(deps.registry, model)
    let target = req.body.target_tokens
    if (target === undefined || target === null) {
      const window = deps.windowOf(route)
      if (window === undefined) {
        throw new ProxyError('invalid_request', {
          param: 'target_tokens',
          message: `Missing 'target_tokens': the context window of '${model}' is not known to this proxy.`,
        })
      }
      target = Math.floor(window * (1 - deps.margin))
    }
    if (!Number.isInteger(target) || target < 16) {
      throw new ProxyError('invalid_request', {
        param: 'target_tokens',
        message: "Invalid 'target_tokens': expected an integer of at least 16.",
      })
    }
    const result = await deps.condenser.condense({
      model: route.name,
      messages: req.body.messages,
      targetTokens: target,
    })
    reply.header('x-cache', !result.condensed ? 'BYPASS' : result.summaryCached ? 'HIT' : 'MISS')
    return {
      object: 'context.condensed',
      model,
      condensed: result.condensed,
      within_target: result.withinTarget,
      tokens: { before: result.tokensBefore, after: result.tokensAfter, target: result.targetTokens },
      summary: result.condensed
        ? {
            messages_replaced: result.summarized,
            tokens: result.summaryTokens,
            cached: result.summaryCached,
            model: result.summaryModel,
          }
        : null,
      messages: result.messages,
    }
  })
}
