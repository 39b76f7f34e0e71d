/**
 * Runs an effect once after a delay, unless cancelled first: Python's
 * `threading.Timer`.
 *
 * **When to use**
 *
 * Use a `Timer` for a one-shot delayed action that something else may call
 * off: a timeout warning, a debounced flush, a deferred retry.
 *
 * **Details**
 *
 * - `make(delay, effect)` creates the timer inside a `Scope`; `start` arms it.
 * - If `cancel` runs before the timer fires, the effect never runs and
 *   `await` fails with `TimerCancelled`. Once the effect has started, `cancel`
 *   returns `false` and lets it finish, as Python does.
 * - Closing the scope cancels a timer that has not fired and interrupts one
 *   that is running, so a timer never outlives its scope. Interrupting an
 *   `await` leaves the timer as it was.
 * - Time comes from Effect's `Clock`, so tests drive it with `TestClock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Timer } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const timer = yield* Timer.make("1 second", Effect.succeed("fired"))
 *   yield* Timer.start(timer)
 *   return yield* Timer.await(timer) // "fired", a second later
 * }))
 * ```
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Scope from "effect/Scope"
import { withDuration } from "./internal/arguments.ts"
import { type InvalidArgument, TimerAlreadyStarted, TimerCancelled } from "./internal/errors.ts"

export {
  /**
   * `delay` is not a duration.
   *
   * @category errors
   * @since 0.2.0
   */
  InvalidArgument,
  /**
   * `start` was called on a timer that was already started.
   *
   * @category errors
   * @since 0.1.0
   */
  TimerAlreadyStarted,
  /**
   * The timer was cancelled before it fired.
   *
   * @category errors
   * @since 0.1.0
   */
  TimerCancelled
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Timer" as const

/**
 * Where a timer is in its life.
 *
 * @category models
 * @since 0.1.0
 */
export type State = "idle" | "scheduled" | "running" | "done" | "cancelled"

/**
 * A one-shot delayed effect.
 *
 * @category models
 * @since 0.1.0
 */
export interface Timer<A, E = never> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** Arms the timer. Fails with `TimerAlreadyStarted` if it was started before. */
  readonly start: Effect.Effect<void, TimerAlreadyStarted>
  /** Cancels the timer if it has not fired; `true` if this call cancelled it. */
  readonly cancel: Effect.Effect<boolean>
  /** Waits for the effect's result; fails with `TimerCancelled` if cancelled. */
  readonly await: Effect.Effect<A, E | TimerCancelled>
  /** The timer's current state. */
  readonly state: Effect.Effect<State>
}

