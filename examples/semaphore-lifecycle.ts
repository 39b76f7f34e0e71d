/**
 * Semaphores, daemon and child fibers, the fiber lifecycle, and worker identity.
 *
 * Python:
 *   sem = threading.Semaphore(2)
 *   def use_resource(n):
 *       with sem: print(f"{n} uses the resource"); time.sleep(0.5)
 *   threading.Thread(target=background, daemon=True).start()   # a daemon thread
 *   t = threading.Thread(target=work); t.start(); t.is_alive(); t.join()
 *   os.getpid()   # the identity of each process, as in its process control block
 */

import { threadId } from "node:worker_threads"
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Effect, Fiber, Latch, Schema, Semaphore } from "effect"

const quick = process.argv.includes("--quick")
const pause = quick ? 50 : 500

const WhoAmI = Task.make("WhoAmI", { payload: Schema.Int, success: Schema.String })

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(WhoAmI, (task) => Effect.succeed(`task ${task} ran on worker thread ${threadId}`))
  ])
} else {
  const semaphore = Effect.gen(function* () {
    yield* Console.log("1. A semaphore of 2 limits access to a resource:")
    const sem = yield* Semaphore.make(2)
    let inside = 0
    const useResource = (n: number) =>
      Effect.gen(function* () {
        inside++
        yield* Console.log(`   fiber ${n} uses the resource (${inside} inside)`)
        yield* Effect.sleep(pause)
        inside--
      }).pipe(sem.withPermit)
    yield* Effect.forEach([1, 2, 3, 4, 5], useResource, { concurrency: "unbounded", discard: true })
  })

  const daemons = Effect.gen(function* () {
    yield* Console.log("2. Daemon fibers outlive their parent; child fibers do not:")
    let daemonTicks = 0
    let childTicks = 0
    const tick = (count: () => void) => Effect.forever(Effect.andThen(Effect.sleep(pause / 5), Effect.sync(count)))
    const parent = Effect.gen(function* () {
      const daemon = yield* Effect.forkDetach(tick(() => daemonTicks++))
      yield* Effect.forkChild(tick(() => childTicks++))
      yield* Effect.sleep(pause)
      return daemon
    })
    const daemon = yield* Fiber.join(yield* Effect.forkChild(parent))
    const [daemonAtExit, childAtExit] = [daemonTicks, childTicks]
    yield* Effect.sleep(pause)
    yield* Console.log(`   after the parent ended: the daemon kept ticking (${daemonAtExit} -> ${daemonTicks}),`)
    yield* Console.log(`   the child was interrupted with it (${childAtExit} -> ${childTicks})`)
    // Python ends daemon threads when the program exits; here the program stops it itself.
    yield* Fiber.interrupt(daemon)
  })

  const lifecycle = Effect.gen(function* () {
    yield* Console.log("3. A fiber's lifecycle, observed live:")
    const gate = yield* Latch.make()
    let state = "created"
    const fiber = yield* Effect.forkChild(
      Effect.gen(function* () {
        state = "running"
        yield* Effect.sleep(1)
        state = "blocked on a latch"
        yield* gate.await
        state = "running again"
        return "result"
      }),
      { startImmediately: false }
    )
    yield* Console.log(`   after fork:          ${state}`)
    yield* Effect.sleep(pause / 5)
    yield* Console.log(`   while it waits:      ${state} (done: ${fiber.pollUnsafe() !== undefined})`)
    yield* gate.open
    const exit = yield* Fiber.await(fiber)
    yield* Console.log(`   after the latch opened: done with ${exit._tag} (${state})`)
  })

  const identity = Effect.gen(function* () {
    yield* Console.log("4. Each worker's identity (its thread id), as a process control block records a pid:")
    const pool = yield* WorkerPool.make({ module: import.meta.url, size: 2 })
    const lines = yield* pool.map(WhoAmI, [1, 2, 3, 4])
    for (const line of lines) yield* Console.log(`   ${line}`)
    yield* Console.log(`   the main program runs on thread ${threadId}`)
  })

  Effect.runPromise(Effect.scoped(Effect.all([semaphore, daemons, lifecycle, identity], { discard: true })))
}
