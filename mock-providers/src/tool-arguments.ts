import { isObject, type JsonObject } from './json-body.ts'
import { xorshift32 } from './random.ts'
import { WORDS } from './vocabulary.ts'

/** Nesting beyond this gets an empty object or array: schemas can be deep or recursive. */
const MAX_DEPTH = 4

/** Strings that some JSON Schema formats need to validate; `%` is replaced by a vocabulary word. */
const FORMATS: Readonly<Record<string, string>> = {
  'date-time': '2025-01-01T00:00:00Z',
  date: '2025-01-01',
  time: '00:00:00Z',
  email: '%@example.com',
  uri: 'https://example.com/%',
  url: 'https://example.com/%',
  uuid: '00000000-0000-4000-8000-000000000000',
}

/** The seeded dice of one set of arguments: a xorshift32 state, advanced per generated value. */
interface Dice {
  state: number
}

function roll(dice: Dice): number {
  dice.state = xorshift32(dice.state)
  return dice.state
}

/** The type a schema asks for: its `type` (the first non-null one of a list), else implied by its keywords. */
function schemaType(schema: JsonObject): unknown {
  const type = schema.type
  if (Array.isArray(type)) return type.find((t) => t !== 'null') ?? type[0]
  if (type !== undefined) return type
  if (isObject(schema.properties)) return 'object'
  if (schema.items !== undefined) return 'array'
  return undefined
}

function stringJson(schema: JsonObject, dice: Dice): string {
  const word = WORDS[roll(dice) % WORDS.length]
  const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined
  return JSON.stringify(format === undefined ? word : format.replace('%', word))
}

/** A small integer (1 to 9), moved into [minimum, maximum] when the schema sets them. */
function integerJson(schema: JsonObject, dice: Dice): string {
  let value = 1 + (roll(dice) % 9)
  if (typeof schema.minimum === 'number') value = Math.max(value, Math.ceil(schema.minimum))
  if (typeof schema.maximum === 'number') value = Math.min(value, Math.floor(schema.maximum))
  return String(value)
}

function valueJson(schema: unknown, depth: number, dice: Dice): string {
  if (!isObject(schema)) return stringJson({}, dice)
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return JSON.stringify(schema.enum[0]) ?? 'null'
  if (schema.const !== undefined) return JSON.stringify(schema.const) ?? 'null'
  const branches = schema.anyOf ?? schema.oneOf ?? schema.allOf
  if (Array.isArray(branches) && branches.length > 0) {
    const branch = branches.find((b) => !isObject(b) || b.type !== 'null') ?? branches[0]
    return valueJson(branch, depth, dice)
  }
  switch (schemaType(schema)) {
    case 'integer':
    case 'number':
      return integerJson(schema, dice)
    case 'boolean':
      return 'true'
    case 'null':
      return 'null'
    case 'array': {
      if (depth >= MAX_DEPTH) return '[]'
      const items = Array.isArray(schema.items) ? schema.items[0] : schema.items
      return `[${valueJson(items, depth + 1, dice)}]`
    }
    case 'object':
      return depth >= MAX_DEPTH ? '{}' : `{${propertyEntries(schema, depth + 1, dice).join(',')}}`
    default:
      return stringJson(schema, dice)
  }
}

/** `"name":value` for every required property, or for every property when none is required. */
function propertyEntries(schema: JsonObject, depth: number, dice: Dice): string[] {
  const properties = isObject(schema.properties) ? schema.properties : {}
  const required = Array.isArray(schema.required)
    ? schema.required.filter((name): name is string => typeof name === 'string')
    : []
  const names = new Set(required.length > 0 ? required : Object.keys(properties))
  const entries: string[] = []
  for (const name of names) {
    const property = Object.hasOwn(properties, name) ? properties[name] : undefined
    entries.push(`${JSON.stringify(name)}:${valueJson(property, depth, dice)}`)
  }
  return entries
}

/**
 * Arguments for a tool, generated from its JSON schema (`parameters` / `input_schema`): the
 * top-level properties as `"name":value` JSON, in schema order, so that `{${entries.join(',')}}`
 * is the arguments object. Strings are vocabulary words (or fit their `format`), numbers small
 * integers, booleans true, enums their first value, arrays one item; objects recurse. The same
 * schema and seed give the same arguments.
 */
export function argumentEntries(schema: unknown, seed: number): string[] {
  return propertyEntries(isObject(schema) ? schema : {}, 1, { state: seed })
}
