// The task code every pool runs, so that each library does the same work.

/** Keeps the core busy for `ms` milliseconds, like a CPU-bound task. */
export const spin = (ms: number): number => {
  const end = performance.now() + ms
  let iterations = 0
  while (performance.now() < end) iterations++
  return iterations
}

/** The trivial task: all cost is the pool's overhead. */
export const trivial = (n: number): number => n + 1

/** A task message every peer worker understands. */
export interface Job {
  readonly kind: "spin" | "trivial" | "exit"
  readonly n: number
}

export const runJob = (job: Job): number => {
  if (job.kind === "spin") return spin(job.n)
  if (job.kind === "exit") process.exit(3)
  return trivial(job.n)
}

/** Bins of the data-parallel histogram, one per tenth of [0, 1). */
export const BINS = 10

/** The data-parallel kernel: sums `values` and counts them into `counts`. */
export const sumAndCount = (values: Float64Array, counts: Int32Array): number => {
  let total = 0
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!
    total += value
    counts[Math.min(BINS - 1, Math.floor(value * BINS))]!++
  }
  return total
}
