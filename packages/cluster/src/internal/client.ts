/**
 * The caller's side of a cluster, inside: the `WorkerPool` service built on an
 * entity client, the router's probe of the slots, and the options' checks.
 *
 * @internal
 */

import { type Task, WorkerPool } from "@strand/platform-node"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Protocol from "./protocol.ts"
import { Router } from "./router.ts"
import { invalid } from "./settings.ts"

type SingleTask = Task.Task<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>

export const timeoutMillis = (timeout: Duration.Input | undefined) => {
  if (timeout === undefined) return Effect.succeed(undefined)
  const decoded = Duration.fromInput(timeout)
  return Option.isSome(decoded) && Duration.toMillis(decoded.value) > 0
    ? Effect.succeed(Duration.isFinite(decoded.value) ? Duration.toMillis(decoded.value) : undefined)
    : Effect.fail(invalid("timeout", timeout, "a positive duration"))
}

const noTransfer = (options: WorkerPool.RunOptions | undefined) =>
  options?.transfer !== undefined && options.transfer.length > 0
    ? Effect.fail(
        invalid(
          "transfer",
          `${options.transfer.length} item(s)`,
          "no transfer list: a cluster sends payloads over the network as JSON, so nothing can be moved without a copy"
        )
      )
    : Effect.void

/**
 * A runner's answer stays as it is; the cluster's own delivery failures (a full mailbox, storage,
 * the transport) become the error a local pool gives for a lost worker.
 */
const deliveryError =
  (task: Task.Any) =>
  <E extends { readonly _tag: string; readonly message?: string }>(
    error: E
  ): Extract<E, Protocol.RemoteFailure> | WorkerPool.WorkerCrashed =>
    error._tag === "RemoteFailure"
      ? (error as Extract<E, Protocol.RemoteFailure>)
      : new WorkerPool.WorkerCrashed({
          task: task.name,
          workerId: -1,
          reason: `the cluster could not deliver the task (${error._tag}${error.message ? `: ${error.message}` : ""})`
        })

const abortedBy = (task: Task.Any, signal: AbortSignal) =>
  new WorkerPool.TaskAborted({
    task: task.name,
    reason: signal.reason instanceof Error ? signal.reason.message : String(signal.reason)
  })

/** Fails with `TaskAborted` when `signal` aborts; never, without one. */
const onAbort = (task: Task.Any, signal: AbortSignal | undefined) =>
  signal === undefined
    ? Effect.never
    : Effect.callback<never, WorkerPool.TaskAborted>((resume) => {
        const abort = () => resume(Effect.fail(abortedBy(task, signal)))
        if (signal.aborted) return void abort()
        signal.addEventListener("abort", abort, { once: true })
        return Effect.sync(() => signal.removeEventListener("abort", abort))
      })

/** A result from JSON, or the `ResultError` a local pool gives for one that does not decode. */
const decodeResult = (task: Task.Any, value: Protocol.Json) =>
  Protocol.decodeValue(task.success, value).pipe(
    Effect.mapError((error) => new WorkerPool.ResultError({ task: task.name, issue: error.message }))
  )

/** One client per slot, made once: making an entity's client costs more than a call. */
const clientsOf = (router: Router) =>
  Effect.map(Protocol.Tasks.client, (clientFor) => {
    const clients = Array.from({ length: router.slots }, (_, slot) => clientFor(Router.id(slot)))
    return (slot: number) => clients[slot]!
  })

/** One chunk's outcome: its results in input order, then its failure if it had one. */
interface Outcome {
  readonly values: ReadonlyArray<unknown>
  readonly failure: Option.Option<unknown>
}

/**
 * Asks every slot which runner holds it before the first task, so the router
 * spreads work from the start; then one slot every 250 ms, so that a runner
 * that joins later is found without bursts of calls that would slow tasks.
 */
const locate = (router: Router, clientFor: (slot: number) => Protocol.TasksClient) =>
  Effect.gen(function* () {
    const probe = (slot: number) =>
      clientFor(slot)
        .Locate()
        .pipe(
          Effect.tap((runner) => Effect.sync(() => router.learn(slot, runner))),
          Effect.timeout(Duration.seconds(2)),
          Effect.ignore
        )
    yield* Effect.forEach(
      Array.from({ length: router.slots }, (_, slot) => slot),
      probe,
      { concurrency: 8, discard: true }
    )
    let next = 0
    yield* Effect.suspend(() => probe(next++ % router.slots)).pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(250))),
      Effect.forkScoped
    )
  })

