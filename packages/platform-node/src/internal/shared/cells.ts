/**
 * Typed cells in shared memory, with atomic reads, writes and
 * read-modify-writes: what `SharedValue` (one cell) and `SharedArray` (many)
 * are made of. One `SharedArrayBuffer` holds a lock's two cells, then the data
 * from byte 8.
 *
 * A float64 cell has no atomic operations of its own: it is read and written
 * through a bigint64 view of its bits, so that `compareAndSet` compares bit
 * patterns (`NaN` matches the same `NaN`; `0` and `-0` differ).
 *
 * @internal
 */
import { Errors } from "@strand/core"
import { checkInteger, IndexOutOfRange } from "./errors.ts"
import { isNamedRecord } from "./schema.ts"

/** The kinds of cell: Python's typecodes `"i"`, `"d"` and `"q"`. */
export type Kind = "int32" | "float64" | "bigint64"

/** What a cell of kind `K` holds. */
export type Element<K extends Kind> = K extends "bigint64" ? bigint : number

/** The typed array that holds cells of kind `K`. */
export type View<K extends Kind> = K extends "int32" ? Int32Array : K extends "float64" ? Float64Array : BigInt64Array

const KINDS: ReadonlyArray<Kind> = ["int32", "float64", "bigint64"]

/** Bytes before the data: the lock's cells. */
const DATA_OFFSET = 8

const BYTES: Record<Kind, number> = { int32: 4, float64: 8, bigint64: 8 }

/** A new buffer for a lock and `length` cells of `kind`. */
const allocate = (kind: Kind, length: number): SharedArrayBuffer =>
  new SharedArrayBuffer(DATA_OFFSET + BYTES[kind] * length)

const scratch = new Float64Array(1)
const scratchBits = new BigInt64Array(scratch.buffer)
const toBits = (value: number): bigint => {
  scratch[0] = value
  return scratchBits[0]!
}
const fromBits = (bits: bigint): number => {
  scratchBits[0] = bits
  return scratch[0]!
}

/** `length` cells of `kind` in `buffer`, with their atomic operations. */
export class Cells<K extends Kind> {
  readonly view: View<K>
  /** The view that atomic operations use: the float64 cells' bits, else `view`. */
  private readonly atomic: Int32Array | BigInt64Array
  private readonly float: boolean

  readonly label: string
  readonly kind: K
  readonly buffer: SharedArrayBuffer
  readonly length: number
  constructor(label: string, kind: K, buffer: SharedArrayBuffer, length: number) {
    this.label = label
    this.kind = kind
    this.buffer = buffer
    this.length = length
    this.float = kind === "float64"
    this.view = (
      kind === "int32"
        ? new Int32Array(buffer, DATA_OFFSET, length)
        : kind === "float64"
          ? new Float64Array(buffer, DATA_OFFSET, length)
          : new BigInt64Array(buffer, DATA_OFFSET, length)
    ) as View<K>
    this.atomic = kind === "int32" ? (this.view as Int32Array) : new BigInt64Array(buffer, DATA_OFFSET, length)
  }

  check(index: number): number {
    if (Number.isInteger(index) && index >= 0 && index < this.length) return index
    throw new IndexOutOfRange({ array: this.label, index, length: this.length })
  }

  get(index: number): Element<K> {
    const raw = Atomics.load(this.atomic as Int32Array, this.check(index)) as number | bigint
    return (this.float ? fromBits(raw as bigint) : raw) as Element<K>
  }

  set(index: number, value: Element<K>): void {
    Atomics.store(
      this.atomic as Int32Array,
      this.check(index),
      (this.float ? toBits(value as number) : value) as number
    )
  }

  add(index: number, delta: Element<K>): Element<K> {
    if (this.float) return this.update(index, (value) => ((value as number) + (delta as number)) as Element<K>)
    const before = Atomics.add(this.atomic as Int32Array, this.check(index), delta as number) as number | bigint
    return (
      this.kind === "int32"
        ? ((before as number) + (delta as number)) | 0
        : BigInt.asIntN(64, (before as bigint) + (delta as bigint))
    ) as Element<K>
  }

  compareAndSet(index: number, expected: Element<K>, next: Element<K>): boolean {
    const at = this.check(index)
    if (this.float) {
      const bits = toBits(expected as number)
      return Atomics.compareExchange(this.atomic as BigInt64Array, at, bits, toBits(next as number)) === bits
    }
    if (this.kind === "int32") {
      const want = (expected as number) | 0
      return Atomics.compareExchange(this.atomic as Int32Array, at, want, next as number) === want
    }
    const want = BigInt.asIntN(64, expected as bigint)
    return Atomics.compareExchange(this.atomic as BigInt64Array, at, want, next as bigint) === want
  }

  update(index: number, f: (value: Element<K>) => Element<K>): Element<K> {
    const at = this.check(index)
    if (!this.float) {
      for (;;) {
        const before = this.get(at)
        const after = f(before)
        if (this.compareAndSet(at, before, after))
          return this.kind === "int32" ? (((after as number) | 0) as Element<K>) : after
      }
    }
    // Compared as bits read, not as a number converted back, so that any NaN payload matches itself.
    const bits = this.atomic as BigInt64Array
    for (;;) {
      const before = Atomics.load(bits, at)
      const after = f(fromBits(before) as Element<K>)
      if (Atomics.compareExchange(bits, at, before, toBits(after as number)) === before) return after
    }
  }
}

/** Checks a kind and a length from an untyped caller. */
export const checkShape = (operation: string, kind: unknown, length: unknown): Errors.InvalidArgument | undefined => {
  if (!KINDS.includes(kind as Kind)) {
    return new Errors.InvalidArgument({
      operation,
      argument: "kind",
      value: kind,
      expected: '"int32", "float64" or "bigint64"'
    })
  }
  return checkInteger(operation, "length", length, 0, 2 ** 28, "an integer from 0 to 2^28")
}

/** Whether `value` fits an element of `kind`. */
export const fits = (kind: Kind, value: unknown): boolean =>
  kind === "bigint64" ? typeof value === "bigint" : typeof value === "number"

/** A new shared array, unchecked. */
export const makeCells = <K extends Kind>(label: string, kind: K, length: number): Cells<K> =>
  new Cells(label, kind, allocate(kind, length), length)

/** What cells encode to. */
export interface CellsFields {
  readonly name: string
  readonly kind: Kind
  readonly buffer: SharedArrayBuffer
  readonly length: number
}

/** Whether `u` is the fields of cells of `kind` (any kind if `undefined`). */
export const isCellsFields =
  (kind: Kind | undefined) =>
  (u: unknown): u is CellsFields => {
    if (!isNamedRecord(u)) return false
    const fields = u as CellsFields
    return (
      (kind === undefined ? KINDS.includes(fields.kind) : fields.kind === kind) &&
      fields.buffer instanceof SharedArrayBuffer &&
      Number.isInteger(fields.length) &&
      fields.buffer.byteLength >= DATA_OFFSET + fields.length * (fields.kind === "int32" ? 4 : 8)
    )
  }
