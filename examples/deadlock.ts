/**
 * Deadlock: two fibers take two locks in opposite order.
 *
 * Python:
 *   def worker_1():
 *       with lock_a: time.sleep(0.1); with lock_b: ...
 *   def worker_2():
 *       with lock_b: time.sleep(0.1); with lock_a: ...
 *   # both threads hang forever, and nothing says why
 *
 * Under Strand's diagnostics (here through `NodeDiagnostics.runMain`), the wait
 * that would close the cycle fails with a typed `DeadlockDetected` that names
 * the fibers, the locks and where each was acquired, as a database breaks a
 * deadlock. The refused fiber releases what it holds, so the other one finishes.
 * Lock-order checking also reports the inversion: a then b here, b then a there.
 */
import { Lock } from "@strand/core"
import { NodeDiagnostics } from "@strand/platform-node"
import { Console, Effect } from "effect"

const worker = Effect.fn("worker")(function* (name: string, first: Lock.Lock, second: Lock.Lock) {
  yield* Lock.withLock(
    first,
    Effect.gen(function* () {
      yield* Console.log(`${name} holds ${first.name}, wants ${second.name}`)
      yield* Effect.sleep("100 millis")
      yield* Lock.withLock(second, Console.log(`${name} holds both locks`))
    })
  )
  return `${name} finished`
})

const program = Effect.gen(function* () {
  const a = yield* Lock.make({ name: "a" })
  const b = yield* Lock.make({ name: "b" })
  const results = yield* Effect.all(
    [
      worker("worker 1", a, b).pipe(
        Effect.catchTag("DeadlockDetected", (e) => Effect.succeed(`DeadlockDetected: ${e.message}`))
      ),
      worker("worker 2", b, a).pipe(
        Effect.catchTag("DeadlockDetected", (e) => Effect.succeed(`DeadlockDetected: ${e.message}`))
      )
    ],
    { concurrency: 2 }
  )
  for (const result of results) yield* Console.log(result)
})

NodeDiagnostics.runMain(program, {
  onReport: (report) => console.log(`[strand] ${report._tag}: ${report.message}`)
})
