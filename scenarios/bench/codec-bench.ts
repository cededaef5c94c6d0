import { readFileSync } from 'node:fs'
import { answerFromStream, type CachedAnswer, completionFromEvents } from '../../proxy/src/cache/answer.ts'
import { Codec, type CodecSettings, type CompressionAlgorithm } from '../../proxy/src/cache/codec.ts'
import { unpackEvents } from '../../proxy/src/cache/sse-pack.ts'
import { readCommandLine } from '../run/command-line.ts'

// npm run bench:codec: what compressing a cache record costs and saves, by record size, for each
// algorithm and serialization. It sets performance.cache.compression_threshold_bytes: below the
// threshold a record is stored as it is, because inflating it on every hit costs more time than
// the bytes saved are worth. Text is English prose (docs of this repository), answers are
// shaped like the proxy's (a chat.completion body plus, for streamed answers, its chunks).

const { values } = readCommandLine({
  usage: 'npm run bench:codec -- [options]',
  about:
    'What compressing a cache record costs and saves, by record size, for each algorithm and\n' +
    'serialization (it sets performance.cache.compression_threshold_bytes).',
  flags: {
    iterations: {
      type: 'integer',
      default: 2000,
      min: 1,
      value: 'n',
      help: 'operations timed in each of 5 samples',
    },
  },
})
const { iterations } = values

const words = readFileSync('/work/shared/performance-guide.md', 'utf8')
  .replace(/[^A-Za-z0-9 .,]/g, ' ')
  .split(/\s+/)
  .filter(Boolean)

function answer(tokens: number, streamed: boolean): CachedAnswer {
  const pieces = Array.from(
    { length: tokens },
    (_, i) => `${i === 0 ? '' : ' '}${words[(i * 7) % words.length]}`,
  )
  const head = `{"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[`
  const chunks = [
    `data: ${head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`,
    ...pieces.map(
      (p) =>
        `data: ${head}{"index":0,"delta":{"content":${JSON.stringify(p)}},"logprobs":null,"finish_reason":null}]}\n\n`,
    ),
    `data: ${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n`,
  ].map((s) => Buffer.from(s))
  const usage = { prompt_tokens: 40, completion_tokens: tokens, total_tokens: 40 + tokens }
  const origin = { provider: 'openai-a', model: 'gpt-4o-mini', storedAt: 1760000000000, condensed: null }
  const a = answerFromStream(chunks, -1, usage, origin)!
  if (streamed) return a
  const body = completionFromEvents(unpackEvents(a.packedEvents), usage)
  return { ...a, body, packedEvents: Buffer.alloc(0), usageEvent: Buffer.alloc(0) }
}

function timeUs(run: () => void): number {
  const samples: number[] = []
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) run()
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / iterations)
  }
  return samples.sort((a, b) => a - b)[2]
}

const variants: { name: string; algorithm: CompressionAlgorithm; level: number; compress: boolean }[] = [
  { name: 'none', algorithm: 'gzip', level: 6, compress: false },
  { name: 'gzip 6', algorithm: 'gzip', level: 6, compress: true },
  { name: 'brotli 4', algorithm: 'brotli', level: 4, compress: true },
  { name: 'zstd 3', algorithm: 'zstd', level: 3, compress: true },
]

console.log(`cache record codec: median of 5 rounds x ${iterations} iterations, one core\n`)
for (const format of ['msgpack', 'json'] as const) {
  console.log(`serialization ${format}`)
  console.log('| answer | record bytes | variant | stored bytes | ratio | encode us | decode us |')
  console.log('|---|---|---|---|---|---|---|')
  for (const [tokens, streamed] of [
    [8, false],
    [32, false],
    [128, false],
    [512, false],
    [32, true],
    [128, true],
    [512, true],
  ] as const) {
    const value = answer(tokens, streamed)
    for (const v of variants) {
      const settings: CodecSettings = {
        compress: v.compress,
        algorithm: v.algorithm,
        level: v.level,
        thresholdBytes: 0,
        format,
      }
      const codec = new Codec(settings)
      const { record, rawBytes } = codec.encode(value)
      const enc = timeUs(() => codec.encode(value))
      const dec = timeUs(() => codec.decode(record))
      console.log(
        `| ${tokens} tokens${streamed ? ', streamed' : ''} | ${rawBytes} | ${v.name} | ${record.length} | ${(rawBytes / record.length).toFixed(2)} | ${enc.toFixed(1)} | ${dec.toFixed(1)} |`,
      )
    }
  }
  console.log('')
}
