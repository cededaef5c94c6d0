import { describe, expect, it } from 'vitest'
import type { Json } from '../src/providers/types.ts'
import { EMBEDDINGS_REQUEST_SCHEMA } from '../src/translate/embeddings-schema.ts'
import { MESSAGES_REQUEST_SCHEMA } from '../src/translate/messages-schema.ts'
import { RESPONSES_REQUEST_SCHEMA } from '../src/translate/responses-schema.ts'
import { validator } from './translate-helpers.ts'

describe('MESSAGES_REQUEST_SCHEMA', () => {
  const minimal = { model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }

  it('accepts a full request, with block kinds it does not translate', async () => {
    const validate = await validator(MESSAGES_REQUEST_SCHEMA)
    expect(await validate(minimal)).toBeUndefined()
    const full = {
      ...minimal,
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A' } }],
        },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 't', name: 'f', input: {} },
            { type: 'thinking', thinking: 'x' },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'r' }] }],
        },
      ],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'tool', name: 'f' },
      stop_sequences: ['x'],
      stream: true,
      temperature: 1,
      top_p: 0.5,
      metadata: { user_id: 'u' },
    }
    expect(await validate(full)).toBeUndefined()
  })

  it('refuses what the translation could not read, naming where', async () => {
    const validate = await validator(MESSAGES_REQUEST_SCHEMA)
    const cases: [object, string][] = [
      [{ model: 'm', messages: minimal.messages }, '/max_tokens'],
      [{ ...minimal, messages: [] }, '/messages'],
      [{ ...minimal, messages: [{ role: 'system', content: 'x' }] }, '/messages/0/role'],
      [{ ...minimal, messages: [{ role: 'user', content: [{ text: 'x' }] }] }, '/messages/0/content/0/type'],
      [
        { ...minimal, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f' }] }] },
        '/messages/0/content/0/input',
      ],
      [
        { ...minimal, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url' } }] }] },
        '/messages/0/content/0/source/url',
      ],
      [{ ...minimal, temperature: 1.5 }, '/temperature'],
      [{ ...minimal, tool_choice: { type: 'tool' } }, '/tool_choice/name'],
    ]
    for (const [body, path] of cases) {
      expect(await validate(body), JSON.stringify(body)).toBe(path)
    }
  })
})

describe('RESPONSES_REQUEST_SCHEMA', () => {
  it('accepts string input, item lists, and what the translation refuses with its own message', async () => {
    const validate = await validator(RESPONSES_REQUEST_SCHEMA)
    expect(await validate({ model: 'm', input: 'hi' })).toBeUndefined()
    expect(
      await validate({
        model: 'm',
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c', output: 'r' },
          { type: 'reasoning', id: 'rs', summary: [] },
        ],
        instructions: 'x',
        tools: [{ type: 'function', name: 'f', parameters: null, strict: null }, { type: 'web_search' }],
        tool_choice: 'auto',
        max_output_tokens: 5,
        temperature: 2,
        previous_response_id: 'resp_0',
        stream: true,
      }),
    ).toBeUndefined()
  })

  it('refuses what the translation could not read, naming where', async () => {
    const validate = await validator(RESPONSES_REQUEST_SCHEMA)
    const cases: [Json, string][] = [
      [{ input: 'x' }, '/model'],
      [{ model: 'm', input: [{ content: 'x' }] }, '/input/0/role'],
      [
        { model: 'm', input: [{ role: 'user', content: [{ type: 'input_text' }] }] },
        '/input/0/content/0/text',
      ],
      [{ model: 'm', input: [{ type: 'function_call', call_id: 'c' }] }, '/input/0/name'],
      [{ model: 'm', input: 7 }, '/input'],
      [{ model: 'm', tools: [{ type: 'function' }] }, '/tools/0/name'],
      [{ model: 'm', max_output_tokens: 0 }, '/max_output_tokens'],
      [{ model: 'm', temperature: 2.5 }, '/temperature'],
      [{ model: 'm', text: { format: { type: 'json_schema' } } }, '/text/format/name'],
    ]
    for (const [body, path] of cases) {
      expect(await validate(body), JSON.stringify(body)).toBe(path)
    }
  })
})

describe('EMBEDDINGS_REQUEST_SCHEMA', () => {
  it('accepts every input form of the embeddings API', async () => {
    const validate = await validator(EMBEDDINGS_REQUEST_SCHEMA)
    for (const input of ['hello', ['a', 'b'], [1, 2, 3], [[1, 2], [3]]]) {
      expect(
        await validate({ model: 'e', input, encoding_format: 'base64', dimensions: 8, user: 'u' }),
      ).toBeUndefined()
    }
  })

  it('refuses empty inputs and bad options', async () => {
    const validate = await validator(EMBEDDINGS_REQUEST_SCHEMA)
    const cases: [Json, string][] = [
      [{ input: 'x' }, '/model'],
      [{ model: 'e' }, '/input'],
      [{ model: 'e', input: '' }, '/input'],
      [{ model: 'e', input: [] }, '/input'],
      [{ model: 'e', input: [[]] }, '/input'],
      [{ model: 'e', input: [1, 'a'] }, '/input'],
      [{ model: 'e', input: 'x', encoding_format: 'int8' }, '/encoding_format'],
      [{ model: 'e', input: 'x', dimensions: 0 }, '/dimensions'],
    ]
    for (const [body, path] of cases) {
      expect(await validate(body), JSON.stringify(body)).toBe(path)
    }
  })
})
