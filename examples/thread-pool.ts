/**
 * Thread pool: submit two tasks to an executor and collect their results.
 *
 * Python:
 *   with ThreadPoolExecutor(max_workers=2) as executor:
 *       f1 = executor.submit(square, 5)
 *       f2 = executor.submit(square, 10)
 *       print(f1.result(), f2.result())
 */
import { Executor } from "@strand/core"
import { Console, Effect } from "effect"

const square = (n: number) => Effect.succeed(n * n)

const program = Effect.scoped(
  Effect.gen(function* () {
    const executor = yield* Executor.make({ maxWorkers: 2 })
    const f1 = yield* Executor.submit(executor, square(5))
    const f2 = yield* Executor.submit(executor, square(10))
    yield* Console.log(`Square of 5 is ${yield* f1.await}`)
    yield* Console.log(`Square of 10 is ${yield* f2.await}`)
    // map keeps the input order, as executor.map does.
    yield* Console.log(`map: ${yield* Executor.map(executor, [1, 2, 3], square)}`)
  })
)

Effect.runPromise(program)
