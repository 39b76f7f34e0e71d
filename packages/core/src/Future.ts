/**
 * Handles to work in progress, and the completion policies of Python's
 * `concurrent.futures`: `wait` and `asCompleted`.
 *
 * **When to use**
 *
 * Use `wait` to block until the first, the first failing, or every one of a
 * set of futures is done, and `asCompleted` to consume results in the order
 * they finish.
 *
 * **Details**
 *
 * A `Future` comes from `Executor.submit`. It can be awaited any number of
 * times, and cancelled; awaiting a cancelled future fails with `FutureCancelled`.
 * Interrupting an `await` (or `wait`) cancels nothing: the work goes on and
 * can be awaited again.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor, Future } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 4 })
 *   const futures = yield* Effect.forEach(["1 second", "2 seconds"] as const, (delay) =>
 *     Executor.submit(executor, Effect.as(Effect.sleep(delay), delay)))
 *   const { done, pending } = yield* Future.wait(futures, { returnWhen: "FirstCompleted" })
 *   return [done.length, pending.length] // [1, 1]
 * }))
 * ```
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { identity } from "effect/Function"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import * as Stream from "effect/Stream"
import { deadlineOf, untilDeadline } from "./internal/arguments.ts"
import { FutureCancelled as FutureCancelledClass, type InvalidArgument } from "./internal/errors.ts"

type FutureCancelled = FutureCancelledClass

export {
  /**
   * The future was cancelled before it completed.
   *
   * @category errors
   * @since 0.1.0
   */
  FutureCancelled,
  /**
   * A timeout is not a duration (from an untyped caller).
   *
   * @category errors
   * @since 0.2.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Future" as const

/**
 * The handle of a submitted piece of work.
 *
 * @category models
 * @since 0.1.0
 */
export interface Future<A, E = never> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** Waits for the result: Python's `result()`. */
  readonly await: Effect.Effect<A, E | FutureCancelled>
  /**
   * Cancels the work if it has not completed; `true` if this call cancelled
   * it. On running work it waits until the work's fiber has ended, so work
   * that masks interruption holds the caller up (Java's `cancel` returns at
   * once); fork it with `Effect.forkDetach` to not wait.
   */
  readonly cancel: Effect.Effect<boolean>
  /** Whether the work has completed, failed or been cancelled: Python's `done()`. */
  readonly isDone: Effect.Effect<boolean>
  /** Whether the work was cancelled: Python's `cancelled()`. */
  readonly isCancelled: Effect.Effect<boolean>
  /** @internal The outcome, once there is one. */
  readonly exitUnsafe: () => Exit.Exit<A, E | FutureCancelled> | undefined
}

/** A future and the function that completes it, once. @internal */
export interface Completable<A, E> {
  readonly future: Future<A, E>
  /** Completes the future with `exit` unless it is done already; `true` if this call did it. */
  readonly complete: (exit: Exit.Exit<A, E | FutureCancelled>) => boolean
}

/**
 * Makes a future that keeps its own completion record, so that reading its
 * outcome never depends on how Effect represents a completed `Deferred`.
 *
 * @internal
 */
export const makeUnsafe = <A, E>(cancel: (self: Completable<A, E>) => Effect.Effect<boolean>): Completable<A, E> => {
  const future = new FutureImpl<A, E>(cancel)
  return future.completable
}

class FutureImpl<A, E> extends PipeableClass implements Future<A, E> {
  readonly [TypeId] = TypeId
  private readonly deferred = Deferred.makeUnsafe<A, E | FutureCancelled>()
  private outcome: Exit.Exit<A, E | FutureCancelled> | undefined = undefined
  readonly completable: Completable<A, E>
  readonly await: Effect.Effect<A, E | FutureCancelled>
  readonly cancel: Effect.Effect<boolean>

  constructor(cancel: (self: Completable<A, E>) => Effect.Effect<boolean>) {
    super()
    this.await = Deferred.await(this.deferred)
    this.completable = { future: this, complete: (exit) => this.complete(exit) }
    this.cancel = Effect.suspend(() => cancel(this.completable))
  }

  private complete(exit: Exit.Exit<A, E | FutureCancelled>): boolean {
    if (this.outcome !== undefined) return false
    this.outcome = exit
    Deferred.doneUnsafe(this.deferred, exit)
    return true
  }

  readonly isDone: Effect.Effect<boolean> = Effect.sync(() => this.outcome !== undefined)

  readonly isCancelled: Effect.Effect<boolean> = Effect.sync(() => {
    const outcome = this.outcome
    if (outcome === undefined || Exit.isSuccess(outcome)) return false
    const error = Exit.findErrorOption(outcome)
    return error._tag === "Some" && error.value instanceof FutureCancelledClass
  })

