/**
 * A flag that fibers can wait on: Python's `threading.Event` and
 * `asyncio.Event`, on Effect's `Latch`.
 *
 * **When to use**
 *
 * Use an `Event` when some fibers must wait until another says "go" (a
 * server is listening, a cache is warm, shutdown has begun), and the signal
 * may be cleared and given again.
 *
 * **Details**
 *
 * - `set` wakes every waiter and lets later waits pass at once, until `clear`.
 * - `wait` returns at once while the event is set. An interrupted `wait`
 *   leaves nothing behind and can be retried safely: waiting consumes nothing.
 * - `waitTimeout` succeeds with whether the event was set in time; a timeout
 *   that is not a duration fails at once with `InvalidArgument`.
 * - As in Python, a waiter woken by `set` returns even if `clear` follows
 *   before it runs.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* Event.make()
 *   const waiter = yield* Effect.forkChild(Effect.andThen(Event.wait(ready), Effect.log("go")))
 *   yield* Event.set(ready)
 *   return yield* Event.isSet(ready) // true
 * })
 * ```
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Option from "effect/Option"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import { withDuration } from "./internal/arguments.ts"
import type { InvalidArgument } from "./internal/errors.ts"

export {
  /**
   * A timeout is not a duration (from an untyped caller).
   *
   * @category errors
   * @since 0.2.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Event" as const

/**
 * An event flag.
 *
 * @category models
 * @since 0.2.0
 */
export interface Event extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** Sets the flag and wakes every waiter. */
  readonly set: Effect.Effect<void>
  /** Clears the flag: later waits block until the next `set`. */
  readonly clear: Effect.Effect<void>
  /** Whether the flag is set. */
  readonly isSet: Effect.Effect<boolean>
  /** Waits until the flag is set. */
  readonly wait: Effect.Effect<void>
  /** Waits at most `timeout`; succeeds with whether the flag was set. */
  waitTimeout(timeout: Duration.Input): Effect.Effect<boolean, InvalidArgument>
}

/**
 * Creates an event, cleared unless `set` is `true`.
 *
 * @example
 * ```ts
 * import { Event } from "@strand/core"
 *
 * const program = Event.make({ set: false })
 * ```
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (options?: { readonly set?: boolean | undefined }): Effect.Effect<Event> =>
  Effect.map(Latch.make(options?.set === true), (latch): Event => new EventImpl(latch))

class EventImpl extends PipeableClass implements Event {
  readonly [TypeId] = TypeId
  readonly set: Effect.Effect<void>
  readonly clear: Effect.Effect<void>
  readonly isSet: Effect.Effect<boolean>
  readonly wait: Effect.Effect<void>
  private readonly latch: Latch.Latch

  constructor(latch: Latch.Latch) {
    super()
    this.latch = latch
    this.set = Effect.asVoid(latch.open)
    this.clear = Effect.asVoid(latch.close)
    this.isSet = Effect.sync(() => latch.isOpen())
    this.wait = latch.await
  }

  readonly waitTimeout = (timeout: Duration.Input): Effect.Effect<boolean, InvalidArgument> =>
    withDuration("Event.waitTimeout", "timeout", timeout, (duration) =>
      Effect.map(Effect.timeoutOption(this.latch.await, duration ?? 0), Option.isSome)
    )
}

/**
 * Sets the flag and wakes every waiter: Python's `Event.set()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event } from "@strand/core"
 *
 * const program = Effect.flatMap(Event.make(), Event.set)
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const set = (self: Event): Effect.Effect<void> => self.set

/**
 * Clears the flag: Python's `Event.clear()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event } from "@strand/core"
 *
 * const program = Effect.flatMap(Event.make({ set: true }), Event.clear)
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const clear = (self: Event): Effect.Effect<void> => self.clear

/**
 * Whether the flag is set: Python's `Event.is_set()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event } from "@strand/core"
 *
 * const program = Effect.flatMap(Event.make(), Event.isSet) // false
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isSet = (self: Event): Effect.Effect<boolean> => self.isSet

/**
 * Waits until the flag is set: Python's `Event.wait()`.
 *
 * **Details**
 *
 * Returns at once while the flag is set. An interrupted wait leaves nothing
 * behind.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event } from "@strand/core"
 *
 * const program = Effect.flatMap(Event.make({ set: true }), Event.wait)
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const wait = (self: Event): Effect.Effect<void> => self.wait

/**
 * Waits at most `timeout` for the flag: Python's `Event.wait(timeout)`.
 *
 * **Details**
 *
 * Succeeds with `true` if the flag was set in time, `false` otherwise. A
 * timeout that is not a duration fails at once with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event } from "@strand/core"
 *
 * const program = Effect.flatMap(Event.make(), (event) => Event.waitTimeout(event, "10 millis")) // false
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const waitTimeout = (self: Event, timeout: Duration.Input): Effect.Effect<boolean, InvalidArgument> =>
  self.waitTimeout(timeout)

/**
 * Whether `u` is a `Event`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event } from "@strand/core"
 *
 * const program = Effect.map(Event.make(), Event.isEvent) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isEvent = (u: unknown): u is Event => hasProperty(u, TypeId)
