/**
 * Workers: five workers start, sleep 2 s, and finish; the main program joins them all.
 *
 * Python:
 *   def worker(n):
 *       print(f"Worker {n} started"); time.sleep(2); print(f"Worker {n} finished")
 *   threads = [threading.Thread(target=worker, args=(i,)) for i in range(5)]
 *   for t in threads: t.start()
 *   for t in threads: t.join()
 *   print("All workers completed.")
 *
 * Sleeping fibers cost no thread: all five sleep at once, so this takes 2 s, not 10.
 */
import { Console, Effect, Fiber } from "effect"

const quick = process.argv.includes("--quick")
const nap = quick ? "200 millis" : "2 seconds"

const worker = (n: number) =>
  Effect.gen(function* () {
    yield* Console.log(`Worker ${n} started`)
    yield* Effect.sleep(nap)
    yield* Console.log(`Worker ${n} finished`)
  })

const program = Effect.gen(function* () {
  const start = Date.now()
  const fibers = yield* Effect.forEach([0, 1, 2, 3, 4], (n) => Effect.forkChild(worker(n)))
  yield* Fiber.joinAll(fibers)
  yield* Console.log("All workers completed.")
  yield* Console.log(`Elapsed: ${((Date.now() - start) / 1000).toFixed(1)} s for five ${nap} sleeps`)
})

Effect.runPromise(program)
