/**
 * A cyclic barrier: Python's `threading.Barrier` for fibers.
 *
 * **When to use**
 *
 * Use a `Barrier` when a fixed number of fibers work in phases and none may
 * start the next phase until all have finished the current one.
 *
 * **Details**
 *
 * - `wait` blocks until `parties` fibers have called it, then releases them
 *   all. It returns the arrival index, from 0 (first) to `parties - 1` (last).
 * - The last arrival runs the optional `action` once per generation, before
 *   anyone is released. The barrier then resets itself for the next generation.
 * - A timeout, an interruption of a waiter, a failing action or `abort` breaks
 *   the barrier: every waiter fails with `BrokenBarrier`, and so does every
 *   later `wait` until `reset`.
 * - Once the last party has arrived, the generation is complete: a party
 *   interrupted or timed out after that moment no longer breaks it (as in
 *   Java), and the others are released normally. A party whose timeout
 *   passes while the action runs waits for the action, and shares its
 *   outcome with the others.
 * - An action that does not succeed (it fails, dies, or the last party is
 *   interrupted while it runs) breaks the barrier; `BrokenBarrier.actionError`
 *   carries the action's own error, so no party is ever left waiting.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const barrier = yield* Barrier.make(3, { action: Effect.log("phase done") })
 *   const worker = (id: number) => Effect.gen(function*() {
 *     yield* Effect.log(`worker ${id} phase 1`)
 *     yield* Barrier.wait(barrier)
 *     yield* Effect.log(`worker ${id} phase 2`)
 *   })
 *   yield* Effect.all([1, 2, 3].map(worker), { concurrency: "unbounded" })
 * })
 * ```
 *
 * @since 0.1.0
 */

import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import { checkWhole, withDuration } from "./internal/arguments.ts"
import { BrokenBarrier, type InvalidArgument } from "./internal/errors.ts"
import { makeWaiter, WaitQueue } from "./internal/waiters.ts"

export {
  /**
   * The barrier was broken by a timeout, an interruption, a failing action,
   * `abort` or `reset` while this fiber waited, or before it arrived.
   *
   * @category errors
   * @since 0.1.0
   */
  BrokenBarrier,
  /**
   * `parties` is not a whole number of at least 1.
   *
   * @category errors
   * @since 0.1.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Barrier" as const

/**
 * A cyclic barrier for a fixed number of parties.
 *
 * @category models
 * @since 0.1.0
 */
export interface Barrier extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** How many fibers must arrive to release a generation. */
  readonly parties: number
  /** Waits for all parties; succeeds with the arrival index. */
  wait(options?: WaitOptions): Effect.Effect<number, BrokenBarrier | InvalidArgument>
  /** Breaks the barrier: current and later waiters fail with `BrokenBarrier`. */
  readonly abort: Effect.Effect<void>
  /** Breaks the current generation (if anyone waits) and makes the barrier usable again. */
  readonly reset: Effect.Effect<void>
  /** How many fibers wait in the current generation. */
  readonly waiting: Effect.Effect<number>
  /** Whether the barrier is broken. */
  readonly broken: Effect.Effect<boolean>
}

/**
 * Options for `Barrier.make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Run by the last arrival of each generation before the others are released. */
  readonly action?: Effect.Effect<void, unknown> | undefined
  /** The default timeout of every `wait`. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * Options for `Barrier.wait`.
 *
 * @category models
 * @since 0.1.0
 */
export interface WaitOptions {
  /** Overrides the barrier's default timeout for this wait. */
  readonly timeout?: Duration.Input | undefined
}

type Reason = BrokenBarrier["reason"]

class Generation {
  arrived = 0
  broken: Reason | undefined = undefined
  actionError: unknown = undefined
  /**
   * Its last party arrived: an interruption or timeout of another party can no
   * longer break it (as in Java); only a failing action can.
   */
  tripped = false
  /** The action succeeded and the parties were released. */
  released = false
  readonly queue = new WaitQueue()
}

const brokenError = (generation: Generation): BrokenBarrier =>
  new BrokenBarrier(
    generation.actionError === undefined
      ? { reason: generation.broken! }
      : { reason: generation.broken!, actionError: generation.actionError }
  )

class BarrierImpl extends PipeableClass implements Barrier {
  readonly [TypeId] = TypeId
  readonly parties: number
  readonly options: { readonly action: Options["action"]; readonly timeout: Duration.Duration | undefined }
  current = new Generation()

  constructor(
    parties: number,
    options: { readonly action: Options["action"]; readonly timeout: Duration.Duration | undefined }
  ) {
    super()
    this.parties = parties
    this.options = options
  }

  /** Breaks `generation`, releasing its waiters to fail with `BrokenBarrier`. */
  breakGeneration(generation: Generation, reason: Reason, actionError?: unknown): void {
    if (generation.broken !== undefined || (generation.tripped && reason !== "action-failed")) return
    generation.broken = reason
    generation.actionError = actionError
    generation.queue.drain((waiter) => generation.queue.grant(waiter))
  }

  wait(options?: WaitOptions): Effect.Effect<number, BrokenBarrier | InvalidArgument> {
    if (options?.timeout === undefined) return this.arrive(this.options.timeout)
    return withDuration("Barrier.wait", "timeout", options.timeout, (timeout) => this.arrive(timeout))
  }

