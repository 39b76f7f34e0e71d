/**
 * A cyclic barrier in shared memory, for threads: Python's
 * `multiprocessing.Barrier`.
 *
 * **When to use**
 *
 * Use a `SharedBarrier` when a fixed number of tasks, on several threads, work
 * in phases and none may start the next phase until all have finished this one.
 *
 * **Details**
 *
 * - `wait` returns once `parties` callers have arrived, with the arrival index,
 *   from 0 (first) to `parties - 1` (last). The barrier then resets itself for
 *   the next generation.
 * - A timeout or an interruption of a waiter, `abort` or `reset` breaks the
 *   barrier: every waiter fails with `BrokenBarrier` (the same error as
 *   `Barrier` in `@strand/core`), and so does every later `wait` until
 *   `reset`. Once the last party has arrived, a waiter timed out or
 *   interrupted no longer breaks it.
 * - Unlike `Barrier`, it runs no `action`: a function cannot live in shared
 *   memory. Let arrival index 0 do the phase's work instead.
 * - A party that dies never arrives: give `wait` a timeout where a task can
 *   crash, so that the others fail instead of waiting forever.
 * - `wait` waits as a fiber and never blocks the thread; `waitSync` blocks a
 *   worker's synchronous code and throws `BlockingOnMainThread` on the main
 *   thread.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(2)
 *   // two parties: here two fibers; in practice, tasks on two worker threads
 *   return yield* Effect.all([SharedBarrier.wait(phase), SharedBarrier.wait(phase)], { concurrency: 2 })
 * })
 * ```
 *
 * @since 0.6.0
 */
import { Errors } from "@strand/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Schema from "effect/Schema"
import { checkInteger } from "./internal/shared/errors.ts"
import { labelOf } from "./internal/shared/lock.ts"
import { NamedCells, type NamedCellsFields, namedCellsSchema } from "./internal/shared/schema.ts"
import { waitSync as block, deadlineOf, waitAsync } from "./internal/shared/wait.ts"

const TypeId = "~@strand/platform-node/SharedBarrier" as const

/**
 * Cells. `STATE` packs the generation (high 16 bits) and the arrivals (low 16
 * bits, `BROKEN` once broken) so that one compare-and-swap arrives, completes
 * or breaks. `BROKEN_AT` is the generation + 1 that was last broken, so that a
 * `reset` (which starts a new generation) still fails the old one's waiters.
 */
const STATE = 0
const BROKEN_AT = 1
const REASON = 2
const PARTIES = 3
/** The default timeout of a wait, in milliseconds + 1 (0: none). */
const TIMEOUT = 4

const BROKEN = 0xffff
const MAX_PARTIES = BROKEN - 1
const REASONS = ["timeout", "interrupted", "abort", "reset"] as const
type Reason = (typeof REASONS)[number]

const genOf = (state: number): number => state >>> 16
const countOf = (state: number): number => state & 0xffff
const pack = (gen: number, count: number): number => ((gen & 0xffff) << 16) | count

/**
 * A cyclic barrier in shared memory.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedBarrier extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** How error messages name the barrier. */
  readonly label: string
  /** The barrier's cells. */
  readonly cells: Int32Array
}

class SharedBarrierImpl extends NamedCells implements SharedBarrier {
  readonly [TypeId] = TypeId
}

/**
 * Creates a shared barrier for `parties` callers.
 *
 * **Details**
 *
 * `parties` must be an integer from 1 to 65,534, else `InvalidArgument`.
 * `timeout` is the default for every `wait` and `waitSync` that gives none
 * (Python's `Barrier(parties, timeout=...)`); a wait that outlasts it breaks
 * the barrier.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(4, { name: "phase" })
 *   return yield* SharedBarrier.parties(phase) // 4
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = (
  parties: number,
  options?: { readonly name?: string | undefined; readonly timeout?: Duration.Input | undefined }
): Effect.Effect<SharedBarrier, Errors.InvalidArgument> =>
  Effect.suspend(() => {
    const timeout =
      options?.timeout === undefined ? undefined : Option.getOrUndefined(Duration.fromInput(options.timeout))
    if (options?.timeout !== undefined && (timeout === undefined || Duration.toMillis(timeout) > 2 ** 30)) {
      return Effect.fail(
        new Errors.InvalidArgument({
          operation: "SharedBarrier.make",
          argument: "timeout",
          value: options.timeout,
          expected: "a duration of at most 2^30 ms"
        })
      )
    }
    const invalid = checkInteger("SharedBarrier.make", "parties", parties, 1, MAX_PARTIES)
    if (invalid !== undefined) return Effect.fail(invalid)
    const cells = new Int32Array(new SharedArrayBuffer(20))
    cells[PARTIES] = parties
    if (timeout !== undefined) cells[TIMEOUT] = Math.ceil(Duration.toMillis(timeout)) + 1
    return Effect.succeed(new SharedBarrierImpl(labelOf("shared barrier", options?.name), cells))
  })

const brokenError = (cells: Int32Array): Errors.BrokenBarrier =>
  new Errors.BrokenBarrier({ reason: REASONS[Atomics.load(cells, REASON)] ?? "abort" })

/** The barrier's default timeout in milliseconds, if it has one. */
const defaultTimeout = (cells: Int32Array): number | undefined => {
  const stored = Atomics.load(cells, TIMEOUT)
  return stored === 0 ? undefined : stored - 1
}

