/**
 * Race condition: two workers increment a shared counter 100,000 times each.
 *
 * Python:
 *   counter = 0
 *   def increment():
 *       global counter
 *       for _ in range(100_000):
 *           value = counter; time.sleep(0); counter = value + 1   # read, yield, write
 *
 * Without a lock, the read and the write of one worker straddle the other's, and
 * updates are lost. With `Lock.withLock` around read-yield-write the total is exact.
 */
import { Lock } from "@strand/core"
import { Console, Effect } from "effect"

const times = 100_000

const run = (guard: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, unknown, R>) =>
  Effect.gen(function* () {
    let counter = 0
    const increment = guard(
      Effect.gen(function* () {
        const value = counter
        yield* Effect.yieldNow // another fiber may run here
        counter = value + 1
      })
    )
    const worker = Effect.gen(function* () {
      for (let i = 0; i < times; i++) yield* increment
    })
    yield* Effect.all([worker, worker], { concurrency: 2 })
    return counter
  })

const program = Effect.gen(function* () {
  const unsafe = yield* run((effect) => effect)
  yield* Console.log(`Without a lock: counter = ${unsafe} (expected ${2 * times}: ${2 * times - unsafe} updates lost)`)
  const lock = yield* Lock.make({ name: "counter" })
  const safe = yield* run(Lock.withLock(lock))
  yield* Console.log(`With a Lock:    counter = ${safe}`)
})

Effect.runPromise(program)