/** The `WorkerPool` service over the cluster's entity, with its router located first. */
export const make = (router: Router, isServed: (name: string) => Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    const clientFor = yield* clientsOf(router)
    yield* locate(router, clientFor)
    const counts = { started: 0, succeeded: 0, failed: 0, cancelled: 0, timedOut: 0, inflight: 0 }

    const failedWith = (error: unknown) => {
      counts.failed += 1
      if (error instanceof WorkerPool.TaskTimeout) counts.timedOut += 1
    }

    /** Counts a call's `weight` tasks in `stats`, as seen from this caller; `succeeded` tallies a success. */
    const counted = <A, E, R>(weight: number, effect: Effect.Effect<A, E, R>, succeeded: (value: A) => void) =>
      Effect.suspend(() => {
        counts.started += weight
        counts.inflight += weight
        return effect
      }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            counts.inflight -= weight
            if (exit._tag === "Failure") {
              const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
              if (error === undefined) counts.cancelled += weight
              else failedWith(error.error)
            } else {
              succeeded(exit.value)
            }
          })
        )
      )

    /**
     * A chunk's outcome counts its results as succeeded, its failure as failed, and the inputs
     * after the failure, which never ran, as cancelled.
     */
    const tally = (weight: number) => (outcome: Outcome) => {
      counts.succeeded += outcome.values.length
      if (Option.isSome(outcome.failure)) failedWith(outcome.failure.value)
      counts.cancelled += weight - outcome.values.length - (Option.isSome(outcome.failure) ? 1 : 0)
    }

    const checkServed = (task: Task.Any) =>
      Effect.flatMap(isServed(task.name), (yes) =>
        yes ? Effect.void : Effect.fail(new WorkerPool.TaskNotServed({ task: task.name }))
      )

    const encodePayload = (task: Task.Any, payload: unknown) =>
      Protocol.encodeValue(task, task.payload, payload).pipe(
        Effect.mapError(
          (error) =>
            new WorkerPool.PayloadError({
              task: task.name,
              side: "caller",
              issue:
                `${error.issue} (a payload crosses machines as JSON through the task's schema, ` +
                "so shared memory and other values that live in one process cannot be sent)"
            })
        )
      )

    const failWith = (task: Task.Any, failure: Protocol.RemoteFailure) =>
      Effect.flatMap(Protocol.decodeFailure(task, failure), Effect.fail)

    /** Sends one chunk of encoded inputs; the call itself never fails, its outcome may. */
    const runChunk = (task: SingleTask, payloads: ReadonlyArray<Protocol.Json>, timeout: number | undefined) =>
      Effect.suspend(() => {
        const slot = router.pick(undefined, payloads.length)
        let runner: string | undefined
        return clientFor(slot)
          .RunMany({ task: task.name, payloads, timeoutMillis: timeout })
          .pipe(
            Effect.mapError(deliveryError(task)),
            Effect.tap((reply) => Effect.sync(() => (runner = reply.runner))),
            Effect.flatMap((reply) =>
              Effect.all({
                values: Effect.forEach(reply.values, (value) => decodeResult(task, value)),
                failure:
                  reply.failure === undefined
                    ? Effect.succeedNone
                    : Effect.asSome(Effect.flip(failWith(task, reply.failure)))
              })
            ),
            Effect.catchTag("RemoteFailure", (failure) => {
              runner = failure.runner
              return Effect.map(
                Effect.flip(failWith(task, failure)),
                (error): Outcome => ({
                  values: [],
                  failure: Option.some(error)
                })
              )
            }),
            Effect.catch((error) => Effect.succeed<Outcome>({ values: [], failure: Option.some(error) })),
            Effect.ensuring(Effect.sync(() => router.done(slot, payloads.length, runner)))
          )
      })

    const chunkSizeOf = (option: WorkerPool.MapOptions["chunkSize"], length: number | undefined) => {
      if (typeof option === "number" && Number.isInteger(option) && option >= 1) return Effect.succeed(option)
      if (option !== undefined && option !== "auto") {
        return Effect.fail(invalid("chunkSize", option, 'a whole number of at least 1, or "auto"'))
      }
      if (length === undefined) return Effect.succeed(64)
      const runners = Math.max(1, router.runners().size)
      return Effect.succeed(Math.min(1000, Math.max(1, Math.ceil(length / (4 * runners)))))
    }

    const mapStream = <T extends SingleTask, E, R>(
      task: T,
      inputs: Iterable<Task.Payload<T>> | Stream.Stream<Task.Payload<T>, E, R>,
      options?: WorkerPool.MapOptions
    ): Stream.Stream<Task.Success<T>, Task.Error<T> | WorkerPool.WorkerPoolError | E, R> =>
      Stream.unwrap(
        Effect.gen(function* () {
          if (options?.order !== undefined && options.order !== "input" && options.order !== "completion") {
            return yield* Effect.fail(invalid("order", options.order, '"input" or "completion"'))
          }
          const timeout = yield* timeoutMillis(options?.timeout)
          yield* checkServed(task)
          const isStream = Stream.isStream(inputs)
          const known = isStream ? undefined : Array.isArray(inputs) ? inputs.length : undefined
          const size = yield* chunkSizeOf(options?.chunkSize, known)
          const source: Stream.Stream<Task.Payload<T>, E, R> = isStream ? inputs : Stream.fromIterable(inputs)
          const chunks: Stream.Stream<ReadonlyArray<Task.Payload<T>>, E, R> = isStream
            ? Stream.groupedWithin(source, size, Duration.millis(10))
            : Stream.grouped(source, size)
          const sent = chunks.pipe(
            Stream.mapEffect(
              (chunk) =>
                Effect.flatMap(
                  Effect.forEach(chunk, (input) => encodePayload(task, input)),
                  (payloads) => counted(payloads.length, runChunk(task, payloads, timeout), tally(payloads.length))
                ),
              { concurrency: 32, unordered: options?.order === "completion" }
            ),
            Stream.flatMap((outcome) =>
              Stream.concat(
                Stream.fromIterable(outcome.values as ReadonlyArray<Task.Success<T>>),
                Option.isSome(outcome.failure) ? Stream.fail(outcome.failure.value as Task.Error<T>) : Stream.empty
              )
            )
          )
          return options?.signal === undefined ? sent : Stream.interruptWhen(sent, onAbort(task, options.signal))
        })
      )

    const service: WorkerPool.Service = {
      run: (task, payload, options) =>
        Effect.gen(function* () {
          yield* noTransfer(options)
          const timeout = yield* timeoutMillis(options?.timeout)
          yield* checkServed(task)
          const encoded = yield* encodePayload(task, payload)
          const slot = router.pick(options?.key, 1)
          let runner: string | undefined
          return yield* clientFor(slot)
            .Run({ task: task.name, payload: encoded, timeoutMillis: timeout })
            .pipe(
              Effect.mapError(deliveryError(task)),
              Effect.tap((reply) => Effect.sync(() => (runner = reply.runner))),
              Effect.flatMap((reply) => decodeResult(task, reply.value)),
              Effect.catchTag("RemoteFailure", (failure) => {
                runner = failure.runner
                return failWith(task, failure)
              }),
              Effect.ensuring(Effect.sync(() => router.done(slot, 1, runner))),
              (effect) =>
                options?.signal === undefined ? effect : Effect.raceFirst(effect, onAbort(task, options.signal)),
              (effect) =>
                counted(1, effect, () => {
                  counts.succeeded += 1
                })
            )
        }) as never,
      map: (task, inputs, options) => Stream.runCollect(mapStream(task, inputs, options)),
      mapStream,
      stream: (task, payload, options) =>
        Stream.unwrap(
          Effect.gen(function* () {
            yield* noTransfer(options)
            const timeout = yield* timeoutMillis(options?.timeout)
            const bufferSize = options?.bufferSize
            if (bufferSize !== undefined && (!Number.isInteger(bufferSize) || bufferSize < 1)) {
              return yield* Effect.fail(invalid("bufferSize", bufferSize, "a whole number of at least 1"))
            }
            yield* checkServed(task)
            const encoded = yield* encodePayload(task, payload)
            const slot = router.pick(options?.key, 1)
            const items = clientFor(slot)
              .RunStream({ task: task.name, payload: encoded, timeoutMillis: timeout, bufferSize })
              .pipe(
                Stream.mapError(deliveryError(task)),
                Stream.mapEffect((value) => decodeResult(task, value)),
                Stream.catchTag("RemoteFailure", (failure) => Stream.fromEffect(failWith(task, failure))),
                Stream.ensuring(Effect.sync(() => router.done(slot, 1, undefined)))
              )
            return options?.signal === undefined ? items : Stream.interruptWhen(items, onAbort(task, options.signal))
          })
        ) as never,
      stats: Effect.sync(() => ({
        size: router.runners().size,
        spares: 0,
        queued: 0,
        inflight: counts.inflight,
        started: counts.started,
        succeeded: counts.succeeded,
        failed: counts.failed,
        cancelled: counts.cancelled,
        crashed: 0,
        respawned: 0,
        startFailures: 0,
        malformed: 0,
        refused: 0,
        timedOut: counts.timedOut,
        workers: []
      })),
      messages: Stream.never
    }
    return service
  })

export const routerOf = (options: { readonly slots?: number | undefined } | undefined) => {
  const slots = options?.slots ?? 64
  return Number.isInteger(slots) && slots >= 1 && slots <= 100_000
    ? Effect.succeed(new Router(slots))
    : Effect.fail(invalid("slots", slots, "a whole number from 1 to 100000"))
}
