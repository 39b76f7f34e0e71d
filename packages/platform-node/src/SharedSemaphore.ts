/**
 * A bounded counting semaphore in shared memory, for threads: Python's
 * `multiprocessing.BoundedSemaphore`.
 *
 * **When to use**
 *
 * Use a `SharedSemaphore` to let at most `permits` tasks, on any threads, use a
 * resource at once (a licence, a connection budget, a GPU).
 *
 * **Details**
 *
 * - Bounded: a release that would raise the free permits above `permits` fails
 *   with `SharedSemaphoreOverRelease`, as Python's `BoundedSemaphore` raises.
 * - `acquire` waits as a fiber and never blocks the thread; it can be
 *   interrupted or timed out. `acquireSync` blocks a worker's synchronous code
 *   and throws `BlockingOnMainThread` on the main thread.
 * - Sleeping waiters are woken in the order they slept, but a thread that has
 *   not slept may take a freed permit first: not FIFO across threads.
 * - Permits do not know their holder: a thread that dies holding one does not
 *   give it back. Guard with `withPermit` inside tasks that can be cancelled,
 *   and prefer `SharedLock` where a holder's death must be noticed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const licences = yield* SharedSemaphore.make(2)
 *   return yield* SharedSemaphore.withPermit(licences, Effect.succeed("licensed work"))
 * })
 * ```
 *
 * @since 0.6.0
 */
import type { Errors } from "@strand/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Schema from "effect/Schema"
import { checkInteger, SharedSemaphoreOverRelease } from "./internal/shared/errors.ts"
import { labelOf } from "./internal/shared/lock.ts"
import { NamedCells, type NamedCellsFields, namedCellsSchema } from "./internal/shared/schema.ts"
import { waitSync as block, deadlineOf, waitAsync } from "./internal/shared/wait.ts"

export {
  /**
   * A release would raise the free permits above the semaphore's bound.
   *
   * @category errors
   * @since 0.6.0
   */
  SharedSemaphoreOverRelease
}

const TypeId = "~@strand/platform-node/SharedSemaphore" as const

/** Cells: the free permits, then the bound. */
const FREE = 0
const BOUND = 1

/**
 * A bounded semaphore in shared memory.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedSemaphore extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** How error messages name the semaphore. */
  readonly label: string
  /** The semaphore's cells: free permits, bound. */
  readonly cells: Int32Array
}

class SharedSemaphoreImpl extends NamedCells implements SharedSemaphore {
  readonly [TypeId] = TypeId
}

/**
 * Creates a shared semaphore bounded at `permits`, with `initial` of them free
 * (all of them unless given).
 *
 * **Details**
 *
 * `permits` must be an integer from 1 to 2^31 - 1, and `initial` one from 0 to
 * `permits`, else `InvalidArgument`. Python's `Semaphore(0)`, a signal that
 * another thread releases, is `make(1, { initial: 0 })`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const slots = yield* SharedSemaphore.make(4, { name: "slots" })
 *   return yield* SharedSemaphore.available(slots) // 4
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = (
  permits: number,
  options?: {
    readonly name?: string | undefined
    /** How many permits are free at first (default: all of them); 0 makes a signal that others release. */
    readonly initial?: number | undefined
  }
): Effect.Effect<SharedSemaphore, Errors.InvalidArgument> =>
  Effect.suspend(() => {
    const initial = options?.initial ?? permits
    const invalid =
      checkInteger("SharedSemaphore.make", "permits", permits, 1, 2 ** 31 - 1, "an integer from 1 to 2^31 - 1") ??
      checkInteger("SharedSemaphore.make", "initial", initial, 0, permits, `an integer from 0 to permits (${permits})`)
    if (invalid !== undefined) return Effect.fail(invalid)
    const cells = new Int32Array(new SharedArrayBuffer(8))
    cells[FREE] = initial
    cells[BOUND] = permits
    return Effect.succeed(new SharedSemaphoreImpl(labelOf("shared semaphore", options?.name), cells))
  })

/** Takes a permit if one is free. */
const tryTake = (cells: Int32Array): boolean => {
  for (;;) {
    const free = Atomics.load(cells, FREE)
    if (free === 0) return false
    if (Atomics.compareExchange(cells, FREE, free, free - 1) === free) return true
  }
}

