/**
 * A scoped, bounded executor of effects: Python's `ThreadPoolExecutor`, with
 * fibers as its threads.
 *
 * **When to use**
 *
 * Use an `Executor` when work is submitted piecemeal (not as one collection),
 * each piece needs a handle that can be awaited or cancelled, and at most
 * `maxWorkers` pieces may run at once. For CPU-bound work use the
 * `WorkerPool` of `@strand/platform-node`, which runs on other cores.
 *
 * **Details**
 *
 * - `submit` returns a `Future` at once; the work waits for a free slot.
 * - `map` keeps the input order of its results.
 * - `shutdown({ wait, cancelPending })` stops new submissions (they fail with
 *   `ExecutorShutdown`), optionally cancels work that has not started, and
 *   optionally waits for the rest.
 * - Closing the executor's scope shuts it down: if the scope ends normally it
 *   waits for submitted work, as Python's `with` block does; if it ends by
 *   failure or interruption it cancels everything.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 2 })
 *   const square = (n: number) => Effect.succeed(n * n)
 *   const a = yield* Executor.submit(executor, square(5))
 *   const b = yield* Executor.submit(executor, square(10))
 *   return [yield* a.await, yield* b.await] // [25, 100]
 * }))
 * ```
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Future from "./Future.ts"
import { ExecutorShutdown, type FutureCancelled, InvalidArgument } from "./internal/errors.ts"

export {
  /**
   * `submit` or `map` was called after `shutdown`.
   *
   * @since 0.1.0
   */
  ExecutorShutdown,
  /**
   * `maxWorkers` is not a whole number of at least 1.
   *
   * @since 0.1.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Executor" as const

/**
 * A bounded executor of effects.
 *
 * @since 0.1.0
 */
export interface Executor {
  readonly [TypeId]: typeof TypeId
  /** How many submitted effects may run at once. */
  readonly maxWorkers: number
  /** Schedules an effect and returns its `Future`. */
  submit<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<Future.Future<A, E>, ExecutorShutdown>
  /** Stops taking work; see `shutdown`. */
  shutdown(options?: ShutdownOptions): Effect.Effect<void>
}

/**
 * Options for `Executor.shutdown`.
 *
 * @since 0.1.0
 */
export interface ShutdownOptions {
  /** Wait for running (and, unless cancelled, pending) work to finish. Default `true`. */
  readonly wait?: boolean | undefined
  /** Cancel work that has not started yet. Default `false`. */
  readonly cancelPending?: boolean | undefined
}

interface Task {
  started: boolean
  readonly future: Future.Future<unknown, unknown>
}

