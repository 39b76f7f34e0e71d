/**
 * Starvation: an unfair grab-loop against a FIFO-fair Lock.
 *
 * Python's `threading.Lock` makes no fairness promise: a thread that releases and
 * re-acquires at once can keep winning, while others wait. Here three fibers each
 * try to enter a critical section; one of them ("greedy") never pauses between turns.
 *
 * With an unfair spin lock (try, and retry on failure) the greedy fiber wins almost
 * every time. Strand's Lock hands the lock to the longest waiter, so each fiber gets
 * its turn in order. The greedy fiber is waiting again whenever the lock is released,
 * while a polite one is back only after its pause: the greedy fiber gets every other
 * turn, and each polite one a quarter of them. None starves.
 */
import { Lock } from "@strand/core"
import { Console, Effect } from "effect"

const turns = 3_000

const contest = (enter: (work: Effect.Effect<void>) => Effect.Effect<void, unknown>) =>
  Effect.gen(function* () {
    const counts = { greedy: 0, polite1: 0, polite2: 0 }
    let remaining = turns
    const worker = (name: keyof typeof counts) =>
      Effect.gen(function* () {
        while (remaining > 0) {
          yield* enter(
            Effect.sync(() => {
              if (remaining > 0) {
                remaining--
                counts[name]++
              }
            })
          )
          if (name !== "greedy") yield* Effect.yieldNow // the polite ones pause between turns
        }
      })
    yield* Effect.all([worker("greedy"), worker("polite1"), worker("polite2")], { concurrency: "unbounded" })
    return counts
  })

const program = Effect.gen(function* () {
  // An unfair lock: a flag that whoever runs first grabs, with retries on failure.
  let held = false
  const spin = (work: Effect.Effect<void>): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (held) return Effect.andThen(Effect.yieldNow, spin(work))
      held = true
      return Effect.ensuring(
        work,
        Effect.sync(() => {
          held = false
        })
      )
    })
  const unfair = yield* contest(spin)
  yield* Console.log(`Unfair grab-loop: ${JSON.stringify(unfair)}`)

  const lock = yield* Lock.make()
  const fair = yield* contest((work) => Lock.withLock(lock, Effect.andThen(Effect.yieldNow, work)))
  yield* Console.log(`FIFO-fair Lock:   ${JSON.stringify(fair)}`)
})

Effect.runPromise(program)
