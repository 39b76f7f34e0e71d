/**
 * A flag in shared memory that threads wait for: Python's
 * `multiprocessing.Event`.
 *
 * **When to use**
 *
 * Use a `SharedEvent` to tell tasks on other threads that something has
 * happened (input is ready, stop now), when they may check or wait at any time.
 *
 * **Details**
 *
 * - `set` wakes every waiter on every thread, and later waits return at once
 *   until `clear`.
 * - `wait` waits as a fiber and never blocks the thread; it can be interrupted
 *   or timed out (`waitTimeout`, on Effect's `Clock`). In a worker's plain
 *   synchronous code, `waitSync` blocks the thread; on the main thread it
 *   throws `BlockingOnMainThread`.
 * - Pass it in a task's payload with `SharedEvent.schema`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* SharedEvent.make()
 *   yield* SharedEvent.set(ready)
 *   yield* SharedEvent.wait(ready) // returns at once: it is set
 * })
 * ```
 *
 * @since 0.6.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Schema from "effect/Schema"
import { labelOf } from "./internal/shared/lock.ts"
import { NamedCells, type NamedCellsFields, namedCellsSchema } from "./internal/shared/schema.ts"
import { waitSync as block, deadlineOf, waitAsync } from "./internal/shared/wait.ts"

const TypeId = "~@strand/platform-node/SharedEvent" as const

/**
 * A flag in shared memory that threads can wait for.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedEvent extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** How error messages name the event. */
  readonly label: string
  /** The event's cell: 1 when set. */
  readonly cells: Int32Array
}

class SharedEventImpl extends NamedCells implements SharedEvent {
  readonly [TypeId] = TypeId
}

/**
 * Creates a shared event, clear unless `set: true`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const stop = yield* SharedEvent.make({ name: "stop" })
 *   return yield* SharedEvent.isSet(stop) // false
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = (options?: {
  readonly name?: string | undefined
  readonly set?: boolean | undefined
}): Effect.Effect<SharedEvent> =>
  Effect.sync(() => {
    const cells = new Int32Array(new SharedArrayBuffer(4))
    if (options?.set === true) cells[0] = 1
    return new SharedEventImpl(labelOf("shared event", options?.name), cells)
  })

/**
 * Sets the flag and wakes every waiter, on every thread.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* SharedEvent.make()
 *   yield* SharedEvent.set(ready)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const set = (self: SharedEvent): Effect.Effect<void> => Effect.sync(() => setSync(self))

/**
 * Sets the flag from synchronous code; it never blocks.
 *
 * @example
 * ```ts
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const done = (event: SharedEvent.SharedEvent) => SharedEvent.setSync(event)
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const setSync = (self: SharedEvent): void => {
  if (Atomics.exchange(self.cells, 0, 1) === 0) Atomics.notify(self.cells, 0)
}

/**
 * Clears the flag: later waits wait again.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* SharedEvent.make({ set: true })
 *   yield* SharedEvent.clear(ready)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const clear = (self: SharedEvent): Effect.Effect<void> => Effect.sync(() => void Atomics.store(self.cells, 0, 0))

/**
 * Whether the flag is set.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* SharedEvent.make({ set: true })
 *   return yield* SharedEvent.isSet(ready) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const isSet = (self: SharedEvent): Effect.Effect<boolean> => Effect.sync(() => Atomics.load(self.cells, 0) === 1)

/**
 * Waits until the flag is set, as a fiber: the thread keeps running.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* SharedEvent.make()
 *   yield* Effect.forkChild(SharedEvent.set(ready))
 *   yield* SharedEvent.wait(ready)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const wait = (self: SharedEvent): Effect.Effect<void> =>
  Effect.suspend(function loop(): Effect.Effect<void> {
    return Atomics.load(self.cells, 0) === 1 ? Effect.void : Effect.flatMap(waitAsync(self.cells, 0, 0), loop)
  })

/**
 * Waits at most `timeout` for the flag; whether it was set.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* SharedEvent.make()
 *   return yield* SharedEvent.waitTimeout(ready, "10 millis") // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const waitTimeout = (self: SharedEvent, timeout: Duration.Input): Effect.Effect<boolean> =>
  Effect.map(Effect.timeoutOption(wait(self), timeout), Option.isSome)

/**
 * Blocks this worker thread until the flag is set, at most `timeoutMillis`;
 * whether it was set. Throws `BlockingOnMainThread` on the main thread.
 *
 * @example
 * ```ts
 * import { SharedEvent } from "@strand/platform-node"
 *
 * // in a worker task's synchronous loop
 * const work = (stop: SharedEvent.SharedEvent) => {
 *   while (!SharedEvent.waitSync(stop, { timeoutMillis: 0 })) {
 *     // one step of work
 *   }
 * }
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const waitSync = (self: SharedEvent, options?: { readonly timeoutMillis?: number | undefined }): boolean => {
  const deadline = deadlineOf(options?.timeoutMillis)
  for (;;) {
    if (Atomics.load(self.cells, 0) === 1) return true
    if (performance.now() >= deadline) return false
    block(self.cells, 0, 0, deadline, `SharedEvent.waitSync on ${self.label}`)
  }
}

/**
 * Whether `u` is a `SharedEvent`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedEvent } from "@strand/platform-node"
 *
 * const program = Effect.map(SharedEvent.make(), SharedEvent.isSharedEvent) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedEvent = (u: unknown): u is SharedEvent => hasProperty(u, TypeId)

/**
 * What it encodes to in a task's payload: shared memory, which structured clone shares.
 *
 * @category models
 * @since 0.6.0
 */
export interface Encoded extends NamedCellsFields {}

/**
 * The schema of a `SharedEvent`, for a task's payload or result.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedEvent, Task } from "@strand/platform-node"
 *
 * const Crunch = Task.make("Crunch", {
 *   payload: Schema.Struct({ stop: SharedEvent.schema }),
 *   success: Schema.Number
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema: Schema.Codec<SharedEvent, Encoded> = namedCellsSchema(
  "SharedEvent",
  isSharedEvent,
  1,
  (label, cells) => new SharedEventImpl(label, cells)
)
