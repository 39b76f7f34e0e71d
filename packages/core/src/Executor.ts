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
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Latch from "effect/Latch"
import * as Option from "effect/Option"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Future from "./Future.ts"
import { checkWhole, withDuration } from "./internal/arguments.ts"
import { ExecutorShutdown, type FutureCancelled, type InvalidArgument } from "./internal/errors.ts"

export {
  /**
   * `submit` or `map` was called after `shutdown`.
   *
   * @category errors
   * @since 0.1.0
   */
  ExecutorShutdown,
  /**
   * `maxWorkers` is not a whole number of at least 1.
   *
   * @category errors
   * @since 0.1.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Executor" as const

/**
 * A bounded executor of effects.
 *
 * @category models
 * @since 0.1.0
 */
export interface Executor extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** How many submitted effects may run at once. */
  readonly maxWorkers: number
  /** Schedules an effect and returns its `Future`. */
  submit<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<Future.Future<A, E>, ExecutorShutdown>
  /** Stops taking work; see `shutdown`. */
  shutdown(options?: ShutdownOptions): Effect.Effect<void>
  /** Stops taking work, cancels what has not started and interrupts what runs; see `shutdownNow`. */
  readonly shutdownNow: Effect.Effect<Array<Future.Future<unknown, unknown>>>
  /** Whether `shutdown` or `shutdownNow` was called (or the scope closed). */
  readonly isShutdown: Effect.Effect<boolean>
  /** Whether it is shut down and every submitted piece of work has ended. */
  readonly isTerminated: Effect.Effect<boolean>
  /** Waits at most `timeout` until it has terminated; succeeds with whether it did. */
  awaitTermination(timeout: Duration.Input): Effect.Effect<boolean, InvalidArgument>
}

/**
 * Options for `Executor.shutdown`.
 *
 * @category models
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
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly maxWorkers: number }): Effect.Effect<Executor, InvalidArgument, Scope.Scope> =>
  Effect.gen(function* () {
    const { maxWorkers } = options
    const invalid = checkWhole("Executor.make", "maxWorkers", maxWorkers, 1)
    if (invalid !== undefined) return yield* invalid
    // Tasks live in a child scope that closes after the shutdown finalizer below has
    // run, so a normal close can wait for them before anything is interrupted.
    const executor = new ExecutorImpl(
      maxWorkers,
      yield* Semaphore.make(maxWorkers),
      yield* Scope.fork(yield* Effect.scope)
    )
    yield* Effect.addFinalizer((exit) => (Exit.isSuccess(exit) ? executor.shutdown({ wait: true }) : executor.abandon))
    return executor
  })

class ExecutorImpl extends PipeableClass implements Executor {
  readonly [TypeId] = TypeId
  readonly maxWorkers: number
  private readonly slots: Semaphore.Semaphore
  private readonly scope: Scope.Scope
  private readonly tasks = new Set<Task>()
  private closed = false
  /** Opens once the executor is shut down and its last task has ended. */
  private readonly terminated = Latch.makeUnsafe(false)

  constructor(maxWorkers: number, slots: Semaphore.Semaphore, scope: Scope.Scope) {
    super()
    this.maxWorkers = maxWorkers
    this.slots = slots
    this.scope = scope
  }

  private checkTerminated(): void {
    if (this.closed && this.tasks.size === 0) this.terminated.openUnsafe()
  }

  readonly submit = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<Future.Future<A, E>, ExecutorShutdown> =>
    Effect.suspend(() => {
      if (this.closed) return Effect.fail(new ExecutorShutdown())
      let fiber: Fiber.Fiber<unknown, unknown> | undefined
      const handle = Future.makeUnsafe<A, E>((self) => {
        if (!self.complete(Exit.fail(new Future.FutureCancelled()))) return Effect.succeed(false)
        return fiber === undefined ? Effect.succeed(true) : Effect.as(Fiber.interrupt(fiber), true)
      })
      const task: Task = { started: false, future: handle.future as Future.Future<unknown, unknown> }
      this.tasks.add(task)
      const run = Effect.suspend(() => {
        task.started = true
        return effect
      }).pipe(
        this.slots.withPermit,
        Effect.onExit((exit) =>
          Effect.sync(() => {
            this.tasks.delete(task)
            handle.complete(
              Exit.hasInterrupts(exit) ? Exit.fail(new Future.FutureCancelled()) : (exit as Exit.Exit<A, E>)
            )
            this.checkTerminated()
          })
        )
      )
      return Effect.map(Effect.forkIn(Effect.ignore(run), this.scope), (forked) => {
        fiber = forked
        return handle.future
      })
    })

  readonly shutdown = Effect.fnUntraced(function* (this: ExecutorImpl, options?: ShutdownOptions) {
    this.closed = true
    this.checkTerminated()
    const all = Array.from(this.tasks)
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
  }).bind(this)

  /** On a failed or interrupted scope: refuse new work and cancel the rest. */
  readonly abandon: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    return Effect.forEach(Array.from(this.tasks), (t) => t.future.cancel, { discard: true })
  })

  readonly shutdownNow: Effect.Effect<Array<Future.Future<unknown, unknown>>> = Effect.suspend(() => {
    this.closed = true
    this.checkTerminated()
    const all = Array.from(this.tasks)
    const neverStarted = all.filter((t) => !t.started).map((t) => t.future)
    // Cancelling does not wait for the running work's fibers to end (Java's shutdownNow returns at once).
    return Effect.as(
      Effect.forEach(all, (t) => Effect.forkDetach(t.future.cancel), { discard: true }),
      neverStarted
    )
  })

  readonly isShutdown: Effect.Effect<boolean> = Effect.sync(() => this.closed)

  readonly isTerminated: Effect.Effect<boolean> = Effect.sync(() => this.terminated.isOpen())

  readonly awaitTermination = (timeout: Duration.Input): Effect.Effect<boolean, InvalidArgument> =>
    withDuration("Executor.awaitTermination", "timeout", timeout, (duration) =>
      Effect.map(Effect.timeoutOption(this.terminated.await, duration ?? 0), Option.isSome)
    )
}

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
 * @category combinators
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
 * @category combinators
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
 * @category combinators
 * @since 0.1.0
 */
