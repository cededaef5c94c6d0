import type { Json } from '../providers/types.ts'
import { ClientInputError } from './errors.ts'

// Anthropic Messages request -> OpenAI chat completion request (the mirror of toAnthropicRequest in
// providers/anthropic-translate.ts). What chat cannot express and the answer does not depend on
// (thinking, top_k, cache_control, server tools) is dropped: the answer is still useful without it,
// an error is not. A plain-text document goes as text. Content chat cannot carry (a PDF, an image
// or a document by file id, a block of a type it does not know) is refused (ClientInputError, a 400 naming the block when no deployment of another
// wire takes the request): answered without it, "what does the document say" would get a confident
// answer about nothing.

const TOOL_CHOICES: Record<string, string> = { auto: 'auto', any: 'required', none: 'none' }

function textOfBlocks(content: Json, separator: string): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  const texts: string[] = []
  for (const block of content)
    if (block?.type === 'text' && typeof block.text === 'string') texts.push(block.text)
  return texts.join(separator)
}

/** An Anthropic image block -> a chat image part; undefined for a source chat cannot carry. */
function imagePart(block: Json): Json {
  const source = block?.source
  if (source?.type === 'base64') {
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } }
  }
  if (source?.type === 'url') return { type: 'image_url', image_url: { url: source.url } }
  return undefined
}

/** A user turn: its tool results first (chat wants them right after the calls), then the rest. */
function userTurn(content: Json[], messages: Json[], turn: number): void {
  const parts: Json[] = []
  let results = 0
  for (let i = 0; i < content.length; i++) {
    const block = content[i]
    if (block?.type === 'text') parts.push({ type: 'text', text: block.text })
    else if (block?.type === 'image') {
      const part = imagePart(block)
      if (!part) throw uncarried(turn, i, `an image whose source is ${JSON.stringify(block?.source?.type)}`)
      parts.push(part)
    } else if (block?.type === 'tool_result') {
      results++
      messages.push({
        role: 'tool',
        tool_call_id: block.tool_use_id,
        content: textOfBlocks(block.content, '\n'),
      })
      // A tool message holds text only: the images a tool returned go to the user message after it.
      if (Array.isArray(block.content)) {
        for (const inner of block.content) {
          const part = inner?.type === 'image' ? imagePart(inner) : undefined
          if (part) parts.push(part)
        }
      }
    } else if (block?.type === 'document') {
      const text = documentText(block)
      if (text === undefined)
        throw uncarried(turn, i, `a document whose source is ${JSON.stringify(block?.source?.type)}`)
      parts.push({ type: 'text', text })
    } else throw uncarried(turn, i, `a ${JSON.stringify(block?.type)} block`)
  }
  if (parts.length > 0) messages.push({ role: 'user', content: parts })
  else if (results === 0)
    throw new ClientInputError(
      `messages[${turn}].content`,
      `messages[${turn}].content: a user turn needs content.`,
    )
}

/**
 * A plain-text document (its text, or its content blocks' text) as the text chat can carry, headed
 * by its title and context when it has them; undefined for a PDF or a file id.
 */
function documentText(block: Json): string | undefined {
  const source = block?.source
  let text: string
  if (source?.type === 'text' && typeof source.data === 'string') text = source.data
  else if (source?.type === 'content') text = textOfBlocks(source.content, '\n')
  else return undefined
  const head = [block.title, block.context].filter((x) => typeof x === 'string' && x !== '')
  return head.length > 0 ? `${head.join('\n')}\n\n${text}` : text
}

function uncarried(turn: number, block: number, what: string): ClientInputError {
  return new ClientInputError(
    `messages[${turn}].content[${block}]`,
    `messages[${turn}].content[${block}]: ${what} cannot be sent to a chat-completions provider; send it as text or an image with a base64 or url source.`,
  )
}

function assistantTurn(content: Json[], messages: Json[]): void {
  const toolCalls: Json[] = []
  for (const block of content) {
    if (block?.type !== 'tool_use') continue
    toolCalls.push({
      id: block.id,
      type: 'function',
      function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
    })
  }
  const text = textOfBlocks(content, '')
  const message: Json = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text }
  if (toolCalls.length > 0) message.tool_calls = toolCalls
  messages.push(message)
}

function chatTools(tools: Json[]): Json[] {
  const out: Json[] = []
  for (const tool of tools) {
    // Server tools (web search, bash, ...) have a versioned type and no schema: the provider
    // behind a chat endpoint cannot run them.
    if (tool?.type !== undefined && tool.type !== 'custom') continue
    if (typeof tool?.name !== 'string') continue
    const fn: Json = { name: tool.name, parameters: tool.input_schema ?? { type: 'object', properties: {} } }
    if (typeof tool.description === 'string') fn.description = tool.description
    out.push({ type: 'function', function: fn })
  }
  return out
}

function applyToolChoice(choice: Json, out: Record<string, Json>): void {
  if (choice?.type === 'tool') out.tool_choice = { type: 'function', function: { name: choice.name } }
  else if (TOOL_CHOICES[choice?.type]) out.tool_choice = TOOL_CHOICES[choice.type]
  if (choice?.disable_parallel_tool_use === true) out.parallel_tool_calls = false
}

/** Anthropic Messages request -> OpenAI chat completion request. */
export function messagesToChatRequest(body: Json): Record<string, Json> {
  const messages: Json[] = []
  const system = textOfBlocks(body.system, '\n\n')
  if (system !== '') messages.push({ role: 'system', content: system })
  const turns: Json[] = body.messages ?? []
  for (let turn = 0; turn < turns.length; turn++) {
    const { role, content } = turns[turn]
    if (!Array.isArray(content)) messages.push({ role, content: typeof content === 'string' ? content : '' })
    else if (role === 'assistant') assistantTurn(content, messages)
    else userTurn(content, messages, turn)
  }

  const out: Record<string, Json> = { model: body.model, messages }
  if (typeof body.max_tokens === 'number') out.max_tokens = body.max_tokens
  if (typeof body.temperature === 'number') out.temperature = body.temperature
  if (typeof body.top_p === 'number') out.top_p = body.top_p
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences
  if (body.stream === true) {
    out.stream = true
    // Anthropic streams always end with the usage; chat streams only when asked.
    out.stream_options = { include_usage: true }
  }
  if (typeof body.metadata?.user_id === 'string') out.user = body.metadata.user_id
  const tools = Array.isArray(body.tools) ? chatTools(body.tools) : []
  if (tools.length > 0) {
    out.tools = tools
    // Chat refuses a tool_choice without tools.
    applyToolChoice(body.tool_choice, out)
  }
  return out
}
