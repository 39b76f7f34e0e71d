import { SharedArray, Task, WorkerRunner } from "@strand/platform-node"
import { Effect, Schema, Stream } from "effect"
import { BINS, runJob, spin, sumAndCount, trivial } from "../tasks.ts"

export const Trivial = Task.make("Trivial", { payload: Schema.Number, success: Schema.Number })
/** Any job of tasks.ts, for the real workloads of scenario 17: a record batch's JSON, bytes to compress. */
export const RunJob = Task.make("RunJob", {
  payload: Schema.Struct({
    kind: Schema.Literals(["spin", "trivial", "exit", "records", "compress", "kernel"]),
    n: Schema.Number,
    data: Schema.optional(Schema.Union([Schema.String, Schema.Uint8Array]))
  }),
  success: Schema.Number
})
export const Spin = Task.make("Spin", { payload: Schema.Number, success: Schema.Number })
export const Exit = Task.make("Exit", { payload: Schema.Number, success: Schema.Number })
/** The process a task ran in: a cluster runner's pid, for scenario 16. */
export const Pid = Task.make("Pid", { payload: Schema.Void, success: Schema.Number })
/** A stream of the numbers from 0 to n - 1. */
export const Count = Task.stream("Count", { payload: Schema.Number, success: Schema.Number })
/** A result of `n` megabytes of float64s, copied back or moved with WorkerRunner.transfer. */
export const Floats = Task.make("Floats", {
  payload: Schema.Struct({ megabytes: Schema.Number, move: Schema.Boolean }),
  success: Schema.instanceOf(Float64Array)
})

/** Sums a range of a shared array and adds its histogram into shared bins: no data moves. */
export const SumRange = Task.make("SumRange", {
  payload: Schema.Struct({
    data: SharedArray.schema("float64"),
    bins: SharedArray.schema("int32"),
    start: Schema.Number,
    end: Schema.Number
  }),
  success: Schema.Number
})
/** The same over a copied slice. */
export const SumCopy = Task.make("SumCopy", { payload: Schema.instanceOf(Float64Array), success: Schema.Number })

WorkerRunner.launch([
  WorkerRunner.handle(SumRange, ({ bins, data, end, start }) =>
    Effect.sync(() => {
      const counts = new Int32Array(BINS)
      const total = sumAndCount(data.view.subarray(start, end), counts)
      for (let b = 0; b < BINS; b++) bins.add(b, counts[b]!)
      return total
    })
  ),
  WorkerRunner.handle(SumCopy, (values) => Effect.sync(() => sumAndCount(values, new Int32Array(BINS)))),
  WorkerRunner.handle(Trivial, (n) => Effect.succeed(trivial(n))),
  WorkerRunner.handle(RunJob, (job) =>
    Effect.suspend(() => {
      const result = runJob(job)
      return typeof result === "number" ? Effect.succeed(result) : Effect.promise(() => result)
    })
  ),
  WorkerRunner.handle(Spin, (ms) => Effect.sync(() => spin(ms))),
  WorkerRunner.handle(Pid, () => Effect.sync(() => process.pid)),
  WorkerRunner.handle(Count, (n) => Stream.range(0, n - 1)),
  WorkerRunner.handle(Exit, () => Effect.sync(() => process.exit(3))),
  WorkerRunner.handle(Floats, ({ megabytes, move }) =>
    Effect.sync(() => {
      const floats = new Float64Array((megabytes * 2 ** 20) / 8).fill(1.5)
      return move ? WorkerRunner.transfer(floats) : floats
    })
  )
])
