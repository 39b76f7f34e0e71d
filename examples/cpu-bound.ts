/**
 * CPU-bound work: the same sum of squares, five times, one after another and on a pool.
 *
 * Python:
 *   def task(): return sum(i * i for i in range(10**6))
 *   for _ in range(5): task()                               # one after another
 *   with ProcessPoolExecutor() as ex: [f.result() for f in [ex.submit(task) for _ in range(5)]]
 *
 * JavaScript runs this loop about 50 times faster than CPython, so each task here
 * sums 10**8 squares (10**7 in quick mode) to give the cores real work.
 * Fibers cannot help here: one thread runs all of them. Worker threads run in
 * parallel on the other cores. Both runs happen on worker threads (one worker,
 * then one per core), so the comparison is like for like: the JIT optimises the
 * loop differently on the main thread. Five tasks on two cores take three rounds,
 * so the best speedup there is 5/3, about 1.67x.
 */

import { mkdirSync, writeFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { threadId } from "node:worker_threads"
import { Task, Timeline, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Effect, Schema } from "effect"

const quick = process.argv.includes("--quick")
const n = quick ? 10 ** 7 : 10 ** 8

const sumOfSquares = (limit: number) => {
  let total = 0
  for (let i = 0; i < limit; i++) total += i * i
  return total
}

const SumOfSquares = Task.make("SumOfSquares", { payload: Schema.Number, success: Schema.Number })
/** The same work, reporting the thread it ran on and when: proof of parallelism without a clock race. */
const TracedSum = Task.make("TracedSum", {
  payload: Schema.Number,
  success: Schema.Struct({ threadId: Schema.Number, start: Schema.Number, end: Schema.Number })
})

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(SumOfSquares, (limit) => Effect.sync(() => sumOfSquares(limit))),
    WorkerRunner.handle(TracedSum, (limit) =>
      Effect.sync(() => {
        const start = Date.now()
        sumOfSquares(limit)
        return { threadId, start, end: Date.now() }
      })
    )
  ])
} else {
  const cores = availableParallelism()
  const program = Effect.gen(function* () {
    const one = yield* WorkerPool.make({ module: import.meta.url, size: 1 })
    // The parallel pool records what its workers did, to look at afterwards.
    const timeline = Timeline.make()
    const all = yield* WorkerPool.make({ module: import.meta.url, size: cores, timeline })
    // Warm up the workers' JIT before timing.
    yield* one.map(SumOfSquares, [10 ** 6])
    yield* all.map(
      SumOfSquares,
      Array.from({ length: cores }, () => 10 ** 6)
    )

    const seqStart = performance.now()
    yield* one.map(SumOfSquares, [n, n, n, n, n])
    const seqMillis = performance.now() - seqStart

    const parStart = performance.now()
    const runs = yield* all.map(TracedSum, [n, n, n, n, n])
    const parMillis = performance.now() - parStart
    // Two runs overlapped when each started before the other ended, on different threads.
    const overlapping = new Set(
      runs.flatMap((a) =>
        runs.some((b) => b.threadId !== a.threadId && a.start < b.end && b.start < a.end) ? [a.threadId] : []
      )
    )

    yield* Console.log(`5 sums of squares below ${n.toLocaleString("en")}`)
    yield* Console.log(`  one after another (one worker thread): ${seqMillis.toFixed(0)} ms`)
    yield* Console.log(`  on a WorkerPool of ${cores}: ${parMillis.toFixed(0)} ms`)
    yield* Console.log(`speedup: ${(seqMillis / parMillis).toFixed(2)}x on ${cores} cores`)
    yield* Console.log(`in parallel: tasks ran at the same time on ${overlapping.size} threads`)

    const out = fileURLToPath(new URL("./output/", import.meta.url))
    mkdirSync(out, { recursive: true })
    writeFileSync(`${out}cpu-bound-timeline.json`, JSON.stringify(Timeline.toTraceEvents(timeline)))
    writeFileSync(
      `${out}cpu-bound-timeline.html`,
      Timeline.toHtml(timeline, { title: "cpu-bound: the pool's workers" })
    )
    yield* Console.log(`timeline: ${out}cpu-bound-timeline.html (a picture: open it in a browser)`)
    yield* Console.log(`          ${out}cpu-bound-timeline.json (Chrome trace events: open it in ui.perfetto.dev)`)
  })
  Effect.runPromise(Effect.scoped(program))
}