/** Arrives: the arrival index and generation, or the broken barrier. */
const arrive = (
  cells: Int32Array
): { readonly index: number; readonly gen: number; readonly last: boolean } | Errors.BrokenBarrier => {
  const parties = Atomics.load(cells, PARTIES)
  for (;;) {
    const state = Atomics.load(cells, STATE)
    const count = countOf(state)
    if (count === BROKEN) return brokenError(cells)
    const gen = genOf(state)
    const last = count + 1 === parties
    if (Atomics.compareExchange(cells, STATE, state, last ? pack(gen + 1, 0) : state + 1) !== state) continue
    if (last) Atomics.notify(cells, STATE)
    return { index: count, gen, last }
  }
}

/** Where a waiter of generation `gen` stands: released, broken, or still waiting on `state`. */
const standing = (cells: Int32Array, gen: number): "released" | "broken" | number => {
  if (Atomics.load(cells, BROKEN_AT) === ((gen + 1) & 0xffff) + 1) return "broken"
  const state = Atomics.load(cells, STATE)
  if (genOf(state) !== gen) return "released"
  return countOf(state) === BROKEN ? "broken" : state
}

/** Breaks generation `gen` unless it has completed; whether it is broken. */
const breakGeneration = (cells: Int32Array, gen: number, reason: Reason): boolean => {
  for (;;) {
    const state = Atomics.load(cells, STATE)
    if (genOf(state) !== gen) return false
    if (countOf(state) === BROKEN) return true
    Atomics.store(cells, REASON, REASONS.indexOf(reason))
    if (Atomics.compareExchange(cells, STATE, state, pack(gen, BROKEN)) !== state) continue
    Atomics.store(cells, BROKEN_AT, ((gen + 1) & 0xffff) + 1)
    Atomics.notify(cells, STATE)
    return true
  }
}

/**
 * Options for `SharedBarrier.wait`.
 *
 * @category models
 * @since 0.6.0
 */
export interface WaitOptions {
  /** Breaks the barrier if the other parties have not all arrived by then (default: the barrier's `timeout`). */
  readonly timeout?: Duration.Input | undefined
}