/**
 * Creates a timer that will run `effect` `delay` after `start`.
 *
 * **When to use**
 *
 * Use for a delayed action that may be called off.
 *
 * **Details**
 *
 * The timer belongs to the current `Scope`: closing it cancels or interrupts the timer.
 * A `delay` that is not a duration (from an untyped caller) fails `make` at
 * once with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Timer } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const timer = yield* Timer.make("5 seconds", Effect.log("too slow!"))
 *   yield* Timer.start(timer)
 *   yield* Timer.cancel(timer) // the log never happens
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A, E, R>(
  delay: Duration.Input,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<Timer<A, E>, InvalidArgument, R | Scope.Scope> =>
  withDuration("Timer.make", "delay", delay, (delay) => makeWith(delay ?? Duration.zero, effect))

const makeWith = <A, E, R>(
  delay: Duration.Duration,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<Timer<A, E>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const context = yield* Effect.context<R>()
    const result = yield* Deferred.make<A, E | TimerCancelled>()
    const timer = new TimerImpl<A, E>(delay, Effect.provideContext(effect, context), result, scope)
    yield* Effect.addFinalizer(() => Effect.sync(() => timer.cancelNow()))
    return timer
  })

class TimerImpl<A, E> extends PipeableClass implements Timer<A, E> {
  readonly [TypeId] = TypeId
  private current: State = "idle"
  private fiber: Fiber.Fiber<void> | undefined = undefined
  private readonly delay: Duration.Duration
  private readonly effect: Effect.Effect<A, E>
  private readonly result: Deferred.Deferred<A, E | TimerCancelled>
  private readonly scope: Scope.Scope
  readonly await: Effect.Effect<A, E | TimerCancelled>

  constructor(
    delay: Duration.Duration,
    effect: Effect.Effect<A, E>,
    result: Deferred.Deferred<A, E | TimerCancelled>,
    scope: Scope.Scope
  ) {
    super()
    this.delay = delay
    this.effect = effect
    this.result = result
    this.scope = scope
    this.await = Deferred.await(result)
  }

  /** Cancels the timer if it is idle or scheduled; `true` if it did. */
  cancelNow(): boolean {
    if (this.current !== "idle" && this.current !== "scheduled") return false
    this.current = "cancelled"
    Deferred.doneUnsafe(this.result, Effect.fail(new TimerCancelled()))
    return true
  }

  private readonly fire: Effect.Effect<void> = Effect.suspend(() => {
    if (this.current !== "scheduled") return Effect.void
    this.current = "running"
    return this.effect.pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          this.current = "done"
          Deferred.doneUnsafe(this.result, exit)
        })
      ),
      Effect.ignore
    )
  })

  readonly start: Effect.Effect<void, TimerAlreadyStarted> = Effect.suspend(() => {
    if (this.current !== "idle") return Effect.fail(new TimerAlreadyStarted())
    this.current = "scheduled"
    return Effect.map(Effect.forkIn(Effect.andThen(Effect.sleep(this.delay), this.fire), this.scope), (fiber) => {
      this.fiber = fiber
    })
  })

  readonly cancel: Effect.Effect<boolean> = Effect.suspend(() => {
    if (!this.cancelNow()) return Effect.succeed(false)
    return this.fiber === undefined ? Effect.succeed(true) : Effect.as(Fiber.interrupt(this.fiber), true)
  })

  readonly state: Effect.Effect<State> = Effect.sync(() => this.current)
}

/**
 * Arms the timer.
 *
 * **When to use**
 *
 * Use once, when the delay should start counting.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Timer } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const timer = yield* Timer.make("10 millis", Effect.log("tick"))
 *   yield* Timer.start(timer)
 *   yield* Timer.await(timer)
 * }))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const start = <A, E>(self: Timer<A, E>): Effect.Effect<void, TimerAlreadyStarted> => self.start

/**
 * Cancels the timer if it has not fired yet: Python's `cancel()`.
 *
 * **When to use**
 *
 * Use to call off the delayed action.
 *
 * **Details**
 *
 * Succeeds with `true` if this call cancelled the timer; `false` if it had
 * already fired, was running or was cancelled.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Timer } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const timer = yield* Timer.make("1 minute", Effect.log("never"))
 *   yield* Timer.start(timer)
 *   return yield* Timer.cancel(timer) // true
 * }))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const cancel = <A, E>(self: Timer<A, E>): Effect.Effect<boolean> => self.cancel

const await_ = <A, E>(self: Timer<A, E>): Effect.Effect<A, E | TimerCancelled> => self.await

export {
  /**
   * Waits for the timer's effect and returns its result.
   *
   * **When to use**
   *
   * Use when the caller needs the delayed effect's outcome.
   *
   * **Details**
   *
   * Fails with the effect's own error, or with `TimerCancelled` if the timer
   * was cancelled before it fired.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Timer } from "@strand/core"
   *
   * const program = Effect.scoped(Effect.gen(function*() {
   *   const timer = yield* Timer.make("10 millis", Effect.succeed(1))
   *   yield* Timer.start(timer)
   *   return yield* Timer.await(timer) // 1
   * }))
   * ```
   *
   * @since 0.1.0
   */
  await_ as await
}

/**
 * The timer's current state.
 *
 * **When to use**
 *
 * Use for diagnostics and tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Timer } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const timer = yield* Timer.make("1 second", Effect.void)
 *   return yield* Timer.state(timer) // "idle"
 * }))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const state = <A, E>(self: Timer<A, E>): Effect.Effect<State> => self.state

/**
 * Whether `u` is a `Timer`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Timer } from "@strand/core"
 *
 * const program = Effect.scoped(Effect.map(Timer.make("1 second", Effect.void), Timer.isTimer)) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isTimer = (u: unknown): u is Timer<unknown, unknown> => hasProperty(u, TypeId)