  readonly exitUnsafe = (): Exit.Exit<A, E | FutureCancelled> | undefined => this.outcome
}

/**
 * When `wait` returns, as in `concurrent.futures`.
 *
 * @category models
 * @since 0.1.0
 */
export type ReturnWhen = "FirstCompleted" | "FirstException" | "AllCompleted"

/**
 * The futures that are done and those still pending when `wait` returned.
 *
 * @category models
 * @since 0.1.0
 */
export interface WaitResult<A, E> {
  readonly done: Array<Future<A, E>>
  readonly pending: Array<Future<A, E>>
}

const isDone = <A, E>(future: Future<A, E>): boolean => future.exitUnsafe() !== undefined

const failed = <A, E>(future: Future<A, E>): boolean => {
  const exit = future.exitUnsafe()
  return exit !== undefined && Exit.isFailure(exit)
}

/**
 * Waits for a set of futures: Python's `concurrent.futures.wait`.
 *
 * **When to use**
 *
 * Use to react to the first result, the first failure, or all results, with
 * an optional overall timeout.
 *
 * **Details**
 *
 * - `"AllCompleted"` (the default) returns once every future is done.
 * - `"FirstCompleted"` returns once at least one is done.
 * - `"FirstException"` returns once one has failed (or been cancelled), or all are done.
 * - With a `timeout`, it returns when the time runs out, whatever is done.
 *
 * Waiting never consumes or cancels anything: the pending futures keep running.
 * As in Python, the futures form a set: one given twice appears once in
 * `done` or `pending`. A `timeout` that is not a duration fails at once with
 * `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Executor, Future } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const executor = yield* Executor.make({ maxWorkers: 2 })
 *   const ok = yield* Executor.submit(executor, Effect.succeed(1))
 *   const bad = yield* Executor.submit(executor, Effect.fail("boom"))
 *   const { done } = yield* Future.wait([ok, bad], { returnWhen: "FirstException", timeout: "1 second" })
 *   return done.length
 * }))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const wait = <A, E>(
  futures: Iterable<Future<A, E>>,
  options?: { readonly returnWhen?: ReturnWhen | undefined; readonly timeout?: Duration.Input | undefined }
): Effect.Effect<WaitResult<A, E>, InvalidArgument> =>
  Effect.gen(function* () {
    // A set of futures, as in Python: one listed twice is waited for, and reported, once.
    const all = Array.from(new Set(futures))
    const returnWhen = options?.returnWhen ?? "AllCompleted"
    const deadline = yield* deadlineOf("Future.wait", options?.timeout)
    for (;;) {
      const done = all.filter(isDone)
      const pending = all.filter((f) => !isDone(f))
      const satisfied =
        pending.length === 0 ||
        (returnWhen === "FirstCompleted" && done.length > 0) ||
        (returnWhen === "FirstException" && done.some(failed))
      if (satisfied) return { done, pending }
      // Waiting for all needs no race: one pass awaits each, instead of a race per completion.
      const next =
        returnWhen === "AllCompleted"
          ? Effect.forEach(pending, (f) => Effect.exit(f.await), { discard: true })
          : Effect.raceAll(pending.map((f) => Effect.exit(f.await)))
      if (!(yield* untilDeadline(deadline, next))) return { done, pending }
    }
  })

/**
 * Runs effects with bounded concurrency and streams their results in the
 * order they complete: Python's `as_completed`.
 *
 * **When to use**
 *
 * Use to process results as soon as each is ready, rather than in input order.
 *
 * **Details**
 *
 * At most `concurrency` effects run at once (unbounded by default). The
 * stream fails with the first error; wrap each effect in `Effect.exit` to
 * receive failures as values instead.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Future } from "@strand/core"
 *
 * const program = Future.asCompleted(
 *   [Effect.as(Effect.sleep("2 seconds"), "slow"), Effect.as(Effect.sleep("1 second"), "fast")],
 *   { concurrency: 2 }
 * ).pipe(Stream.runCollect) // ["fast", "slow"]
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const asCompleted = <A, E, R>(
  effects: Iterable<Effect.Effect<A, E, R>>,
  options?: { readonly concurrency?: number | "unbounded" | undefined }
): Stream.Stream<A, E, R> =>
  Stream.fromIterable(effects).pipe(
    Stream.mapEffect(identity, { concurrency: options?.concurrency ?? "unbounded", unordered: true })
  )

/**
 * Whether `u` is a `Future`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Future } from "@strand/core"
 *
 * const program = Future.isFuture("not a future") // false
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isFuture = (u: unknown): u is Future<unknown, unknown> => hasProperty(u, TypeId)