export const shutdown = (self: Executor, options?: ShutdownOptions): Effect.Effect<void> => self.shutdown(options)

/**
 * Stops the executor at once: Java's `shutdownNow`.
 *
 * **When to use**
 *
 * Use to abandon the work in hand, for example when the program is stopping.
 *
 * **Details**
 *
 * Later submissions fail with `ExecutorShutdown`. Work that has not started is
 * cancelled and returned, so it can be run elsewhere; running work is
 * interrupted. It does not wait for the running work to end: use
 * `awaitTermination` for that.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 1 })
 *   yield* Executor.submit(executor, Effect.never)
 *   yield* Executor.submit(executor, Effect.never)
 *   const neverStarted = yield* Executor.shutdownNow(executor)
 *   return neverStarted.length // 1
 * }))
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const shutdownNow = (self: Executor): Effect.Effect<Array<Future.Future<unknown, unknown>>> => self.shutdownNow

/**
 * Whether the executor was shut down: Java's `isShutdown`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.flatMap(Executor.make({ maxWorkers: 1 }), Executor.isShutdown)) // false
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isShutdown = (self: Executor): Effect.Effect<boolean> => self.isShutdown

/**
 * Whether the executor is shut down and all its work has ended: Java's `isTerminated`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 1 })
 *   yield* Executor.shutdown(executor)
 *   return yield* Executor.isTerminated(executor) // true
 * }))
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isTerminated = (self: Executor): Effect.Effect<boolean> => self.isTerminated

/**
 * Waits at most `timeout` for the executor to terminate: Java's `awaitTermination`.
 *
 * **Details**
 *
 * Succeeds with `true` once it is shut down and all its work has ended, or
 * `false` when the time runs out (an executor that is not shut down never
 * terminates). A timeout that is not a duration fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 1 })
 *   yield* Executor.submit(executor, Effect.sleep("10 millis"))
 *   yield* Executor.shutdown(executor, { wait: false })
 *   return yield* Executor.awaitTermination(executor, "1 second") // true
 * }))
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const awaitTermination = (self: Executor, timeout: Duration.Input): Effect.Effect<boolean, InvalidArgument> =>
  self.awaitTermination(timeout)

/**
 * Whether `u` is a `Executor`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.map(Executor.make({ maxWorkers: 1 }), Executor.isExecutor)) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isExecutor = (u: unknown): u is Executor => hasProperty(u, TypeId)
