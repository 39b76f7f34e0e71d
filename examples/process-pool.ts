/**
 * Process pool: map a function over range(10) on a pool of 4 workers.
 *
 * Python:
 *   def worker_function(num):
 *       time.sleep(1)
 *       return num * 2
 *   with Pool(processes=4) as pool:
 *       print(pool.map(worker_function, range(10)))
 *
 * The pool's workers are real worker threads; `isolation: "process"` makes them real
 * processes, as Python's are (see isolation.ts). This one file is both the caller and
 * the worker module, like Python's `if __name__ == "__main__"`.
 */
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Effect, Schema } from "effect"

const quick = process.argv.includes("--quick")

const WorkerFunction = Task.make("WorkerFunction", {
  payload: Schema.Struct({ num: Schema.Int, sleepMillis: Schema.Number }),
  success: Schema.Int
})

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(WorkerFunction, ({ num, sleepMillis }) => Effect.as(Effect.sleep(sleepMillis), num * 2))
  ])
} else {
  const sleepMillis = quick ? 100 : 1000
  const program = Effect.gen(function* () {
    const pool = yield* WorkerPool.make({ module: import.meta.url, size: 4 })
    const start = performance.now()
    const inputs = Array.from({ length: 10 }, (_, num) => ({ num, sleepMillis }))
    const results = yield* pool.map(WorkerFunction, inputs)
    yield* Console.log(`[${results.join(", ")}]`)
    yield* Console.log(`10 tasks of ${sleepMillis} ms on 4 workers took ${(performance.now() - start).toFixed(0)} ms`)
  })
  Effect.runPromise(Effect.scoped(program))
}
