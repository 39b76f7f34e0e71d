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

/** A task message every peer worker understands; `data` carries a workload's input. */
export interface Job {
  readonly kind: "spin" | "trivial" | "exit" | "records" | "compress" | "kernel"
  readonly n: number
  readonly data?: string | Uint8Array | undefined
}

/**
 * The real workloads of scenario 17 (`workloads.ts`), loaded by a worker with its first workload
 * job. They import Effect, which no other scenario's peer worker should load (it would count in
 * their cold start and RSS). The import is dynamic for a second reason: piscina require()s its
 * worker module, and under tsx that compiles the module and everything it imports statically to
 * CommonJS, whose exports are getters; Effect's Schema then ran about 4x slower in piscina's
 * workers than in anyone else's (3.1-3.3 ms against 0.77-0.79 ms per batch of 1,000 records).
 * A dynamic import loads native ESM in every pool's workers.
 */
let workloads: typeof import("./workloads.ts") | undefined

export const runJob = (job: Job): number | Promise<number> => {
  if (job.kind === "spin") return spin(job.n)
  if (job.kind === "exit") process.exit(3)
  if (job.kind === "trivial") return trivial(job.n)
  if (workloads !== undefined) return workloads.runWorkload(job)
  return import("./workloads.ts").then((loaded) => (workloads = loaded).runWorkload(job))
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
