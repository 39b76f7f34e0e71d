/**
 * Go's `select` over Effect queues and deferreds: take exactly one item from
 * whichever source is ready first.
 *
 * **When to use**
 *
 * Use `select` when a fiber serves several channels (work queues, a control
 * queue, a shutdown signal) and must react to whichever has something first.
 *
 * **Details**
 *
 * - Sources are Effect `Queue.Dequeue`s and `Deferred`s. A deferred counts as
 *   ready once it is done; reading it does not consume it.
 * - When several sources are ready, the one listed first wins, so list the
 *   most urgent source first (a shutdown signal, say).
 * - `select` takes exactly one item and never loses one: it waits for a source
 *   to become ready without taking from it, then takes from one source
 *   synchronously, so the order of `sources` decides which ready source
 *   wins, not the order in which the scheduler runs fibers.
 * - A source that is done (a shut-down queue, a failed deferred) ends the
 *   select with its failure.
 * - An interrupted select takes nothing, with one exception that comes from
 *   Effect's `Queue`: taking from a full queue runs the offerer waiting for
 *   room at once, inside the taker's step; if that offerer's fiber interrupts
 *   the selecting fiber right then, the item taken is lost. Do not interrupt
 *   a select from the producer it is unblocking.
 * - With a `timeout`, it fails with Effect's `Cause.TimeoutError` when no source
 *   became ready in time.
 *
 * @example
 * ```ts
 * import { Deferred, Effect, Queue } from "effect"
 * import { Select } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const jobs = yield* Queue.bounded<string>(10)
 *   const stop = yield* Deferred.make<string>()
 *   yield* Queue.offer(jobs, "job 1")
 *   const { index, value } = yield* Select.select([stop, jobs], { timeout: "1 second" })
 *   return [index, value] // [1, "job 1"]
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { deadlineOf, untilDeadline } from "./internal/arguments.ts"
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

/**
 * Something `select` can take from.
 *
 * @category models
 * @since 0.1.0
 */
export type Source<A, E = never> = Queue.Dequeue<A, E> | Deferred.Deferred<A, E>

/**
 * The item `select` took, and the index of the source it came from.
 *
 * @category models
 * @since 0.1.0
 */
export interface Selected<A> {
  readonly index: number
  readonly value: A
}

type SourceValue<S> = S extends Source<infer A, infer _E> ? A : never
type SourceError<S> = S extends Source<infer _A, infer E> ? E : never

// Deferred is invariant in its error type, so `Deferred<A>` needs its own member.
type AnySource = Queue.Dequeue<any, any> | Deferred.Deferred<any, any> | Deferred.Deferred<any>

/** Takes from a ready source at once (an effect that does not wait), or `undefined` if it is not ready. */
const tryTake = (source: AnySource): Effect.Effect<unknown, unknown> | undefined => {
  if (Queue.isDequeue(source)) return Queue.takeUnsafe(source)
  const deferred = source as Deferred.Deferred<unknown>
  return Deferred.isDoneUnsafe(deferred) ? Deferred.await(deferred) : undefined
}

const awaitReady = (source: AnySource): Effect.Effect<unknown> =>
  Effect.exit(Queue.isDequeue(source) ? Queue.peek(source) : Deferred.await(source as Deferred.Deferred<unknown>))

/**
 * Takes one item from the first ready source.
 *
 * **When to use**
 *
 * Use in a loop that serves several queues, or a queue and a stop signal.
 *
 * **Details**
 *
 * Checks the sources in order, takes from the first ready one and succeeds
 * with `{ index, value }`. If none is ready, it waits without taking anything
 * until one is, then checks again. Interrupting it loses nothing.
 *
 * @example
 * ```ts
 * import { Effect, Queue } from "effect"
 * import { Select } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const urgent = yield* Queue.unbounded<string>()
 *   const normal = yield* Queue.unbounded<string>()
 *   yield* Queue.offer(normal, "routine")
 *   yield* Queue.offer(urgent, "fire!")
 *   return yield* Select.select([urgent, normal]) // { index: 0, value: "fire!" }
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const select = <const Sources extends ReadonlyArray<AnySource>>(
  sources: Sources,
  options?: { readonly timeout?: Duration.Input | undefined }
): Effect.Effect<
  Selected<SourceValue<Sources[number]>>,
  SourceError<Sources[number]> | Cause.TimeoutError | InvalidArgument
> =>
  // The sources are checked one by one at run time, so the typed result is asserted once, here.
  Effect.gen(function* () {
    const deadline = yield* deadlineOf("Select.select", options?.timeout)
    for (;;) {
      for (let index = 0; index < sources.length; index++) {
        const exit = tryTake(sources[index]!)
        if (exit !== undefined) return yield* Effect.map(exit, (value) => ({ index, value }))
      }
      if (!(yield* untilDeadline(deadline, Effect.raceAll(sources.map(awaitReady))))) {
        return yield* new Cause.TimeoutError("Select.select: no source was ready in time")
      }
    }
  }) as Effect.Effect<any, any>
