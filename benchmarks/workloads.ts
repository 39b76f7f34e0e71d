// The real workloads of scenario 17: what users offload to a pool besides spin loops. Loaded only
// by the workers that run them (see runJob in tasks.ts).
import { createHash } from "node:crypto"
import { deflateSync } from "node:zlib"
import { Schema } from "effect"
import type { Job } from "./tasks.ts"

/** One record of the JSON workload: what a service would parse and check before it stores it. */
const Record = Schema.Struct({
  id: Schema.Int,
  name: Schema.String.check(Schema.isMinLength(1)),
  email: Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/)),
  score: Schema.Finite,
  tags: Schema.Array(Schema.String),
  active: Schema.Boolean
})
const decodeRecords = Schema.decodeUnknownSync(Schema.Array(Record))

/** A batch of `count` records as JSON text (about 110 bytes a record). */
export const recordBatch = (count: number, seed: number): string =>
  JSON.stringify(
    Array.from({ length: count }, (_, i) => ({
      id: seed * count + i,
      name: `user ${seed}-${i}`,
      email: `user.${seed}.${i}@example.com`,
      score: ((i * 7919 + seed) % 1000) / 10,
      tags: ["a", "b", "c"].slice(0, 1 + (i % 3)),
      active: i % 2 === 0
    }))
  )

/** JSON parsing plus Schema validation of a record batch: the sum of the scores. */
export const parseRecords = (json: string): number => {
  let total = 0
  for (const record of decodeRecords(JSON.parse(json))) total += record.score
  return total
}

/** `size` bytes of text-like data that deflate compresses about 4:1. */
export const textBytes = (size: number, seed: number): Uint8Array => {
  const words = ["strand", "effect", "worker", "thread", "pool", "task", "fiber", "queue", "lock", "stream"]
  const bytes = new Uint8Array(size)
  let x = seed + 1
  for (let i = 0; i < size; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    const word = `${words[x % words.length]!}${x % 97} `
    for (let j = 0; j < word.length && i < size; j++) bytes[i++] = word.charCodeAt(j)
  }
  return bytes
}

/** Compression and hashing with node:zlib and node:crypto: the compressed size plus the digest's first byte. */
export const compressAndHash = (bytes: Uint8Array): number =>
  deflateSync(bytes).length + createHash("sha256").update(bytes).digest()[0]!

/**
 * A pure-JavaScript numeric kernel: a Mandelbrot set of `size` x `size` points, at most 256
 * iterations each, over a window that `seed` shifts; the total of the iterations.
 */
export const mandelbrot = (size: number, seed: number): number => {
  let total = 0
  const shift = (seed % 8) * 0.01
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const cx = -2 + shift + (2.5 * px) / size
      const cy = -1.25 + (2.5 * py) / size
      let x = 0
      let y = 0
      let i = 0
      while (i < 256 && x * x + y * y <= 4) {
        const t = x * x - y * y + cx
        y = 2 * x * y + cy
        x = t
        i++
      }
      total += i
    }
  }
  return total
}

/** Runs a workload job: "records", "compress" or "kernel". */
export const runWorkload = (job: Job): number => {
  if (job.kind === "records") return parseRecords(job.data as string)
  if (job.kind === "compress") return compressAndHash(job.data as Uint8Array)
  if (job.kind === "kernel") return mandelbrot(job.n, job.n)
  throw new Error(`not a workload: ${job.kind}`)
}
