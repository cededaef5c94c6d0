import { readCommandLine } from '../run/command-line.ts'
import { cpuMs } from '../run/procfs.ts'
import {
  AUTH,
  outFlag,
  PROXY_ENV,
  PROXY_READY,
  PROXY_SCRIPT,
  runBench,
  saveResults,
  writeProxyConfig,
} from './common.ts'
import { median, pairedRounds } from './measure.ts'
import type { Service, Start } from './services.ts'

// npm run bench:api: the proxy's other APIs against the provider they front, loaded side by side
// (paired: CPU per request from /proc, both servers at once; see measure.ts):
// - embeddings answered from the response cache (every request after the first is a HIT), against
//   the OpenAI-wire mock computing the vectors;
// - the Anthropic Messages API passed through to an Anthropic-wire provider (no translation),
//   against the Anthropic-wire mock called directly.
// Servers on CPU 0, generators on CPU 1. Default logging, production tuning.

const { values } = readCommandLine({
  usage: 'npm run bench:api -- [options]',
  about:
    "The proxy's other APIs against the provider they front, loaded side by side: embeddings from the\n" +
    'response cache against the mock computing them, the Anthropic Messages API passed through against\n' +
    'the Anthropic-wire mock called directly.',
  flags: {
    seconds: { type: 'number', default: 6, min: 1, value: 's', help: 'length of each round' },
    rounds: { type: 'integer', default: 3, min: 1, value: 'n', help: 'rounds' },
    connections: { type: 'integer', default: 32, min: 1, value: 'n', help: 'connections of the load' },
    out: outFlag('bench-api'),
  },
})
const options = { seconds: values.seconds, rounds: values.rounds, connections: values.connections }

const EMBEDDINGS = {
  model: 'text-embedding-3-small',
  input: 'Connection pooling keeps sockets warm between requests.',
}
const MESSAGES = {
  model: 'claude-3-5-haiku-latest',
  max_tokens: 32,
  system: 'You are a helpful assistant.',
  messages: [{ role: 'user', content: 'Summarise the benefits of connection pooling in two sentences.' }],
}
const ANTHROPIC_HEADERS = { 'x-api-key': 'sk-ant-mock', 'anthropic-version': '2023-06-01' }

function mock(start: Start, wire: 'openai' | 'anthropic'): Promise<Service> {
  return start({
    name: `mock-${wire} (cpu 0)`,
    script: 'mock-providers/src/cli.ts',
    args: ['--profile', 'zero', '--openai-port', '0', '--anthropic-port', '0'],
    cpu: 0,
    ready: new RegExp(`mock-${wire} listening on (http:\\/\\/\\S+)`),
  })
}

async function main(start: Start): Promise<void> {
  // The upstreams the proxy calls, on CPU 1 beside the generator; the servers compared, on CPU 0.
  const upstreamOpenAI = await start({ ...upstreamOf('openai') })
  const upstreamAnthropic = await start({ ...upstreamOf('anthropic') })
  const config = writeProxyConfig('bench-api', {
    server: { host: '127.0.0.1', port: 0 },
    caching: { enabled: true, warming: { enabled: false } },
    providers: [
      { name: 'mock-openai', wire: 'openai', base_url: `${upstreamOpenAI.url}/v1` },
      { name: 'mock-anthropic', wire: 'anthropic', base_url: upstreamAnthropic.url },
    ],
    models: {
      'text-embedding-3-small': { kind: 'embedding', deployments: [{ provider: 'mock-openai' }] },
      'claude-3-5-haiku-latest': { deployments: [{ provider: 'mock-anthropic' }] },
    },
  })
  const proxy = await start({
    name: 'proxy (defaults, cache on)',
    ...PROXY_SCRIPT,
    args: ['--config', config],
    env: PROXY_ENV,
    cpu: 0,
    ready: PROXY_READY,
  })
  const directOpenAI = await mock(start, 'openai')
  const directAnthropic = await mock(start, 'anthropic')
  const pid = (s: Service) => s.child.pid as number
  const cases = [
    {
      name: 'embeddings, cache hit',
      path: '/v1/embeddings',
      body: JSON.stringify(EMBEDDINGS),
      targets: [
        { name: 'provider (mock) directly', url: directOpenAI.url, pid: pid(directOpenAI) },
        { name: 'proxy, from its cache', url: proxy.url, pid: pid(proxy), headers: AUTH },
      ],
    },
    {
      name: 'Messages, passed through',
      path: '/v1/messages',
      body: JSON.stringify(MESSAGES),
      targets: [
        {
          name: 'provider (mock) directly',
          url: directAnthropic.url,
          pid: pid(directAnthropic),
          headers: ANTHROPIC_HEADERS,
        },
        {
          name: 'proxy, passing through',
          url: proxy.url,
          pid: pid(proxy),
          headers: { ...AUTH, 'anthropic-version': '2023-06-01' },
        },
      ],
    },
  ]
  const results = []
  for (const c of cases) {
    const { cpuUs, runs } = await pairedRounds(c.targets, { ...options, path: c.path, body: c.body, cpuMs })
    const [direct, viaProxy] = c.targets.map((t) => median(cpuUs.map((m) => m.get(t.name) as number)))
    const rps = c.targets.map((_, i) => median(runs.map((r) => r[i].rps)))
    results.push({
      case: c.name,
      direct_cpu_us: direct,
      proxy_cpu_us: viaProxy,
      ratio: direct / viaProxy,
      rps,
    })
  }
  console.log(
    `\nAPIs: ${options.rounds} paired rounds x ${options.seconds} s, ${options.connections} connections each\n`,
  )
  console.log('| case | provider CPU us/req | proxy CPU us/req | proxy throughput vs provider (equal CPU) |')
  console.log('|---|---|---|---|')
  for (const r of results)
    console.log(
      `| ${r.case} | ${r.direct_cpu_us.toFixed(1)} | ${r.proxy_cpu_us.toFixed(1)} | ${(r.ratio * 100).toFixed(1)} % |`,
    )
  saveResults('bench-api', { options, results }, values.out)

  function upstreamOf(wire: 'openai' | 'anthropic') {
    return {
      name: `upstream mock-${wire} (cpu 1)`,
      script: 'mock-providers/src/cli.ts',
      args: ['--profile', 'zero', '--openai-port', '0', '--anthropic-port', '0'],
      cpu: 1,
      ready: new RegExp(`mock-${wire} listening on (http:\\/\\/\\S+)`),
    }
  }
}

runBench(main)
