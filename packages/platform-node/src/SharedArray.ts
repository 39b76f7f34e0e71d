/**
 * A typed array in shared memory, for threads: Python's `multiprocessing.Array`,
 * with atomic element operations.
 *
 * **When to use**
 *
 * Use a `SharedArray` to give worker tasks one array to read and write without
 * copying it: a data-parallel `map` over slices of it moves no data, and
 * counters or histograms can be updated from every thread at once.
 *
 * **Details**
 *
 * - Kinds: `"int32"` and `"float64"` hold numbers, `"bigint64"` bigints
 *   (Python's `"i"`, `"d"` and `"q"`).
 * - `get`, `set`, `add`, `compareAndSet` and `update` on one element are atomic
 *   and never block, on any thread. `update` may call its function more than
 *   once under contention, so the function must be pure. float64 elements
 *   compare bit patterns in `compareAndSet`.
 * - For a compound update over several elements, hold `lock` (a `SharedLock`
 *   that belongs to the array, Python's `get_lock()`).
 * - `view` is the plain typed array on the same memory, for fast loops over a
 *   slice that only one task writes. Its reads and writes are not atomic.
 * - Pass it in a task's payload with `SharedArray.schema`: the worker gets the
 *   same memory. It cannot cross to a worker process.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedArray } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const histogram = yield* SharedArray.make("int32", 10)
 *   histogram.add(3, 1)
 *   return histogram.get(3) // 1
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
import {
  Cells,
  type CellsFields,
  checkShape,
  type Element,
  fits,
  isCellsFields,
  type Kind,
  makeCells,
  type View
} from "./internal/shared/cells.ts"
import { IndexOutOfRange } from "./internal/shared/errors.ts"
import { fromCells, labelOf } from "./internal/shared/lock.ts"
import { sharedSchema } from "./internal/shared/schema.ts"
import type * as SharedLock from "./SharedLock.ts"

export type {
  /**
   * What an element of kind `K` holds: a `number`, or a `bigint` for `"bigint64"`.
   *
   * @category models
   * @since 0.6.0
   */
  Element,
  /**
   * The kinds of element: `"int32"`, `"float64"` or `"bigint64"`.
   *
   * @category models
   * @since 0.6.0
   */
  Kind,
  /**
   * The plain typed array of kind `K`: `Int32Array`, `Float64Array` or `BigInt64Array`.
   *
   * @category models
   * @since 0.6.0
   */
  View
}
export {
  /**
   * An element index that is not an integer within the array's length.
   *
   * @category errors
   * @since 0.6.0
   */
  IndexOutOfRange
}

const TypeId = "~@strand/platform-node/SharedArray" as const

/**
 * A fixed-length typed array in shared memory.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedArray<K extends Kind = Kind> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  readonly kind: K
  readonly length: number
  /** The plain typed array on the same memory: fast, not atomic. */
  readonly view: View<K>
  /** A lock that belongs to the array, for compound updates. */
  readonly lock: SharedLock.SharedLock
  /** Reads element `index` atomically. */
  get(index: number): Element<K>
  /** Writes element `index` atomically. */
  set(index: number, value: Element<K>): void
  /** Adds `delta` to element `index` atomically; returns the new value. */
  add(index: number, delta: Element<K>): Element<K>
  /** Sets element `index` to `next` if it holds `expected`; whether it did. */
  compareAndSet(index: number, expected: Element<K>, next: Element<K>): boolean
  /** Replaces element `index` with `f` of it, atomically; returns the new value. `f` may run more than once. */
  update(index: number, f: (value: Element<K>) => Element<K>): Element<K>
}

class SharedArrayImpl<K extends Kind> extends PipeableClass implements SharedArray<K> {
  readonly [TypeId] = TypeId
  readonly lock: SharedLock.SharedLock
  readonly view: View<K>
  readonly cells: Cells<K>
  constructor(cells: Cells<K>) {
    super()
    this.cells = cells
    this.view = cells.view
    this.lock = fromCells(`the lock of ${cells.label}`, new Int32Array(cells.buffer, 0, 2), 0)
  }
  get kind(): K {
    return this.cells.kind
  }
  get length(): number {
    return this.cells.length
  }
  get(index: number): Element<K> {
    return this.cells.get(index)
  }
  set(index: number, value: Element<K>): void {
    this.cells.set(index, value)
  }
  add(index: number, delta: Element<K>): Element<K> {
    return this.cells.add(index, delta)
  }
  compareAndSet(index: number, expected: Element<K>, next: Element<K>): boolean {
    return this.cells.compareAndSet(index, expected, next)
  }
  update(index: number, f: (value: Element<K>) => Element<K>): Element<K> {
    return this.cells.update(index, f)
  }
  override toString(): string {
    return this.cells.label
  }
}

