import { spawnSync } from 'node:child_process'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_CONTAINERS, membersOf, repeatedKey, scanJson } from '../src/http/json-shape.ts'
import { CLIENT_KEY, chatBody, type Harness, postChat, startAll } from './helpers.ts'

describe('HTTP surface', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startAll({ overrides: { server: { body_limit_mb: 0.05 } } })
  })
  afterAll(() => h.close())

  it('answers unreadable JSON with 400 invalid_json', async () => {
    const res = await postChat(h.url, '{"model": ')
    expect(res.status).toBe(400)
    expect((await res.json()).error).toMatchObject({ code: 'invalid_json', type: 'invalid_request_error' })
  })

  // The harness takes bodies of up to 50 KB.
  it.each([
    ['small', ''],
    ['20 KB', 'x'.repeat(20_000)],
  ])(
    'refuses %s JSON nested more than 128 levels deep with 400 invalid_json; brackets in strings are text',
    async (_size, padding) => {
      // The request object is level 1; `metadata` holds `levels` arrays inside it.
      const nested = (levels: number) => {
        const body = JSON.stringify(chatBody({ metadata: 0, ...(padding ? { user: padding } : {}) }))
        return body.replace('"metadata":0', `"metadata":${'['.repeat(levels)}1${']'.repeat(levels)}`)
      }
      const tooDeep = await postChat(h.url, nested(128))
      expect(tooDeep.status).toBe(400)
      expect((await tooDeep.json()).error).toMatchObject({
        code: 'invalid_json',
        message: 'The request body is nested more than 128 levels deep.',
      })
      // 128 levels is within the limit: whatever the route makes of the field, the JSON is accepted.
      const deepest = await postChat(h.url, nested(127))
      expect((await deepest.json()).error?.code).not.toBe('invalid_json')
      const text = `"\\${'[{'.repeat(padding ? 10_000 : 500)}`
      const inString = await postChat(h.url, chatBody({ messages: [{ role: 'user', content: text }] }))
      expect(inString.status).toBe(200)
    },
  )

  // JSON.parse keeps a repeated key's last value, a provider's parser may keep the first, and the
  // proxy forwards the bytes: it would validate, route and cache one request and send another.
  it.each([
    ['small', ''],
    ['20 KB', 'x'.repeat(20_000)],
  ])(
    'refuses %s JSON naming a key twice in one object with 400 invalid_json, naming the key',
    async (_size, padding) => {
      const body = JSON.stringify(chatBody(padding ? { user: padding } : {}))
      const cases: [string, string][] = [
        [body.replace('"model":"gpt-4o-mini"', '"model":"gpt-4o-mini","model":"gpt-4o"'), 'model'],
        [body.replace('"content":', '"content":"first","content":'), 'content'],
        [body.replace('"max_tokens":', '"\\u006dax_tokens" : 5000, "max_tokens":'), 'max_tokens'],
        [body.replace('{', `{"${'k'.repeat(100)}":1,"${'k'.repeat(100)}":2,`), `${'k'.repeat(64)}...`],
      ]
      for (const [text, key] of cases) {
        const res = await postChat(h.url, text)
        expect(res.status, text.slice(0, 80)).toBe(400)
        expect((await res.json()).error).toMatchObject({
          code: 'invalid_json',
          message: `The request body names the key "${key}" twice in one object: send each key once.`,
        })
      }
      // The same key in two objects, and a key's text inside a string, are not repeats.
      const twoMessages = chatBody({
        messages: [
          { role: 'user', content: '"model":"gpt-4o", "content": {"a":1,"a":2}' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'again' },
        ],
        ...(padding ? { user: padding } : {}),
      })
      expect((await postChat(h.url, twoMessages)).status).toBe(200)
    },
  )

  it('names the offending parameter of an invalid request', async () => {
    const cases: [unknown, string][] = [
      [{ messages: [{ role: 'user', content: 'x' }] }, 'model'],
      [{ model: 'gpt-4o-mini', messages: 'hi' }, 'messages'],
      [{ model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
      [{ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
      [chatBody({ stream: 'yes' }), 'stream'],
      [chatBody({ max_tokens: -1 }), 'max_tokens'],
      [chatBody({ temperature: 3 }), 'temperature'],
      [[1, 2], ''],
    ]
    for (const [body, param] of cases) {
      const res = await postChat(h.url, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      const { error } = await res.json()
      expect(error.code).toBe('invalid_request')
      if (param) expect(error.param).toBe(param)
    }
  })

  it('answers Expect: 100-continue only to a request it lets in, before reading its body', async () => {
    const { hostname, port } = new URL(h.url)
    // One request on its own connection (closed after the answer); `body` is sent once the proxy
    // has answered something: 100 Continue, or at once its final answer.
    const exchange = (headers: string, length: number, body?: string) =>
      new Promise<{ first: string; all: string }>((resolve, reject) => {
        const socket = connect(Number(port), hostname)
        let all = ''
        let first: string | undefined
        socket.on('data', (chunk) => {
          all += chunk.toString()
          if (first === undefined) {
            first = all
            if (body !== undefined && first.startsWith('HTTP/1.1 100 ')) socket.write(body)
          }
        })
        socket.on('end', () => resolve({ first: first ?? '', all }))
        socket.on('error', reject)
        socket.write(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\n` +
            `content-length: ${length}\r\nexpect: 100-continue\r\nconnection: close\r\n${headers}\r\n`,
        )
      })
    const key = `authorization: Bearer ${CLIENT_KEY}\r\n`
    const body = JSON.stringify(chatBody())
    const noKey = await exchange('', body.length)
    expect(noKey.first).toMatch(/^HTTP\/1\.1 401 /)
    const tooLarge = await exchange(key, 10 * 1024 * 1024)
    expect(tooLarge.first).toMatch(/^HTTP\/1\.1 413 /)
    const admitted = await exchange(key, Buffer.byteLength(body), body)
    expect(admitted.first).toBe('HTTP/1.1 100 Continue\r\n\r\n')
    expect(admitted.all).toMatch(/HTTP\/1\.1 200 OK/)
  })

  it('ends the connection of a refused request whose large body it has not read, once the answer is out', async () => {
    const { hostname, port } = new URL(h.url)
    const socket = connect(Number(port), hostname)
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk.toString()
    })
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.on('error', () => {})
    let ended = false
    void closed.then(() => {
      ended = true
    })
    socket.write(
      'POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n',
    )
    // No key: refused at once. Node alone would read and drop all 100 MB to keep the connection.
    const chunk = Buffer.alloc(1024 * 1024, 0x20)
    let sent = 0
    while (!ended && sent < 40) {
      if (!socket.write(chunk))
        await Promise.race([closed, new Promise((resolve) => socket.once('drain', resolve))])
      sent++
      await new Promise((resolve) => setImmediate(resolve))
    }
    await closed
    expect(answer).toMatch(/^HTTP\/1\.1 401 /)
    expect(answer).toContain('"code":"missing_api_key"')
    expect(sent).toBeLessThan(40)
  })

  it('keeps the connection of a refused request whose small body it reads and drops', async () => {
    const { hostname, port } = new URL(h.url)
    const socket = connect(Number(port), hostname)
    let answer = ''
    const answers = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if ((answer.match(/HTTP\/1\.1 401 /g) ?? []).length >= n) resolve()
          else socket.once('data', check)
        }
        check()
      })
    socket.on('data', (chunk) => {
      answer += chunk.toString()
    })
    const request = `POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n${' '.repeat(1000)}`
    socket.write(request)
    await answers(1)
    socket.write(request)
    await answers(2)
    expect(socket.destroyed).toBe(false)
    socket.destroy()
  })

  it('refuses a body over the configured limit with 413', async () => {
    const res = await postChat(h.url, chatBody({ messages: [{ role: 'user', content: 'x'.repeat(60_000) }] }))
    expect(res.status).toBe(413)
    expect((await res.json()).error.code).toBe('request_too_large')
  })

  it('refuses a body that is not JSON with 415', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${CLIENT_KEY}` },
      body: 'hello',
    })
    expect(res.status).toBe(415)
    expect((await res.json()).error.code).toBe('unsupported_media_type')
  })

  it('refuses a compressed body or another charset with 415, bytes that are not UTF-8 with 400', async () => {
    const send = (headers: Record<string, string>, body: Uint8Array | string) =>
      fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', ...headers },
        body: body as BodyInit,
      })
    const json = JSON.stringify(chatBody())
    const gzip = await send({ 'content-encoding': 'gzip' }, gzipSync(json))
    expect(gzip.status).toBe(415)
    expect((await gzip.json()).error).toMatchObject({
      code: 'unsupported_media_type',
      message: 'Content-Encoding "gzip" is not supported: send the body uncompressed.',
    })
    // Plain JSON labelled as compressed is not taken either: the label is what a client meant.
    expect((await send({ 'content-encoding': 'br' }, json)).status).toBe(415)
    expect((await send({ 'content-encoding': 'identity' }, json)).status).toBe(200)
    const latin = await send({ 'content-type': 'application/json; charset=iso-8859-1' }, json)
    expect(latin.status).toBe(415)
    expect((await latin.json()).error.message).toMatch(/charset "iso-8859-1"/)
    expect((await send({ 'content-type': 'application/json; charset="UTF-8"' }, json)).status).toBe(200)
    const bytes = Buffer.from(JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'caf#' }] })))
    bytes[bytes.indexOf('#')] = 0xe9 // é in Latin-1: not UTF-8
    const invalid = await send({}, bytes)
    expect(invalid.status).toBe(400)
    expect((await invalid.json()).error).toMatchObject({
      code: 'invalid_json',
      message: 'The request body is not valid UTF-8.',
    })
  })

  it('needs a client key, and says which problem it is', async () => {
    const none = await fetch(`${h.url}/v1/models`)
    expect(none.status).toBe(401)
    expect((await none.json()).error.code).toBe('missing_api_key')
    const wrong = await fetch(`${h.url}/v1/models`, {
      headers: { authorization: 'Bearer sk-nope-nope-nope' },
    })
    expect(wrong.status).toBe(401)
    const body = await wrong.text()
    expect(JSON.parse(body).error.code).toBe('invalid_api_key')
    expect(body).not.toContain('sk-nope')
  })

  it('answers unknown routes with 404 in the OpenAI shape and a request id', async () => {
    const res = await fetch(`${h.url}/v2/nothing?key=secret`)
    expect(res.status).toBe(404)
    expect(res.headers.get('x-request-id')).toBeTruthy()
    const { error } = await res.json()
    expect(error).toMatchObject({ code: 'not_found', message: 'Unknown route: GET /v2/nothing' })
  })

  it('keeps a client request id and replaces an unsafe one', async () => {
    const kept = await postChat(h.url, chatBody(), { 'x-request-id': 'trace-123.abc' })
    expect(kept.headers.get('x-request-id')).toBe('trace-123.abc')
    const replaced = await postChat(h.url, chatBody(), { 'x-request-id': 'bad id <script>' })
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/)
  })

  it('keeps an idle connection for server.keep_alive_timeout and says so in every answer', async () => {
    // 72 s by default: longer than the 60 s a load balancer keeps its idle connections (AWS's), so
    // the proxy never closes one the balancer is about to reuse.
    for (const body of [chatBody(), chatBody({ stream: true })])
      expect((await postRaw(h.url, body))['keep-alive']).toBe('timeout=72')
    const short = await startAll({ overrides: { server: { keep_alive_timeout: 3 } } })
    try {
      expect((await postRaw(short.url, chatBody()))['keep-alive']).toBe('timeout=3')
    } finally {
      await short.close()
    }
  })

  it('never sends a provider key to the client', async () => {
    h.mocks.openai.setProfile({ faults: [{ type: 'status', status: 401, rate: 1 }] })
    const res = await postChat(h.url, chatBody())
    const text = await res.text()
    expect(res.status).toBe(502)
    expect(JSON.parse(text).error.code).toBe('upstream_auth_failed')
    expect(text).not.toContain('sk-provider-secret')
    h.mocks.openai.reset()
  })
})

