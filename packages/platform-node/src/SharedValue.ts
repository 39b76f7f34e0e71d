/**
 * One typed value in shared memory, for threads: Python's
 * `multiprocessing.Value`, with atomic read-modify-write operations.
 *
 * **When to use**
 *
 * Use a `SharedValue` for a counter, a total or a flag that tasks on several
 * threads update at once.
 *
 * **Details**
 *
 * - Kinds: `"int32"` and `"float64"` hold a number, `"bigint64"` a bigint.
 * - `get`, `set`, `add`, `compareAndSet` and `update` are atomic and never
 *   block, on any thread. `value.set(value.get() + 1)` is not: two threads can
 *   read the same value and one update is lost (the race the
 *   `race-condition` example shows). Use `add`, or hold `lock` (Python's
 *   `get_lock()`) for an update that reads other state too.
 * - Pass it in a task's payload with `SharedValue.schema`: the worker gets the
 *   same memory. It cannot cross to a worker process.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const hits = yield* SharedValue.make("int32", 0)
 *   hits.add(1)
 *   return hits.get() // 1
 * })
 * ```
 *
 * @since 0.6.0
 */
import { Errors } from "@strand/core"
import * as Effect from "effect/Effect"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Schema from "effect/Schema"
import { Cells, checkShape, type Element, fits, isCellsFields, type Kind, makeCells } from "./internal/shared/cells.ts"
import { fromCells, labelOf } from "./internal/shared/lock.ts"
import { sharedSchema } from "./internal/shared/schema.ts"
import type * as SharedArray from "./SharedArray.ts"
import type * as SharedLock from "./SharedLock.ts"

const TypeId = "~@strand/platform-node/SharedValue" as const

/**
 * A typed value in shared memory.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedValue<K extends Kind = Kind> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly kind: K
  /** A lock that belongs to the value, for compound updates. */
  readonly lock: SharedLock.SharedLock
  /** Reads the value atomically. */
  get(): Element<K>
  /** Writes the value atomically. */
  set(value: Element<K>): void
  /** Adds `delta` atomically; returns the new value. */
  add(delta: Element<K>): Element<K>
  /** Sets the value to `next` if it is `expected`; whether it did. */
  compareAndSet(expected: Element<K>, next: Element<K>): boolean
  /** Replaces the value with `f` of it, atomically; returns the new value. `f` may run more than once. */
  update(f: (value: Element<K>) => Element<K>): Element<K>
}

class SharedValueImpl<K extends Kind> extends PipeableClass implements SharedValue<K> {
  readonly [TypeId] = TypeId
  readonly lock: SharedLock.SharedLock
  readonly cells: Cells<K>
  constructor(cells: Cells<K>) {
    super()
    this.cells = cells
    this.lock = fromCells(`the lock of ${cells.label}`, new Int32Array(cells.buffer, 0, 2), 0)
  }
  get kind(): K {
    return this.cells.kind
  }
  get(): Element<K> {
    return this.cells.get(0)
  }
  set(value: Element<K>): void {
    this.cells.set(0, value)
  }
  add(delta: Element<K>): Element<K> {
    return this.cells.add(0, delta)
  }
  compareAndSet(expected: Element<K>, next: Element<K>): boolean {
    return this.cells.compareAndSet(0, expected, next)
  }
  update(f: (value: Element<K>) => Element<K>): Element<K> {
    return this.cells.update(0, f)
  }
  override toString(): string {
    return this.cells.label
  }
}

/**
 * Options for `SharedValue.make`.
 *
 * @category models
 * @since 0.6.0
 */
export interface Options {
  /** A name that error messages show. */
  readonly name?: string | undefined
}

/**
 * Creates a shared value of `kind` holding `initial`.
 *
 * **Details**
 *
 * An unknown kind, or an initial value that does not fit it (a `number` for
 * `"bigint64"`), fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const total = yield* SharedValue.make("bigint64", 0n)
 *   return total.add(10n) // 10n
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = <K extends Kind>(
  kind: K,
  initial: Element<K>,
  options?: Options
): Effect.Effect<SharedValue<K>, Errors.InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = checkShape("SharedValue.make", kind, 1)
    if (invalid !== undefined) return Effect.fail(invalid)
    if (!fits(kind, initial)) {
      return Effect.fail(
        new Errors.InvalidArgument({
          operation: "SharedValue.make",
          argument: "initial",
          value: initial,
          expected: kind === "bigint64" ? "a bigint" : "a number"
        })
      )
    }
    const cells = makeCells(labelOf("shared value", options?.name), kind, 1)
    cells.set(0, initial)
    return Effect.succeed(new SharedValueImpl(cells))
  })

/**
 * Reads the value, atomically.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const flag = yield* SharedValue.make("int32", 1)
 *   return yield* SharedValue.get(flag) // 1
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const get = <K extends Kind>(self: SharedValue<K>): Effect.Effect<Element<K>> => Effect.sync(() => self.get())

/**
 * Writes the value, atomically.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const flag = yield* SharedValue.make("int32", 0)
 *   yield* SharedValue.set(flag, 1)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const set = <K extends Kind>(self: SharedValue<K>, value: Element<K>): Effect.Effect<void> =>
  Effect.sync(() => self.set(value))

/**
 * Adds `delta`, atomically, and returns the new value.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const hits = yield* SharedValue.make("int32", 0)
 *   return yield* SharedValue.add(hits, 1) // 1
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const add = <K extends Kind>(self: SharedValue<K>, delta: Element<K>): Effect.Effect<Element<K>> =>
  Effect.sync(() => self.add(delta))

/**
 * Replaces the value with `f` of it, atomically, and returns the new value.
 * `f` may run more than once under contention, so it must be pure.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const peak = yield* SharedValue.make("float64", 0)
 *   return yield* SharedValue.update(peak, (p) => Math.max(p, 7.5)) // 7.5
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const update = <K extends Kind>(
  self: SharedValue<K>,
  f: (value: Element<K>) => Element<K>
): Effect.Effect<Element<K>> => Effect.sync(() => self.update(f))

/**
 * Whether `u` is a `SharedValue`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.map(SharedValue.make("int32", 0), SharedValue.isSharedValue) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedValue = (u: unknown): u is SharedValue => hasProperty(u, TypeId)

/**
 * The schema of a `SharedValue` of `kind`, for a task's payload or result: the
 * value crosses by sharing its memory, never as a copy.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedValue, Task } from "@strand/platform-node"
 *
 * const Count = Task.make("Count", {
 *   payload: Schema.Struct({ counter: SharedValue.schema("int32"), times: Schema.Number }),
 *   success: Schema.Void
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema = <K extends Kind>(kind: K): Schema.Codec<SharedValue<K>, SharedArray.Encoded> =>
  sharedSchema({
    name: `SharedValue of ${kind}`,
    is: (u): u is SharedValue<K> => isSharedValue(u) && u.kind === kind,
    isFields: (u): u is SharedArray.Encoded => isCellsFields(kind)(u) && u.length === 1,
    encode: (value) => {
      const cells = (value as SharedValueImpl<K>).cells
      return { name: cells.label, kind, buffer: cells.buffer, length: 1 }
    },
    decode: (fields) => new SharedValueImpl(new Cells(fields.name, kind, fields.buffer, 1))
  })
