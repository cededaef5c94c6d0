/**
 * Bytes a cache keeps, in memory of their own.
 *
 * Node serves small buffers (Buffer.allocUnsafe, Buffer.from, Buffer.concat under 4 KB) as slices
 * of a shared 8 KB slab, and a slice keeps its whole slab alive. A short-lived buffer does no harm;
 * a cache record kept for minutes pins the slab with it, and every request body and answer chunk
 * allocated next to it. With thousands of small records a cache bounded at a few MB of records
 * held tens of MB of slabs (the bytes it counted were not the bytes it held). So what a cache keeps
 * is allocated outside the pool, or copied out of it once when it arrives from elsewhere (a
 * decompressor, Redis, a request body).
 */

/** A buffer of `size` bytes that shares its memory with nothing else (not from the pool). */
export function ownedBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size)
}

/** A copy of `bytes` in memory of its own. */
export function ownedCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength)
  copy.set(bytes)
  return copy
}

/** `bytes` itself when it is the whole of its memory, otherwise a copy that is. */
export function ownedBytes(bytes: Uint8Array): Buffer {
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) return ownedCopy(bytes)
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, 0, bytes.byteLength)
}
