/**
 * `pnpm demo`: a small real Strand program.
 *
 * I/O-style waits go to fibers (many on one thread); CPU-bound work goes to a
 * WorkerPool (one task per core, on real worker threads). It prints what ran
 * where and the measured speedup.
 */

import { availableParallelism } from "node:os"
import { threadId } from "node:worker_threads"
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Effect, Schema } from "effect"

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// sum(i * i for i in range(n)), the seeds' CPU-bound example.
const sumOfSquares = (n: number) => {
  let total = 0
  for (let i = 0; i < n; i++) total += i * i
  return total
}

const SumOfSquares = Task.make("SumOfSquares", {
  payload: Schema.Number,
  success: Schema.Struct({ total: Schema.Number, threadId: Schema.Number })
})

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(SumOfSquares, (n) => Effect.sync(() => ({ total: sumOfSquares(n), threadId })))
  ])
} else {
  const cores = availableParallelism()
  const n = 100_000_000

  const program = Effect.gen(function* () {
    console.log(`Strand demo on ${cores} cores, Node ${process.versions.node}\n`)

    console.log("I/O-bound: 5 fibers each wait 200 ms, on the main thread")
    const ioStart = performance.now()
    yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Effect.as(Effect.sleep("200 millis"), i), {
      concurrency: "unbounded"
    })
    const ioMillis = performance.now() - ioStart
    console.log(`  took ${ioMillis.toFixed(0)} ms (one after another: 1000 ms), all on thread ${threadId}\n`)

    console.log(`CPU-bound: sum of squares below ${n.toLocaleString("en")}, ${cores} times (median of 3 rounds)`)
    const pool = yield* WorkerPool.make({ module: import.meta.url, size: cores })
    // Warm the workers' JIT, as the main thread's loop warms up in its first round.
    yield* pool.map(
      SumOfSquares,
      Array.from({ length: cores }, () => 1_000_000)
    )
    const sequential: Array<number> = []
    const parallel: Array<number> = []
    let threads: Array<number> = []
    for (let round = 0; round < 3; round++) {
      const seqStart = performance.now()
      for (let i = 0; i < cores; i++) sumOfSquares(n)
      sequential.push(performance.now() - seqStart)
      const parStart = performance.now()
      const results = yield* pool.map(
        SumOfSquares,
        Array.from({ length: cores }, () => n)
      )
      parallel.push(performance.now() - parStart)
      threads = [...new Set(results.map((r) => r.threadId))].sort((a, b) => a - b)
    }
    const seqMillis = median(sequential)
    const parMillis = median(parallel)
    console.log(`  one after another on the main thread: ${seqMillis.toFixed(0)} ms`)
    console.log(`  on the WorkerPool: ${parMillis.toFixed(0)} ms, on worker threads ${threads.join(", ")}`)
    console.log(`  speedup: ${(seqMillis / parMillis).toFixed(2)}x on ${cores} cores`)
  })

  Effect.runPromise(Effect.scoped(program)).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