/**
 * Waits for a permit as a fiber; only the waits can be interrupted.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const slots = yield* SharedSemaphore.make(1)
 *   yield* SharedSemaphore.acquire(slots)
 *   yield* SharedSemaphore.release(slots)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const acquire = (self: SharedSemaphore): Effect.Effect<void> =>
  Effect.suspend(function loop(): Effect.Effect<void> {
    return tryTake(self.cells) ? Effect.void : Effect.flatMap(waitAsync(self.cells, FREE, 0), loop)
  })

/**
 * Takes a permit only if one is free right now, and tells whether it did.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const slots = yield* SharedSemaphore.make(1)
 *   return yield* SharedSemaphore.tryAcquire(slots) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const tryAcquire = (self: SharedSemaphore): Effect.Effect<boolean> => Effect.sync(() => tryTake(self.cells))

/**
 * Waits at most `timeout` for a permit; whether it got one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const slots = yield* SharedSemaphore.make(1)
 *   return yield* SharedSemaphore.acquireTimeout(slots, "1 second") // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const acquireTimeout: {
  (timeout: Duration.Input): (self: SharedSemaphore) => Effect.Effect<boolean>
  (self: SharedSemaphore, timeout: Duration.Input): Effect.Effect<boolean>
} = dual(
  2,
  (self: SharedSemaphore, timeout: Duration.Input): Effect.Effect<boolean> =>
    Effect.map(Effect.timeoutOption(acquire(self), timeout), Option.isSome)
)

/** Gives a permit back, unless that would pass the bound. */
const give = (self: SharedSemaphore): SharedSemaphoreOverRelease | undefined => {
  const bound = Atomics.load(self.cells, BOUND)
  for (;;) {
    const free = Atomics.load(self.cells, FREE)
    if (free >= bound) return new SharedSemaphoreOverRelease({ semaphore: self.label, permits: bound })
    if (Atomics.compareExchange(self.cells, FREE, free, free + 1) === free) {
      Atomics.notify(self.cells, FREE, 1)
      return undefined
    }
  }
}

/**
 * Gives a permit back; fails with `SharedSemaphoreOverRelease` if every permit
 * is already free.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const slots = yield* SharedSemaphore.make(1)
 *   yield* SharedSemaphore.acquire(slots)
 *   yield* SharedSemaphore.release(slots)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const release = (self: SharedSemaphore): Effect.Effect<void, SharedSemaphoreOverRelease> =>
  Effect.suspend(() => {
    const error = give(self)
    return error === undefined ? Effect.void : Effect.fail(error)
  })

/**
 * Runs an effect holding a permit, giving it back however the effect ends.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const slots = yield* SharedSemaphore.make(2)
 *   return yield* Effect.succeed(1).pipe(SharedSemaphore.withPermit(slots))
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const withPermit: {
  (self: SharedSemaphore): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: SharedSemaphore, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: SharedSemaphore, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(acquire(self), () =>
        Effect.ensuring(
          restore(effect),
          Effect.sync(() => void give(self))
        )
      )
    )
)

/**
 * How many permits are free now.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const slots = yield* SharedSemaphore.make(3)
 *   return yield* SharedSemaphore.available(slots) // 3
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const available = (self: SharedSemaphore): Effect.Effect<number> =>
  Effect.sync(() => Atomics.load(self.cells, FREE))

/**
 * Blocks this worker thread for a permit, at most `timeoutMillis`; whether it
 * got one. Throws `BlockingOnMainThread` on the main thread.
 *
 * @example
 * ```ts
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * // in a worker task's synchronous code
 * const licensed = (slots: SharedSemaphore.SharedSemaphore, work: () => void) => {
 *   SharedSemaphore.acquireSync(slots)
 *   try {
 *     work()
 *   } finally {
 *     SharedSemaphore.releaseSync(slots)
 *   }
 * }
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const acquireSync = (
  self: SharedSemaphore,
  options?: { readonly timeoutMillis?: number | undefined }
): boolean => {
  const deadline = deadlineOf(options?.timeoutMillis)
  for (;;) {
    if (tryTake(self.cells)) return true
    if (performance.now() >= deadline) return false
    block(self.cells, FREE, 0, deadline, `SharedSemaphore.acquireSync on ${self.label}`)
  }
}

/**
 * Gives a permit back from synchronous code; throws
 * `SharedSemaphoreOverRelease` if every permit is already free.
 *
 * @example
 * ```ts
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const done = (slots: SharedSemaphore.SharedSemaphore) => SharedSemaphore.releaseSync(slots)
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const releaseSync = (self: SharedSemaphore): void => {
  const error = give(self)
  if (error !== undefined) throw error
}

/**
 * Whether `u` is a `SharedSemaphore`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedSemaphore } from "@strand/platform-node"
 *
 * const program = Effect.map(SharedSemaphore.make(1), SharedSemaphore.isSharedSemaphore) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedSemaphore = (u: unknown): u is SharedSemaphore => hasProperty(u, TypeId)

/**
 * What it encodes to in a task's payload: shared memory, which structured clone shares.
 *
 * @category models
 * @since 0.6.0
 */
export interface Encoded extends NamedCellsFields {}

/**
 * The schema of a `SharedSemaphore`, for a task's payload or result.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedSemaphore, Task } from "@strand/platform-node"
 *
 * const Render = Task.make("Render", {
 *   payload: Schema.Struct({ licences: SharedSemaphore.schema, scene: Schema.String }),
 *   success: Schema.Void
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema: Schema.Codec<SharedSemaphore, Encoded> = namedCellsSchema(
  "SharedSemaphore",
  isSharedSemaphore,
  2,
  (label, cells) => new SharedSemaphoreImpl(label, cells)
)
