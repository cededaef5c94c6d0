import {
  brotliCompressSync,
  brotliDecompressSync,
  constants,
  gunzipSync,
  gzipSync,
  zstdCompressSync,
  zstdDecompressSync,
} from 'node:zlib'
import { Decoder, Encoder } from '@msgpack/msgpack'
import { ownedBuffer, ownedBytes } from './owned.ts'

// Cache records: one self-describing byte string per entry, the same in the in-process cache and
// in Redis, so an instance configured differently can still read what another one wrote.
//
//   byte 0: bits 0-1 compression (0 none, 1 gzip, 2 brotli, 3 zstd), bit 2 serialization
//           (0 JSON, 1 msgpack)
//   rest:   the serialized value, compressed when the flag says so
// Byte fields (Uint8Array) are msgpack bin, decoded as views of the record with no copy; in JSON
// records the top-level ones are written as {"$b64": "..."}.

export type CompressionAlgorithm = 'gzip' | 'brotli' | 'zstd'
export type SerializationFormat = 'json' | 'msgpack'

export interface CodecSettings {
  /** Compress records of `thresholdBytes` or more (smaller ones cost more to inflate than they save). */
  readonly compress: boolean
  readonly algorithm: CompressionAlgorithm
  /** The algorithm's own scale, clamped to it: gzip 1-9, brotli 0-11, zstd 1-22. */
  readonly level: number
  readonly thresholdBytes: number
  readonly format: SerializationFormat
}

const ALGORITHMS: readonly (CompressionAlgorithm | 'none')[] = ['none', 'gzip', 'brotli', 'zstd']
const LEVELS: Record<CompressionAlgorithm, [number, number]> = {
  gzip: [1, 9],
  brotli: [0, 11],
  zstd: [1, 22],
}
const MSGPACK = 0b100

export function clampLevel(algorithm: CompressionAlgorithm, level: number): number {
  const [min, max] = LEVELS[algorithm]
  return Math.min(max, Math.max(min, Math.round(level)))
}

function compressWith(algorithm: CompressionAlgorithm, level: number, data: Uint8Array): Buffer {
  switch (algorithm) {
    case 'gzip':
      return gzipSync(data, { level })
    case 'brotli':
      return brotliCompressSync(data, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: level,
          [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      })
    case 'zstd':
      return zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } })
  }
}

function decompressWith(code: number, data: Uint8Array): Buffer {
  switch (ALGORITHMS[code]) {
    case 'gzip':
      return gunzipSync(data)
    case 'brotli':
      return brotliDecompressSync(data)
    case 'zstd':
      return zstdDecompressSync(data)
    default:
      throw new TypeError(`unknown compression code ${code} in a cache record`)
  }
}

/** The record's payload is compressed (decoding it allocates its inflated bytes). */
export function isCompressed(record: Uint8Array): boolean {
  return (record[0] & 0b11) !== 0
}

export interface Encoded {
  readonly record: Buffer
  /** Serialized size before compression: the compression ratio is raw / record. */
  readonly rawBytes: number
}

/** Serializes and compresses cache values; one instance per cache (encoders keep scratch buffers). */
export class Codec {
  readonly settings: CodecSettings
  readonly #level: number
  readonly #encoder = new Encoder({ initialBufferSize: 4096 })
  readonly #decoder = new Decoder()

  constructor(settings: CodecSettings) {
    this.settings = settings
    this.#level = clampLevel(settings.algorithm, settings.level)
  }

  encode(value: unknown): Encoded {
    const msgpack = this.settings.format === 'msgpack'
    // The encoder's own scratch (a view, not a copy): read before this returns, never kept.
    const raw: Uint8Array = msgpack
      ? this.#encoder.encodeSharedRef(value)
      : Buffer.from(JSON.stringify(toJsonSafe(value)))
    const flags = msgpack ? MSGPACK : 0
    if (this.settings.compress && raw.length >= this.settings.thresholdBytes) {
      const packed = compressWith(this.settings.algorithm, this.#level, raw)
      // Incompressible data is kept as it is: inflating it would cost for nothing.
      if (packed.length < raw.length) {
        const record = ownedBuffer(packed.length + 1)
        record[0] = flags | ALGORITHMS.indexOf(this.settings.algorithm)
        packed.copy(record, 1)
        return { record, rawBytes: raw.length + 1 }
      }
    }
    const record = ownedBuffer(raw.length + 1)
    record[0] = flags
    record.set(raw, 1)
    return { record, rawBytes: record.length }
  }

  decode<T>(record: Uint8Array): T {
    const flags = record[0]
    const body = record.subarray(1)
    // What a compressed record inflates to may be kept (the inflated tier keeps views of it).
    const data = flags & 0b11 ? ownedBytes(decompressWith(flags & 0b11, body)) : body
    if (flags & MSGPACK) return this.#decoder.decode(data) as T
    return fromJsonSafe(
      JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')),
    ) as T
  }
}

function toJsonSafe(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      v instanceof Uint8Array
        ? { $b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') }
        : v
  }
  return out
}

function fromJsonSafe(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out = value as Record<string, unknown>
  for (const [k, v] of Object.entries(out)) {
    const b64 = (v as { $b64?: unknown } | null)?.$b64
    if (typeof b64 === 'string') out[k] = ownedBytes(Buffer.from(b64, 'base64'))
  }
  return out
}