/**
 * Arrives and waits for the other parties; the arrival index.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(1)
 *   return yield* SharedBarrier.wait(phase, { timeout: "5 seconds" }) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const wait = (self: SharedBarrier, options?: WaitOptions): Effect.Effect<number, Errors.BrokenBarrier> =>
  Effect.uninterruptibleMask((restore) => {
    const arrived = arrive(self.cells)
    if (arrived instanceof Errors.BrokenBarrier) return Effect.fail(arrived)
    if (arrived.last) return Effect.succeed(arrived.index)
    const { gen, index } = arrived
    const released = Effect.suspend(function loop(): Effect.Effect<number, Errors.BrokenBarrier> {
      const now = standing(self.cells, gen)
      if (now === "released") return Effect.succeed(index)
      if (now === "broken") return Effect.fail(brokenError(self.cells))
      return Effect.flatMap(waitAsync(self.cells, STATE, now), loop)
    })
    const timeout = options?.timeout ?? defaultTimeout(self.cells)
    const bounded = timeout === undefined ? Effect.map(released, Option.some) : Effect.timeoutOption(released, timeout)
    return Effect.flatMap(Effect.exit(restore(bounded)), (exit): Effect.Effect<number, Errors.BrokenBarrier> => {
      if (Exit.isSuccess(exit)) {
        if (Option.isSome(exit.value)) return Effect.succeed(exit.value.value)
        return breakGeneration(self.cells, gen, "timeout")
          ? Effect.fail(brokenError(self.cells))
          : Effect.succeed(index)
      }
      if (Exit.hasInterrupts(exit)) breakGeneration(self.cells, gen, "interrupted")
      return Effect.failCause(exit.cause)
    })
  })

/**
 * Arrives and blocks this worker thread until the other parties arrive, at most
 * `timeoutMillis` (then the barrier breaks); the arrival index. Throws
 * `BrokenBarrier`, or `BlockingOnMainThread` on the main thread.
 *
 * @example
 * ```ts
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * // in a worker task's synchronous code
 * const step = (phase: SharedBarrier.SharedBarrier) => {
 *   // ... this phase's work ...
 *   SharedBarrier.waitSync(phase, { timeoutMillis: 5_000 })
 * }
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const waitSync = (self: SharedBarrier, options?: { readonly timeoutMillis?: number | undefined }): number => {
  const deadline = deadlineOf(options?.timeoutMillis ?? defaultTimeout(self.cells))
  const arrived = arrive(self.cells)
  if (arrived instanceof Errors.BrokenBarrier) throw arrived
  if (arrived.last) return arrived.index
  for (;;) {
    const now = standing(self.cells, arrived.gen)
    if (now === "released") return arrived.index
    if (now === "broken") throw brokenError(self.cells)
    if (performance.now() >= deadline) {
      if (breakGeneration(self.cells, arrived.gen, "timeout")) throw brokenError(self.cells)
      return arrived.index
    }
    block(self.cells, STATE, now, deadline, `SharedBarrier.waitSync on ${self.label}`)
  }
}

/**
 * Breaks the barrier: every waiter and every later `wait` fail with
 * `BrokenBarrier` until `reset`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(2)
 *   yield* SharedBarrier.abort(phase)
 *   return yield* SharedBarrier.broken(phase) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const abort = (self: SharedBarrier): Effect.Effect<void> =>
  Effect.sync(() => {
    while (!breakGeneration(self.cells, genOf(Atomics.load(self.cells, STATE)), "abort")) {
      // a generation completed meanwhile: break the next one
    }
  })

/**
 * Returns the barrier to its first state: the current waiters fail with
 * `BrokenBarrier` (reason `"reset"`), and later waits start a new generation.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(2)
 *   yield* SharedBarrier.abort(phase)
 *   yield* SharedBarrier.reset(phase)
 *   return yield* SharedBarrier.broken(phase) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const reset = (self: SharedBarrier): Effect.Effect<void> =>
  Effect.sync(() => {
    for (;;) {
      const state = Atomics.load(self.cells, STATE)
      const gen = genOf(state)
      if (countOf(state) !== BROKEN && !breakGeneration(self.cells, gen, "reset")) continue
      Atomics.store(self.cells, STATE, pack(gen + 1, 0))
      Atomics.notify(self.cells, STATE)
      return
    }
  })

/**
 * Whether the barrier is broken.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(2)
 *   return yield* SharedBarrier.broken(phase) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const broken = (self: SharedBarrier): Effect.Effect<boolean> =>
  Effect.sync(() => countOf(Atomics.load(self.cells, STATE)) === BROKEN)

/**
 * How many parties are waiting now.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(2)
 *   return yield* SharedBarrier.waiting(phase) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const waiting = (self: SharedBarrier): Effect.Effect<number> =>
  Effect.sync(() => {
    const count = countOf(Atomics.load(self.cells, STATE))
    return count === BROKEN ? 0 : count
  })

/**
 * How many parties the barrier waits for.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const phase = yield* SharedBarrier.make(3)
 *   return yield* SharedBarrier.parties(phase) // 3
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const parties = (self: SharedBarrier): Effect.Effect<number> =>
  Effect.sync(() => Atomics.load(self.cells, PARTIES))

/**
 * Whether `u` is a `SharedBarrier`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedBarrier } from "@strand/platform-node"
 *
 * const program = Effect.map(SharedBarrier.make(2), SharedBarrier.isSharedBarrier) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedBarrier = (u: unknown): u is SharedBarrier => hasProperty(u, TypeId)

/**
 * What it encodes to in a task's payload: shared memory, which structured clone shares.
 *
 * @category models
 * @since 0.6.0
 */
export interface Encoded extends NamedCellsFields {}

/**
 * The schema of a `SharedBarrier`, for a task's payload or result.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedBarrier, Task } from "@strand/platform-node"
 *
 * const Simulate = Task.make("Simulate", {
 *   payload: Schema.Struct({ phase: SharedBarrier.schema, steps: Schema.Number }),
 *   success: Schema.Void
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema: Schema.Codec<SharedBarrier, Encoded> = namedCellsSchema(
  "SharedBarrier",
  isSharedBarrier,
  5,
  (label, cells) => new SharedBarrierImpl(label, cells)
)
