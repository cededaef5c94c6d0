// Alert conditions: a small expression language over a fixed set of live metrics, parsed once at
// start-up (no eval). Grammar:
//
//   condition  := or
//   or         := and (("or" | "||") and)*
//   and        := unary (("and" | "&&") unary)*
//   unary      := ("not" | "!") unary | "(" or ")" | comparison
//   comparison := operand (">" | ">=" | "<" | "<=" | "==" | "!=") operand
//   operand    := metric | number          (at least one side is a metric)
//
// e.g. `error_rate > 0.05`, `avg_response_time > 5000 and requests_per_second >= 1`.
// A metric with no value (no cache configured, no traffic yet for percentiles) makes its
// comparison false.

export const ALERT_METRICS = {
  error_rate: 'failed client requests / requests over the stats window (0..1)',
  avg_response_time: 'mean client request duration over the window, ms',
  p50_response_time: 'median client request duration over the window, ms',
  p95_response_time: '95th percentile client request duration over the window, ms',
  p99_response_time: '99th percentile client request duration over the window, ms',
  memory_usage_percent: 'memory in use against the effective limit, 0..100',
  cache_hit_rate: 'response cache hit rate since start (0..1)',
  open_breakers: 'providers whose circuit breaker is open',
  requests_per_second: 'client requests per second over the window',
} as const

export type AlertMetric = keyof typeof ALERT_METRICS
export type AlertMetrics = Record<AlertMetric, number | null>

type Op = '>' | '>=' | '<' | '<=' | '==' | '!='
type Operand = { metric: AlertMetric } | { value: number }

export type Condition =
  | { kind: 'cmp'; left: Operand; op: Op; right: Operand }
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; expr: Condition }

export class ConditionError extends Error {}

interface Token {
  text: string
  at: number
}

const TOKEN = /\s*(>=|<=|==|!=|&&|\|\||[<>()!]|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)/iy

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  TOKEN.lastIndex = 0
  let pos = 0
  while (pos < source.length) {
    if (/^\s*$/.test(source.slice(pos))) break
    TOKEN.lastIndex = pos
    const m = TOKEN.exec(source)
    if (!m) throw new ConditionError(`unexpected "${source.slice(pos).trim()[0]}" at column ${pos + 1}`)
    tokens.push({ text: m[1], at: m.index + m[0].length - m[1].length + 1 })
    pos = TOKEN.lastIndex
  }
  return tokens
}

export function parseCondition(source: string): Condition {
  const tokens = tokenize(source)
  let i = 0
  const peek = () => tokens[i]?.text.toLowerCase()
  const fail = (what: string): never => {
    const t = tokens[i]
    throw new ConditionError(t ? `${what} at column ${t.at}, found "${t.text}"` : `${what} at the end`)
  }

  const operand = (): Operand => {
    const t = tokens[i]
    if (!t) return fail('expected a metric or a number')
    if (/^-?\d/.test(t.text)) {
      i++
      return { value: Number(t.text) }
    }
    if (/^[A-Za-z_]/.test(t.text)) {
      if (!(t.text in ALERT_METRICS)) {
        throw new ConditionError(
          `unknown metric "${t.text}" at column ${t.at} (known: ${Object.keys(ALERT_METRICS).join(', ')})`,
        )
      }
      i++
      return { metric: t.text as AlertMetric }
    }
    return fail('expected a metric or a number')
  }

  const comparison = (): Condition => {
    const left = operand()
    const op = peek()
    if (!op || !['>', '>=', '<', '<=', '==', '!='].includes(op))
      return fail('expected a comparison (> >= < <= == !=)')
    i++
    const right = operand()
    if (!('metric' in left) && !('metric' in right))
      throw new ConditionError('a comparison needs a metric on one side')
    return { kind: 'cmp', left, op: op as Op, right }
  }

  const unary = (): Condition => {
    const t = peek()
    if (t === 'not' || t === '!') {
      i++
      return { kind: 'not', expr: unary() }
    }
    if (t === '(') {
      i++
      const inner = or()
      if (peek() !== ')') fail('expected ")"')
      i++
      return inner
    }
    return comparison()
  }

  const and = (): Condition => {
    let left = unary()
    while (peek() === 'and' || peek() === '&&') {
      i++
      left = { kind: 'and', left, right: unary() }
    }
    return left
  }

  const or = (): Condition => {
    let left = and()
    while (peek() === 'or' || peek() === '||') {
      i++
      left = { kind: 'or', left, right: and() }
    }
    return left
  }

  if (tokens.length === 0) throw new ConditionError('the condition is empty')
  const condition = or()
  if (i < tokens.length) fail('unexpected text')
  return condition
}

/** The condition's error message, or undefined when it parses (for config validation). */
export function conditionProblem(source: string): string | undefined {
  try {
    parseCondition(source)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

const operandValue = (o: Operand, m: AlertMetrics): number | null => ('metric' in o ? m[o.metric] : o.value)

export function evaluate(c: Condition, m: AlertMetrics): boolean {
  switch (c.kind) {
    case 'and':
      return evaluate(c.left, m) && evaluate(c.right, m)
    case 'or':
      return evaluate(c.left, m) || evaluate(c.right, m)
    case 'not':
      return !evaluate(c.expr, m)
    case 'cmp': {
      const a = operandValue(c.left, m)
      const b = operandValue(c.right, m)
      if (a === null || b === null || Number.isNaN(a) || Number.isNaN(b)) return false
      switch (c.op) {
        case '>':
          return a > b
        case '>=':
          return a >= b
        case '<':
          return a < b
        case '<=':
          return a <= b
        case '==':
          return a === b
        default:
          return a !== b
      }
    }
  }
}

/** The metrics a condition reads, with their current values (for notifications). */
export function metricsOf(c: Condition, m: AlertMetrics, out: Record<string, number | null> = {}) {
  if (c.kind === 'cmp') {
    for (const o of [c.left, c.right]) if ('metric' in o) out[o.metric] = m[o.metric]
  } else if (c.kind === 'not') metricsOf(c.expr, m, out)
  else {
    metricsOf(c.left, m, out)
    metricsOf(c.right, m, out)
  }
  return out
}
