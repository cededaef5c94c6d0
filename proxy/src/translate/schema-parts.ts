// Pieces of the request schemas of the translated wires (compiled by fastify's ajv).

export const string = { type: 'string' } as const
export const nonEmpty = { type: 'string', minLength: 1 } as const
export const object = { type: 'object' } as const
export const boolean = { type: 'boolean' } as const
export const num = (minimum: number, maximum: number) => ({ type: 'number', minimum, maximum }) as const
export const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const

/**
 * An object whose `type` is one of `kinds` has `fields`: an if/then (a `then` key, which biome
 * forbids) written as anyOf with the requirement first, so that the error the proxy reports (the
 * first) names the missing field, not a branch for another kind.
 */
export function requiredWhen(kinds: string | readonly string[], fields: readonly string[]) {
  const type = typeof kinds === 'string' ? { const: kinds } : { enum: kinds }
  return { anyOf: [{ required: fields }, { not: { required: ['type'], properties: { type } } }] } as const
}
