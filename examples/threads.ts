/**
 * Threads: start two, then join both.
 *
 * Python:
 *   def print_square(n): print(f"Square of {n} is {n * n}")
 *   t1 = threading.Thread(target=print_square, args=(5,))
 *   t2 = threading.Thread(target=print_square, args=(10,))
 *   t1.start(); t2.start()
 *   t1.join(); t2.join()
 *
 * In Effect a thread is a fiber: `Effect.forkChild` starts it, `Fiber.join` waits for it.
 */
import { Console, Effect, Fiber } from "effect"

const printSquare = (n: number) => Console.log(`Square of ${n} is ${n * n}`)

const program = Effect.gen(function* () {
  const t1 = yield* Effect.forkChild(printSquare(5))
  const t2 = yield* Effect.forkChild(printSquare(10))
  yield* Fiber.join(t1)
  yield* Fiber.join(t2)
  yield* Console.log("Both threads finished.")
})

Effect.runPromise(program)
