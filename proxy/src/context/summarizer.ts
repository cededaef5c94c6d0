import type { CancelSignal } from '../cancel.ts'
import { ProxyError } from '../errors.ts'
import { type AttemptContext, completeOnce } from '../providers/attempt.ts'
import type { ProviderRegistry } from '../providers/registry.ts'
import type { ChatRequest, Json } from '../providers/types.ts'
import type { Executor } from '../resilience/executor.ts'
import { messageText } from './tokens.ts'

const INSTRUCTIONS = (maxTokens: number) =>
  'You condense conversations so they fit a language model context window. Summarize the ' +
  `conversation below in at most ${maxTokens} tokens. Keep every fact, name, number, decision, ` +
  "constraint and open question, and the user's goals; write in the third person; no preamble."

/** The transcript handed to the summarization model: one `[role]: text` paragraph per message. */
export function transcript(messages: readonly Json[]): string {
  return messages.map((m) => `[${m.role}]: ${messageText(m)}`).join('\n\n')
}

/**
 * Writes summaries with a routed model, through the executor like any request (failover,
 * retries, breakers), non-streamed, temperature 0.
 */
export class Summarizer {
  readonly #registry: ProviderRegistry
  readonly #executor: Executor
  readonly #attempt: AttemptContext

  constructor(deps: { registry: ProviderRegistry; executor: Executor; attempt: AttemptContext }) {
    this.#registry = deps.registry
    this.#executor = deps.executor
    this.#attempt = deps.attempt
  }

  async summarize(
    model: string,
    messages: readonly Json[],
    maxTokens: number,
    signal: CancelSignal,
  ): Promise<string> {
    const route = this.#registry.route(model)
    if (!route) {
      throw new ProxyError('model_not_found', {
        message: `The summarization model '${model}' is not routed by this proxy (condensation.model).`,
      })
    }
    const body = {
      model,
      messages: [
        { role: 'system', content: INSTRUCTIONS(maxTokens) },
        { role: 'user', content: `Conversation to summarize:\n\n${transcript(messages)}` },
      ],
      max_tokens: maxTokens,
      temperature: 0,
    }
    const req: ChatRequest = {
      body,
      raw: Buffer.from(JSON.stringify(body)),
      stream: false,
      includeUsage: false,
    }
    const deadline = this.#attempt.monotonic() + this.#attempt.requestDeadlineMs
    const run = await this.#executor.run(
      this.#registry.order(route),
      (d, s, t) => completeOnce(d, req, s, t, this.#attempt),
      signal,
      { deadline },
    )
    const text = JSON.parse(run.value.body.toString('utf8'))?.choices?.[0]?.message?.content
    if (typeof text !== 'string' || text.trim() === '') {
      throw new ProxyError('condensation_failed', { message: 'The summarization model returned no text.' })
    }
    return text.trim()
  }
}
