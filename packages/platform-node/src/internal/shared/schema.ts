/**
 * How a shared primitive crosses a thread boundary in a task's payload or
 * result: it encodes to the plain fields that hold its shared memory (which
 * structured clone shares, never copies) and decodes back to the primitive.
 *
 * @internal
 */
import { Class as PipeableClass } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

/** A typed array on shared memory with at least `length` elements. */
export const isSharedView = (u: unknown, length: number): boolean =>
  ArrayBuffer.isView(u) && u.buffer instanceof SharedArrayBuffer && (u as Int32Array).length >= length

/** A `{ name, ... }` record. */
export const isNamedRecord = (u: unknown): u is { readonly name: string } =>
  typeof u === "object" && u !== null && typeof (u as { name?: unknown }).name === "string"

/** The schema of a shared primitive `T`, encoded as its fields `F`. */
export const sharedSchema = <T, F>(options: {
  readonly name: string
  readonly is: (u: unknown) => u is T
  readonly isFields: (u: unknown) => u is F
  readonly encode: (self: T) => F
  readonly decode: (fields: F) => T
}): Schema.Codec<T, F> =>
  Schema.declare(options.isFields, { expected: `the fields of a ${options.name}` }).pipe(
    Schema.decodeTo(
      Schema.declare(options.is, { expected: options.name }),
      SchemaTransformation.transform({ decode: options.decode, encode: options.encode })
    )
  )

/** A primitive whose whole state is a name and some cells: an event, a semaphore, a barrier. */
export class NamedCells extends PipeableClass {
  readonly label: string
  readonly cells: Int32Array
  constructor(label: string, cells: Int32Array) {
    super()
    this.label = label
    this.cells = cells
  }
  override toString(): string {
    return this.label
  }
}

/** What a `NamedCells` primitive encodes to. */
export interface NamedCellsFields {
  readonly name: string
  readonly cells: Int32Array
}

/** The schema of a `NamedCells` primitive `T` with at least `length` cells, made back by `make`. */
export const namedCellsSchema = <T extends NamedCells>(
  name: string,
  is: (u: unknown) => u is T,
  length: number,
  make: (label: string, cells: Int32Array) => T
): Schema.Codec<T, NamedCellsFields> =>
  sharedSchema({
    name,
    is,
    isFields: (u): u is NamedCellsFields => isNamedRecord(u) && isSharedView((u as NamedCellsFields).cells, length),
    encode: (self) => ({ name: self.label, cells: self.cells }),
    decode: (fields) => make(fields.name, fields.cells)
  })