/**
 * Creates an executor that runs at most `maxWorkers` effects at once.
 *
 * **When to use**
 *
 * Use inside a scope, around a burst of submitted work.
 *
 * **Details**
 *
 * Fails with `InvalidArgument` unless `maxWorkers` is a whole number of at least 1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 8 })
 *   return yield* Executor.map(executor, [1, 2, 3], (n) => Effect.succeed(n + 1)) // [2, 3, 4]
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: { readonly maxWorkers: number }): Effect.Effect<Executor, InvalidArgument, Scope.Scope> =>
  Effect.gen(function* () {
    const { maxWorkers } = options
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1) {
      return yield* new InvalidArgument({
        operation: "Executor.make",
        argument: "maxWorkers",
        value: maxWorkers,
        expected: "a whole number of at least 1"
      })
    }
    // Tasks live in a child scope that closes after the shutdown finalizer below has
    // run, so a normal close can wait for them before anything is interrupted.
    const scope = yield* Scope.fork(yield* Effect.scope)
    const slots = yield* Semaphore.make(maxWorkers)
    const tasks = new Set<Task>()
    let closed = false

    const submit = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<Future.Future<A, E>, ExecutorShutdown> =>
      Effect.gen(function* () {
        if (closed) return yield* new ExecutorShutdown()
        const deferred = Deferred.makeUnsafe<A, E | FutureCancelled>()
        let fiber: Fiber.Fiber<unknown, unknown> | undefined
        const cancel = Effect.suspend(() => {
          if (Deferred.isDoneUnsafe(deferred)) return Effect.succeed(false)
          Deferred.doneUnsafe(deferred, Effect.fail(new Future.FutureCancelled()))
          return fiber === undefined ? Effect.succeed(true) : Effect.as(Fiber.interrupt(fiber), true)
        })
        const task: Task = { started: false, future: Future.make(deferred, cancel) as Future.Future<unknown, unknown> }
        tasks.add(task)
        const run = Effect.suspend(() => {
          task.started = true
          return effect
        }).pipe(
          slots.withPermit,
          Effect.onExit((exit) =>
            Effect.sync(() => {
              tasks.delete(task)
              Deferred.doneUnsafe(deferred, Exit.hasInterrupts(exit) ? Effect.fail(new Future.FutureCancelled()) : exit)
            })
          )
        )
        fiber = yield* Effect.forkIn(Effect.ignore(run), scope)
        return task.future as Future.Future<A, E>
      })

    const shutdown = (options?: ShutdownOptions): Effect.Effect<void> =>
      Effect.gen(function* () {
        closed = true
        const all = Array.from(tasks)
        if (options?.cancelPending === true) {
          yield* Effect.forEach(
            all.filter((t) => !t.started),
            (t) => t.future.cancel,
            { discard: true }
          )
        }
        if (options?.wait !== false) {
          yield* Effect.forEach(all, (t) => Effect.exit(t.future.await), { discard: true })
        }
      })

    yield* Effect.addFinalizer((exit) =>
      Exit.isSuccess(exit)
        ? shutdown({ wait: true })
        : Effect.andThen(
            Effect.sync(() => {
              closed = true
            }),
            Effect.forEach(Array.from(tasks), (t) => t.future.cancel, { discard: true })
          )
    )

    return { [TypeId]: TypeId, maxWorkers, submit, shutdown } satisfies Executor
  })

/**
 * Schedules an effect and returns its `Future` at once: Python's `submit`.
 *
 * **When to use**
 *
 * Use to start one piece of work that you will await or cancel later.
 *
 * **Details**
 *
 * Fails with `ExecutorShutdown` after `shutdown`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 1 })
 *   const future = yield* Executor.submit(executor, Effect.succeed("hi"))
 *   return yield* future.await // "hi"
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const submit: {
  <A, E>(effect: Effect.Effect<A, E>): (self: Executor) => Effect.Effect<Future.Future<A, E>, ExecutorShutdown>
  <A, E>(self: Executor, effect: Effect.Effect<A, E>): Effect.Effect<Future.Future<A, E>, ExecutorShutdown>
} = dual(2, <A, E>(self: Executor, effect: Effect.Effect<A, E>) => self.submit(effect))

/**
 * Runs `f` over every input on the executor and returns the results in input
 * order: Python's `executor.map`.
 *
 * **When to use**
 *
 * Use to fan a collection out over the executor's slots.
 *
 * **Details**
 *
 * Fails with the first error in input order, and then cancels the work still
 * running.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 2 })
 *   return yield* Executor.map(executor, [5, 10], (n) => Effect.succeed(n * n)) // [25, 100]
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const map: {
  <I, A, E>(
    inputs: Iterable<I>,
    f: (input: I, index: number) => Effect.Effect<A, E>
  ): (self: Executor) => Effect.Effect<Array<A>, E | ExecutorShutdown | FutureCancelled>
  <I, A, E>(
    self: Executor,
    inputs: Iterable<I>,
    f: (input: I, index: number) => Effect.Effect<A, E>
  ): Effect.Effect<Array<A>, E | ExecutorShutdown | FutureCancelled>
} = dual(3, <I, A, E>(self: Executor, inputs: Iterable<I>, f: (input: I, index: number) => Effect.Effect<A, E>) =>
  Effect.flatMap(
    Effect.forEach(inputs, (input, i) => self.submit(f(input, i))),
    (futures) =>
      Effect.forEach(futures, (future) => future.await).pipe(
        Effect.onError(() => Effect.forEach(futures, (future) => future.cancel, { discard: true }))
      )
  )
)

/**
 * Stops the executor: Python's `shutdown(wait, cancel_futures)`.
 *
 * **When to use**
 *
 * Use to stop taking work before the scope ends, or to cancel what has not started.
 *
 * **Details**
 *
 * Later submissions fail with `ExecutorShutdown`. With `cancelPending`, work
 * that has not started is cancelled. With `wait` (the default), it returns
 * once the remaining work is done.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 1 })
 *   yield* Executor.submit(executor, Effect.sleep("1 second"))
 *   yield* Executor.shutdown(executor, { wait: true, cancelPending: true })
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const shutdown = (self: Executor, options?: ShutdownOptions): Effect.Effect<void> => self.shutdown(options)