/** The head of an answer as it came on the wire (fetch leaves out connection headers). */
function postRaw(url: string, body: unknown): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/v1/chat/completions`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.headers))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

describe('npm start', () => {
  it('prints the effective configuration with secrets redacted', () => {
    const out = spawnSync(process.execPath, ['proxy/src/server.ts', '--print-config'], {
      env: { ...process.env, PROXY_API_KEYS: 'sk-very-secret-client', HTTP_TIMEOUT: '12' },
      encoding: 'utf8',
    })
    expect(out.status).toBe(0)
    const config = JSON.parse(out.stdout)
    expect(config.http_client.timeout).toBe(12)
    expect(config.auth.api_keys).toEqual(['[redacted]'])
    expect(out.stdout).not.toContain('sk-very-secret-client')
  })

  it('exits with every problem listed when the configuration is invalid', () => {
    const out = spawnSync(process.execPath, ['proxy/src/server.ts', '--print-config'], {
      env: { ...process.env, HTTP_TIMEOUT: 'never', WORKERS: '0' },
      encoding: 'utf8',
    })
    expect(out.status).toBe(2)
    expect(out.stderr).toContain('HTTP_TIMEOUT: expected a number')
    expect(out.stderr).toContain('server.workers')
  })
})

describe('scanJson, membersOf, repeatedKey', () => {
  // A seeded writer of JSON text: nested arrays and objects, strings full of what a reader of bytes
  // could mistake for structure (brackets, quotes, colons, backslashes, escapes), short and long (a
  // long string is found natively, past its first 32 bytes), keys sometimes escaped (`\u0078` for
  // `x`), spaced from their colon, or named twice in one object. It tells what it wrote.
  function randomJson(seed: number) {
    let state = seed
    const next = (n: number) => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
      return Math.floor((state / 2_147_483_648) * n) // the high bits: the low ones of this generator repeat
    }
    const pieces = ['[', ']', '{', '}', '"', ':', '\\', '\\"', 'x', 'é', '\n', '\u005b', ' ']
    const text = () => {
      const length = next(3) === 0 ? 40 + next(80) : next(6)
      let out = ''
      for (let i = 0; i < length; i++) out += pieces[next(pieces.length)]
      return out
    }
    const keyText = (key: string) =>
      key !== '' && next(4) === 0
        ? `"\\u${key.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(key.slice(1)).slice(1)}`
        : JSON.stringify(key)
    const written = { members: 0, containers: 0, depth: 0, repeated: new Set<string>() }
    const write = (depth: number): string => {
      const kind = depth > 12 ? 2 + next(2) : next(5)
      if (kind <= 1) {
        written.containers++
        written.depth = Math.max(written.depth, depth + 1)
      }
      if (kind === 0) return `[${Array.from({ length: next(4) }, () => write(depth + 1)).join(',')}]`
      if (kind === 1) {
        const keys = Array.from({ length: next(4) }, text)
        if (keys.length > 0 && next(2) === 0) keys.push(keys[next(keys.length)] as string)
        const seen = new Set<string>()
        const members = keys.map((key) => {
          if (seen.has(key)) written.repeated.add(key)
          seen.add(key)
          written.members++
          return `${keyText(key)}${next(3) === 0 ? ' \n:\t' : ':'}${write(depth + 1)}`
        })
        return `{${members.join(',')}}`
      }
      if (kind === 2) return JSON.stringify(text())
      if (kind === 3) return String(next(1000))
      return next(2) === 0 ? 'null' : 'true'
    }
    return { text: write(0), ...written }
  }

  it('agrees with the parser on depth, containers and members, and finds every key named twice', () => {
    let withRepeats = 0
    for (let seed = 1; seed <= 400; seed++) {
      const { text, members, containers, depth, repeated } = randomJson(seed)
      const bytes = Buffer.from(text)
      const parsed = JSON.parse(text)
      expect(scanJson(bytes, depth, containers), `seed ${seed}`).toBe(members)
      if (depth > 0)
        expect(scanJson(bytes, depth - 1, containers), `seed ${seed}`).toMatch(/nested more than/)
      if (containers > 0)
        expect(scanJson(bytes, depth, containers - 1), `seed ${seed}`).toMatch(/more than \d+ arrays/)
      expect(membersOf(parsed) < members, `seed ${seed}`).toBe(repeated.size > 0)
      const found = repeatedKey(bytes)
      if (repeated.size === 0) expect(found, `seed ${seed}`).toBeUndefined()
      else expect(repeated, `seed ${seed}`).toContain(found)
      if (repeated.size > 0) withRepeats++
    }
    expect(withRepeats).toBeGreaterThan(30)
  })

  it('refuses millions of empty objects and arrays nested millions deep, reading only what it must', () => {
    const wide = Buffer.from(`[${'{},'.repeat(3_000_000)}{}]`)
    expect(scanJson(wide, 128, MAX_CONTAINERS)).toBe(`holds more than ${MAX_CONTAINERS} arrays and objects`)
    const deep = Buffer.from(`${'['.repeat(4_000_000)}${']'.repeat(4_000_000)}`)
    expect(scanJson(deep, 128, MAX_CONTAINERS)).toBe('is nested more than 128 levels deep')
  })

  it('counts what JSON.parse keeps: a __proto__ key is a member, the same key in two objects is not repeated', () => {
    const bytes = Buffer.from('{"__proto__":{"a":1},"m":[{"a":1},{"a":2}],"__proto__x":0}')
    expect(scanJson(bytes, 128, 100)).toBe(6)
    expect(membersOf(JSON.parse(bytes.toString()))).toBe(6)
    expect(repeatedKey(bytes)).toBeUndefined()
    expect(repeatedKey(Buffer.from('{"__proto__":1,"__proto__":2}'))).toBe('__proto__')
    // A deep array of 200,000 levels is counted without recursion.
    const levels = 200_000
    expect(membersOf(JSON.parse(`${'['.repeat(levels)}{"a":1}${']'.repeat(levels)}`))).toBe(1)
  })
})
