/**
 * Process isolation: work that would take a threaded program down, contained.
 *
 * Python's ProcessPoolExecutor runs each worker in a process of its own, so a worker
 * that crashes takes nothing else with it:
 *   with ProcessPoolExecutor(max_workers=2) as pool:
 *       future = pool.submit(crashing_native_call)
 *       future.result()  # raises BrokenProcessPool; the program goes on
 *
 * Here two tasks do what no thread survives: a native crash (a signal to the whole
 * process, as a segfaulting addon sends) and one array grown past the heap limit
 * (which Node cannot contain in a thread: it aborts the process). Under
 * `isolation: "process"`, each ends only its worker process: the caller gets a typed
 * `WorkerCrashed`, the pool replaces the worker, and the program goes on. A third task
 * changes the working directory, which only its own process sees.
 *
 * The heap blow-up makes V8 print its fatal error on the worker's stderr, which the
 * pool passes through: that text comes from the dying worker, not from this program.
 *
 * This one file is both the caller and the worker module.
 */
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Effect, Schema } from "effect"

/** Sends its own process a segfault, as a crashing native addon would. */
const NativeCrash = Task.make("NativeCrash", { payload: Schema.Void, success: Schema.Void })
/** Grows one array without bound. */
const HeapBlowUp = Task.make("HeapBlowUp", { payload: Schema.Void, success: Schema.Number })
/** Changes the working directory, as a library that owns its process might; returns it. */
const Chdir = Task.make("Chdir", { payload: Schema.String, success: Schema.String })
const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(NativeCrash, () => Effect.sync(() => void process.kill(process.pid, "SIGSEGV"))),
    WorkerRunner.handle(HeapBlowUp, () =>
      Effect.sync(() => {
        const grown: Array<number> = []
        for (let i = 0; ; i++) grown.push(i)
      })
    ),
    WorkerRunner.handle(Chdir, (directory) =>
      Effect.sync(() => {
        process.chdir(directory)
        return process.cwd()
      })
    ),
    WorkerRunner.handle(Square, (n) => Effect.succeed(n * n))
  ])
} else {
  const program = Effect.gen(function* () {
    const pool = yield* WorkerPool.make({
      module: import.meta.url,
      size: 2,
      isolation: "process",
      // The heap limit of each worker process (its --max-old-space-size).
      resourceLimits: { maxOldGenerationSizeMb: 64 }
    })
    const contain = <A, E extends { readonly _tag: string; readonly message: string }>(
      label: string,
      effect: Effect.Effect<A, E>
    ) =>
      effect.pipe(
        Effect.matchEffect({
          onFailure: (error) => Console.log(`${label}: ${error._tag}: ${error.message}`),
          onSuccess: (value) => Console.log(`${label}: ${String(value)}`)
        })
      )
    yield* contain("native crash", pool.run(NativeCrash, undefined))
    yield* contain("heap blow-up", pool.run(HeapBlowUp, undefined))
    yield* contain("chdir in a worker", pool.run(Chdir, "/"))
    yield* Console.log(`the caller's working directory is still ${process.cwd()}`)
    const squares = yield* pool.map(Square, [1, 2, 3, 4])
    const stats = yield* pool.stats
    yield* Console.log(`the pool still serves: squares ${squares.join(", ")}`)
    yield* Console.log(
      `contained ${stats.crashed} crashes; the pool is back to ${stats.size} worker processes ` +
        `(pids ${stats.workers.map((worker) => worker.pid).join(", ")}, this program is ${process.pid})`
    )
  })
  Effect.runPromise(Effect.scoped(program))
}
