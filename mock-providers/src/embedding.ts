/** A deterministic unit vector for a text hash: the same input, model and seed give the same embedding. */
export function embeddingVector(hash: number, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions)
  let state = hash | 0 || 0x2545f491
  let norm = 0
  for (let i = 0; i < dimensions; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    const value = (state >>> 0) / 0x80000000 - 1
    vector[i] = value
    norm += value * value
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0
  for (let i = 0; i < dimensions; i++) vector[i] *= scale
  return vector
}