  /** Arrives at the current generation; `timeout` was decoded by `make` or `wait`. */
  private arrive(timeout: Duration.Duration | undefined): Effect.Effect<number, BrokenBarrier> {
    return Effect.withFiber((fiber) => {
      const generation = this.current
      if (generation.broken !== undefined) return Effect.fail(brokenError(generation))
      const index = generation.arrived++
      if (generation.arrived === this.parties) return this.trip(generation, index)
      const outcome = (): Effect.Effect<number, BrokenBarrier> =>
        generation.broken === undefined ? Effect.succeed(index) : Effect.fail(brokenError(generation))
      return generation.queue.park(makeWaiter(fiber), timeout).pipe(
        Effect.onInterrupt(() => Effect.sync(() => this.breakGeneration(generation, "interrupted"))),
        Effect.flatMap((released) => {
          if (released || generation.broken !== undefined || generation.released) return outcome()
          // Timed out after the last party arrived, while it runs the action: the action's outcome
          // decides this wait too, as in Python and Java, where the timed-out waiter needs the lock
          // the action holds. Its release or its failure grants this second wait.
          if (generation.tripped) return Effect.flatMap(generation.queue.park(makeWaiter(fiber)), outcome)
          this.breakGeneration(generation, "timeout")
          return outcome()
        })
      )
    })
  }

  /**
   * The last arrival runs the action, then releases the generation. An action
   * that does not succeed (it fails, dies, or its fiber is interrupted while it
   * runs) breaks the barrier, as Java's does, and the parties get its error.
   */
  trip(generation: Generation, index: number): Effect.Effect<number, BrokenBarrier> {
    this.current = new Generation()
    generation.tripped = true
    const release = Effect.sync(() => {
      generation.released = true
      generation.queue.drain((waiter) => generation.queue.grant(waiter))
      return index
    })
    const action = this.options.action
    if (action === undefined) return release
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.exit(restore(action)), (exit) => {
        if (Exit.isSuccess(exit)) return release
        const actionError = Cause.hasInterruptsOnly(exit.cause)
          ? "the action was interrupted"
          : Cause.squash(exit.cause)
        this.breakGeneration(generation, "action-failed", actionError)
        this.breakGeneration(this.current, "action-failed", actionError)
        return Cause.hasInterruptsOnly(exit.cause)
          ? Effect.failCause(exit.cause as Cause.Cause<never>)
          : Effect.fail(brokenError(generation))
      })
    )
  }

  readonly abort = Effect.sync(() => this.breakGeneration(this.current, "abort"))

  readonly reset = Effect.sync(() => {
    if (this.current.queue.size > 0) this.breakGeneration(this.current, "reset")
    this.current = new Generation()
  })

  readonly waiting = Effect.sync(() => this.current.queue.size)
  readonly broken = Effect.sync(() => this.current.broken !== undefined)
}

/**
 * Creates a barrier for `parties` fibers.
 *
 * **When to use**
 *
 * Use to line up a fixed group of fibers between phases of work.
 *
 * **Details**
 *
 * Fails with `InvalidArgument` unless `parties` is a whole number of at least 1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const barrier = yield* Barrier.make(2, { timeout: "5 seconds" })
 *   return yield* Effect.all([Barrier.wait(barrier), Barrier.wait(barrier)], { concurrency: 2 }) // [0, 1]
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (parties: number, options?: Options): Effect.Effect<Barrier, InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = checkWhole("Barrier.make", "parties", parties, 1)
    if (invalid !== undefined) return Effect.fail(invalid)
    return withDuration("Barrier.make", "timeout", options?.timeout, (timeout) =>
      Effect.succeed(new BarrierImpl(parties, { action: options?.action, timeout }))
    )
  })

/**
 * Waits until all parties have arrived; succeeds with the arrival index.
 *
 * **When to use**
 *
 * Use at the end of each phase.
 *
 * **Details**
 *
 * Fails with `BrokenBarrier` if the barrier breaks while waiting or is
 * already broken. If this wait times out or is interrupted before the last
 * party arrives, it breaks the barrier for everyone. A timeout that passes
 * while the last party runs the action waits for the action, and this wait
 * then ends as the others do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const barrier = yield* Barrier.make(1)
 *   return yield* Barrier.wait(barrier, { timeout: "1 second" }) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const wait = (self: Barrier, options?: WaitOptions): Effect.Effect<number, BrokenBarrier | InvalidArgument> =>
  self.wait(options)

/**
 * Breaks the barrier: Python's `abort()`.
 *
 * **When to use**
 *
 * Use when one party cannot continue, so that the others stop waiting for it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const barrier = yield* Barrier.make(2)
 *   yield* Barrier.abort(barrier)
 *   return yield* Barrier.broken(barrier) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const abort = (self: Barrier): Effect.Effect<void> => self.abort

/**
 * Returns the barrier to its empty, unbroken state: Python's `reset()`.
 *
 * **When to use**
 *
 * Use after a break, once the parties are ready to start over.
 *
 * **Details**
 *
 * Fibers waiting at the moment of the reset fail with `BrokenBarrier`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const barrier = yield* Barrier.make(2)
 *   yield* Barrier.abort(barrier)
 *   yield* Barrier.reset(barrier)
 *   return yield* Barrier.broken(barrier) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const reset = (self: Barrier): Effect.Effect<void> => self.reset

/**
 * How many fibers wait in the current generation: Python's `n_waiting`.
 *
 * **When to use**
 *
 * Use for diagnostics and tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const barrier = yield* Barrier.make(2)
 *   return yield* Barrier.waiting(barrier) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const waiting = (self: Barrier): Effect.Effect<number> => self.waiting

/**
 * Whether the barrier is broken: Python's `broken`.
 *
 * **When to use**
 *
 * Use to decide whether to `reset` before the next phase.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const barrier = yield* Barrier.make(2)
 *   return yield* Barrier.broken(barrier) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const broken = (self: Barrier): Effect.Effect<boolean> => self.broken

/**
 * Whether `u` is a `Barrier`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Barrier } from "@strand/core"
 *
 * const program = Effect.map(Barrier.make(2), Barrier.isBarrier) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isBarrier = (u: unknown): u is Barrier => hasProperty(u, TypeId)