/**
 * Options for `SharedArray.make`.
 *
 * @category models
 * @since 0.6.0
 */
export interface Options {
  /** A name that error messages show. */
  readonly name?: string | undefined
}

/**
 * Creates a shared array of `length` zeros.
 *
 * **Details**
 *
 * A kind other than `"int32"`, `"float64"` or `"bigint64"`, or a length that is
 * not an integer from 0 to 2^28, fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedArray } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const samples = yield* SharedArray.make("float64", 1_000_000)
 *   return samples.length // 1000000
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = <K extends Kind>(
  kind: K,
  length: number,
  options?: Options
): Effect.Effect<SharedArray<K>, Errors.InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = checkShape("SharedArray.make", kind, length)
    if (invalid !== undefined) return Effect.fail(invalid)
    return Effect.succeed(new SharedArrayImpl(makeCells(label(options?.name), kind, length)))
  })

const label = (name: string | undefined): string => labelOf("shared array", name)

/**
 * Creates a shared array holding `values`.
 *
 * **Details**
 *
 * A value that does not fit the kind (a `bigint` for `"int32"`, a `number` for
 * `"bigint64"`) fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedArray } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const weights = yield* SharedArray.fromIterable("float64", [0.5, 0.25, 0.25])
 *   return weights.get(0) // 0.5
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const fromIterable = <K extends Kind>(
  kind: K,
  values: Iterable<Element<K>>,
  options?: Options
): Effect.Effect<SharedArray<K>, Errors.InvalidArgument> =>
  Effect.suspend(() => {
    const all = Array.from(values)
    const invalid = checkShape("SharedArray.fromIterable", kind, all.length)
    if (invalid !== undefined) return Effect.fail(invalid)
    const wrong = all.findIndex((value) => !fits(kind, value))
    if (wrong >= 0) {
      return Effect.fail(
        new Errors.InvalidArgument({
          operation: "SharedArray.fromIterable",
          argument: `values[${wrong}]`,
          value: all[wrong],
          expected: kind === "bigint64" ? "a bigint" : "a number"
        })
      )
    }
    const cells = makeCells(label(options?.name), kind, all.length)
    ;(cells.view as Int32Array).set(all as Array<number>)
    return Effect.succeed(new SharedArrayImpl(cells))
  })

/**
 * Reads element `index`, atomically.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedArray } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const counts = yield* SharedArray.make("int32", 4)
 *   return yield* SharedArray.get(counts, 2) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const get = <K extends Kind>(self: SharedArray<K>, index: number): Effect.Effect<Element<K>, IndexOutOfRange> =>
  Effect.try({ try: () => self.get(index), catch: (error) => error as IndexOutOfRange })

/**
 * Adds `delta` to element `index`, atomically, and returns the new value.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedArray } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const counts = yield* SharedArray.make("int32", 4)
 *   return yield* SharedArray.add(counts, 2, 5) // 5
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const add = <K extends Kind>(
  self: SharedArray<K>,
  index: number,
  delta: Element<K>
): Effect.Effect<Element<K>, IndexOutOfRange> =>
  Effect.try({ try: () => self.add(index, delta), catch: (error) => error as IndexOutOfRange })

/**
 * Whether `u` is a `SharedArray`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedArray } from "@strand/platform-node"
 *
 * const program = Effect.map(SharedArray.make("int32", 1), SharedArray.isSharedArray) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedArray = (u: unknown): u is SharedArray => hasProperty(u, TypeId)

/**
 * What a shared array or value encodes to: its name, kind, length and buffer, which structured clone shares.
 *
 * @category models
 * @since 0.6.0
 */
export interface Encoded extends CellsFields {}

const cellsOf = (self: SharedArray): Cells<Kind> => (self as SharedArrayImpl<Kind>).cells

/**
 * The schema of a `SharedArray` of `kind`, for a task's payload or result: the
 * array crosses by sharing its memory, never as a copy.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedArray, Task } from "@strand/platform-node"
 *
 * const SumSlice = Task.make("SumSlice", {
 *   payload: Schema.Struct({ data: SharedArray.schema("float64"), start: Schema.Number, end: Schema.Number }),
 *   success: Schema.Number
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema = <K extends Kind>(kind: K): Schema.Codec<SharedArray<K>, Encoded> =>
  sharedSchema({
    name: `SharedArray of ${kind}`,
    is: (u): u is SharedArray<K> => isSharedArray(u) && u.kind === kind,
    isFields: isCellsFields(kind),
    encode: (array) => {
      const cells = cellsOf(array)
      return { name: cells.label, kind: cells.kind, buffer: cells.buffer, length: cells.length }
    },
    decode: (fields) => new SharedArrayImpl(new Cells(fields.name, kind, fields.buffer, fields.length))
  })
