/**
 * `map` and `mapStream`: a task over many inputs, in chunks, as exact as
 * Python's `Pool.map` and `Pool.imap`.
 *
 * - Inputs are read lazily, whether an `Iterable` or an Effect `Stream`, and
 *   only as the pool has room: at most `4 × maxSize` chunks are in flight or
 *   waiting, so an endless input runs in constant memory.
 * - Each chunk reports its results in input order up to its first failing
 *   input, and that input's failure (a worker runs a chunk's inputs one after
 *   another). With `order: "input"`, every result before the first failing
 *   input is emitted, then its error: deterministic, whatever the timing.
 * - An input that fails to be read (an iterator that throws, a Stream that
 *   fails) is one more failure in input order: the results before it come
 *   first.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import type { MapOptions } from "./client.ts"
import { InvalidPoolOptions, MapInputError } from "./errors.ts"
import { show } from "./options.ts"

/** A chunk's results in input order, and the failure that stopped it, if any. */
export interface Outcome {
  readonly results: ReadonlyArray<unknown>
  readonly failure: Cause.Cause<unknown> | undefined
}

/** Runs one chunk of inputs; never fails: a failure is part of the outcome. */
export type RunChunk = (chunk: ReadonlyArray<unknown>) => Effect.Effect<Outcome>

/** Chunk size for an input of unknown length with `chunkSize: "auto"`. */
const AUTO_UNKNOWN_LENGTH = 16

/** The chunk size to use, or the error for one that is not a positive whole number or `"auto"`. */
export const chunkSizeOf = (
  inputs: unknown,
  options: MapOptions | undefined,
  workers: number
): number | InvalidPoolOptions => {
  const order = options?.order
  if (order !== undefined && order !== "input" && order !== "completion") {
    return new InvalidPoolOptions({ option: "order", value: show(order), expected: '"input" or "completion"' })
  }
  const requested = options?.chunkSize === undefined ? 1 : options.chunkSize
  if (requested === "auto") {
    const length = Array.isArray(inputs)
      ? inputs.length
      : inputs instanceof Set || inputs instanceof Map
        ? inputs.size
        : undefined
    // Python's rule where the length is known: about four chunks per worker.
    return length === undefined ? AUTO_UNKNOWN_LENGTH : Math.max(1, Math.ceil(length / (4 * workers)))
  }
  if (typeof requested !== "number" || !Number.isSafeInteger(requested) || requested < 1) {
    return new InvalidPoolOptions({
      option: "chunkSize",
      value: show(requested),
      expected: 'a whole number of at least 1, or "auto"'
    })
  }
  return requested
}

/** One element of the input, or the failure that ended it. */
type Item = { readonly value: unknown } | { readonly failure: Cause.Cause<unknown> }

/** Reads an Iterable lazily; a throwing iterator ends it with a typed `MapInputError`. */
function* items(inputs: Iterable<unknown>): Generator<Item> {
  let index = 0
  try {
    for (const value of inputs) {
      yield { value }
      index++
    }
  } catch (thrown) {
    yield { failure: Cause.fail(MapInputError.of(index, thrown)) }
  }
}

/** The inputs as a stream of items, read one chunk at a time, so read-ahead stays bounded. */
const itemsOf = <E, R>(
  inputs: Iterable<unknown> | Stream.Stream<unknown, E, R>,
  chunkSize: number
): Stream.Stream<Item, never, R> =>
  Stream.isStream(inputs)
    ? Stream.map(inputs, (value): Item => ({ value })).pipe(
        Stream.catchCause((cause) => Stream.succeed<Item>({ failure: cause }))
      )
    : Stream.fromIterable(items(inputs as Iterable<unknown>), { chunkSize })

/** Runs the inputs of a group, then adds the input's own failure (if it ended the group) in order. */
const runGroup = (run: RunChunk, group: ReadonlyArray<Item>): Effect.Effect<Outcome> => {
  const values: Array<unknown> = []
  let ended: Cause.Cause<unknown> | undefined
  for (const item of group) {
    if ("failure" in item) ended = item.failure
    else values.push(item.value)
  }
  if (values.length === 0) return Effect.succeed({ results: [], failure: ended })
  return Effect.map(run(values), (outcome) =>
    outcome.failure === undefined ? { ...outcome, failure: ended } : outcome
  )
}

/** The results of one outcome, then its failure. */
const emit = (outcome: Outcome): Stream.Stream<unknown, unknown> => {
  const results = Stream.fromIterable(outcome.results)
  return outcome.failure === undefined ? results : Stream.concat(results, Stream.failCause(outcome.failure))
}

/** `mapStream`: lazy input, bounded read-ahead, every result before the first failure. */
export const mapStream = <E, R>(
  inputs: Iterable<unknown> | Stream.Stream<unknown, E, R>,
  options: MapOptions | undefined,
  workers: number,
  run: RunChunk
): Stream.Stream<unknown, unknown, R> =>
  Stream.unwrap(
    Effect.sync(() => {
      const size = chunkSizeOf(inputs, options, workers)
      if (typeof size !== "number") return Stream.fail(size)
      return itemsOf(inputs, size).pipe(
        Stream.grouped(size),
        Stream.mapEffect((group) => runGroup(run, group), {
          concurrency: 4 * workers,
          unordered: options?.order === "completion"
        }),
        Stream.flatMap(emit)
      )
    })
  )

/**
 * `map`: every input at once (Python's `Pool.map`), failing fast: the first
 * chunk to fail, in time, fails the whole map and interrupts the others.
 */
export const map = (
  inputs: Iterable<unknown>,
  options: MapOptions | undefined,
  workers: number,
  run: RunChunk
): Effect.Effect<Array<unknown>, unknown> =>
  Effect.suspend(() => {
    const size = chunkSizeOf(inputs, options, workers)
    if (typeof size !== "number") return Effect.fail(size)
    const chunks: Array<Array<unknown>> = []
    let failure: Cause.Cause<unknown> | undefined
    for (const item of items(inputs)) {
      if ("failure" in item) {
        failure = item.failure
        break
      }
      if (chunks.length === 0 || chunks[chunks.length - 1]!.length === size) chunks.push([])
      chunks[chunks.length - 1]!.push(item.value)
    }
    if (failure !== undefined) return Effect.failCause(failure)
    const settle = (outcome: Outcome) =>
      outcome.failure === undefined ? Effect.succeed(outcome.results) : Effect.failCause(outcome.failure)
    if (options?.order === "completion") {
      const results: Array<unknown> = []
      return Effect.as(
        Effect.forEach(
          chunks,
          (chunk) => Effect.flatMap(run(chunk), settle).pipe(Effect.map((r) => results.push(...r))),
          {
            concurrency: "unbounded",
            discard: true
          }
        ),
        results
      )
    }
    return Effect.map(
      Effect.forEach(chunks, (chunk) => Effect.flatMap(run(chunk), settle), { concurrency: "unbounded" }),
      (results) => results.flat()
    )
  })

/** An outcome from a single input's exit. */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): Outcome =>
  Exit.isSuccess(exit) ? { results: [exit.value], failure: undefined } : { results: [], failure: exit.cause }
