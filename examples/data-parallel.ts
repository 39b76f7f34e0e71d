/**
 * Data parallel without copying: a sum and a histogram over 50 million float64s.
 *
 * Python:
 *   data = multiprocessing.Array("d", 50_000_000, lock=False)   # shared memory
 *   with Pool() as pool:
 *       sums = pool.map(partial(sum_slice, data), ranges)        # each task: a range
 *
 * The array is a `SharedArray` in a SharedArrayBuffer. Each task gets the array and its
 * range in its payload: the array is shared, so no data moves, and every task adds its
 * counts into one shared histogram with atomic `add`. The same `map` over copied slices
 * gives the same answer, after copying all 400 MB to the workers.
 *
 * This one file is both the caller and the worker module.
 */
import { availableParallelism } from "node:os"
import { SharedArray, Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Duration, Effect, Schema } from "effect"

const quick = process.argv.includes("--quick")
const n = quick ? 2_000_000 : 50_000_000
const BINS = 10

const SumRange = Task.make("SumRange", {
  payload: Schema.Struct({
    data: SharedArray.schema("float64"),
    bins: SharedArray.schema("int32"),
    start: Schema.Number,
    end: Schema.Number
  }),
  success: Schema.Number
})

const SumCopy = Task.make("SumCopy", { payload: Schema.instanceOf(Float64Array), success: Schema.Number })

/** Sums `values` and counts them into `counts`, one bin per tenth of [0, 1). */
const sumAndCount = (values: Float64Array, counts: Int32Array): number => {
  let total = 0
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!
    total += value
    counts[Math.min(BINS - 1, Math.floor(value * BINS))]!++
  }
  return total
}

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(SumRange, ({ bins, data, end, start }) =>
      Effect.sync(() => {
        const counts = new Int32Array(BINS)
        const total = sumAndCount(data.view.subarray(start, end), counts)
        for (let b = 0; b < BINS; b++) bins.add(b, counts[b]!)
        return total
      })
    ),
    WorkerRunner.handle(SumCopy, (values) => Effect.sync(() => sumAndCount(values, new Int32Array(BINS))))
  ])
} else {
  const program = Effect.gen(function* () {
    const cores = availableParallelism()
    const pool = yield* WorkerPool.make({ module: import.meta.url, size: cores, concurrentTasksPerWorker: 1 })
    const data = yield* SharedArray.make("float64", n)
    let seed = 12345
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      data.view[i] = seed / 2 ** 32
    }
    const timed = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.map(Effect.timed(effect), ([duration, value]) => [Duration.toMillis(duration), value] as const)

    const [seqMs, sequential] = yield* timed(
      Effect.sync(() => {
        const counts = new Int32Array(BINS)
        return { sum: sumAndCount(data.view, counts), counts: Array.from(counts) }
      })
    )
    const ranges = Array.from({ length: cores * 2 }, (_, k) => ({
      start: Math.floor((k * n) / (cores * 2)),
      end: Math.floor(((k + 1) * n) / (cores * 2))
    }))
    // One round first, so that each worker has compiled the loop before anything is timed.
    const warm = yield* SharedArray.make("int32", BINS)
    yield* pool.map(
      SumRange,
      ranges.map((range) => ({ data, bins: warm, ...range }))
    )
    const bins = yield* SharedArray.make("int32", BINS)
    const [sharedMs, sums] = yield* timed(
      pool.map(
        SumRange,
        ranges.map((range) => ({ data, bins, ...range }))
      )
    )
    const [copyMs, copied] = yield* timed(
      pool.map(
        SumCopy,
        ranges.map(({ end, start }) => data.view.slice(start, end))
      )
    )
    const total = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0)
    const agree = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.abs(a)
    yield* Console.log(
      `${n.toLocaleString("en-US")} float64s (${Math.round((n * 8) / 2 ** 20)} MB), ${ranges.length} ranges on ${cores} worker threads`
    )
    yield* Console.log(`sequential:          sum ${sequential.sum.toFixed(3)} in ${seqMs.toFixed(0)} ms`)
    yield* Console.log(
      `shared, no copy:     sum ${total(sums).toFixed(3)} in ${sharedMs.toFixed(0)} ms ` +
        `(speedup: ${(seqMs / sharedMs).toFixed(2)}x)`
    )
    yield* Console.log(
      `copying each slice:  sum ${total(copied).toFixed(3)} in ${copyMs.toFixed(0)} ms ` +
        `(the shared map is ${(copyMs / sharedMs).toFixed(1)}x faster)`
    )
    yield* Console.log(`histogram: ${Array.from(bins.view).join(" ")}`)
    const same =
      agree(sequential.sum, total(sums)) &&
      agree(sequential.sum, total(copied)) &&
      Array.from(bins.view).every((count, b) => count === sequential.counts[b])
    yield* Console.log(same ? "every way agrees on the sum and the histogram" : "MISMATCH between the ways")
  })
  Effect.runPromise(Effect.scoped(program))
}
