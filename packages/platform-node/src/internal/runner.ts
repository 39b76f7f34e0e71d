/**
 * The worker side of the protocol: receives command batches on the private
 * port, runs each task's handler as its own fiber, and sends the replies of
 * one tick back in one message.
 *
 * Nothing a handler does may take the worker down with it: a handler that
 * throws is a defect of its task, a result structured clone cannot copy is a
 * typed `ResultError` of its task, and a batch that cannot be posted whole is
 * posted reply by reply so its other replies still arrive.
 *
 * @internal
 */
import type { TransferListItem } from "node:worker_threads"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Task from "../Task.ts"
import { Forwarder } from "./forward.ts"
import { Outbox } from "./outbox.ts"
import {
  type Carried,
  COMMAND_STRIDE,
  type Codec,
  Command,
  codec,
  DRAIN,
  RESULT_STRIDE,
  Reply,
  schemaIssue,
  serializeCause,
  serializeDefect,
  sharedNowMillis,
  uncloneableIssue
} from "./protocol.ts"
import type { Host } from "./transport/host.ts"

/** A handler for one task, as `WorkerRunner.handle` makes it. */
export interface Handler<R> {
  readonly task: Task.Any
  readonly run: (payload: any) => Effect.Effect<any, any, R> | Stream.Stream<any, any, R>
}

/** Values a handler marked with `WorkerRunner.transfer`, and what to move with them. */
const marked = new WeakMap<object, ReadonlyArray<TransferListItem>>()

/** Marks `value` so that `list` moves to the caller instead of being copied. */
export const markTransfer = <A extends object>(value: A, list: ReadonlyArray<TransferListItem>): A => {
  marked.set(value, list)
  return value
}

const transfersOf = (value: unknown): ReadonlyArray<TransferListItem> | undefined =>
  typeof value === "object" && value !== null ? marked.get(value) : undefined

interface Served {
  readonly handler: Handler<unknown>
  readonly codec: Codec
}

/**
 * What a stream may still send: the caller grants room for items as its
 * consumer pulls them (`Command.Credit`), and the stream's producer suspends
 * on the latch while the room is used up. A slow consumer therefore holds
 * back the producer, across the thread boundary.
 */
class Credit {
  left = 0
  readonly latch = Latch.makeUnsafe(false)

  grant(n: number): void {
    this.left += n
    this.latch.openUnsafe()
  }
}

/** What a task's fiber ends with when there is nothing (more) to reply: taken back, or already answered. */
const Answered: unique symbol = Symbol.for("@strand/platform-node/Answered")

/** Serves handlers on one worker's private channel. */
export class Runner {
  private readonly served = new Map<string, Served>()
  private readonly fibers = new Map<number, Fiber.Fiber<unknown, unknown>>()
  private readonly credits = new Map<number, Credit>()
  /** When each task that must report its timing (`Carried.timing`) started, in epoch milliseconds. */
  private readonly startedAt = new Map<number, number>()
  /** The context every task's fiber starts from (see `Forwarder.install`). */
  private readonly installed: Context.Context<never>
  private readonly outbox: Outbox
  private readonly host: Host
  private readonly forwarder: Forwarder

  constructor(host: Host, handlers: ReadonlyArray<Handler<unknown>>, context: Context.Context<unknown>) {
    const port = host.channel
    this.host = host
    // A reply structured clone cannot copy fails its own task, as a typed error.
    this.outbox = new Outbox(
      RESULT_STRIDE,
      port,
      ([code, id, value], error) => {
        const root = code === Reply.Item ? "item" : code === Reply.Failure ? "error" : "result"
        port.postMessage([Reply.Unsendable, id, uncloneableIssue(value, root, error)])
        // A stream whose item cannot be sent has failed: stop producing more.
        this.fibers.get(id as number)?.interruptUnsafe()
      },
      () => {
        if (this.fibers.size === 0) host.idle()
      }
    )
    this.forwarder = new Forwarder((code, id, value) => this.emit(code, id, value), context as Context.Context<never>)
    this.installed = this.forwarder.install(context as Context.Context<never>)
    for (const handler of handlers) this.served.set(handler.task.name, { handler, codec: codec(handler.task) })
    host.listen((message: unknown) => {
      if (Array.isArray(message)) this.receive(message)
      else if (typeof message === "object" && message !== null && (message as { _?: unknown })._ === DRAIN._) {
        void drainStdio().then(() => port.postMessage({ _: "drained" }))
      }
    })
  }

  private receive(batch: ReadonlyArray<any>): void {
    for (let i = 0; i < batch.length; i += COMMAND_STRIDE) {
      const code = batch[i] as number
      const id = batch[i + 1] as number
      if (code === Command.Interrupt) this.fibers.get(id)?.interruptUnsafe()
      else if (code === Command.Credit) this.credits.get(id)?.grant(batch[i + 4] as number)
      else this.start(code, id, batch[i + 2], batch[i + 3], batch[i + 4], batch[i + 5], batch[i + 6])
    }
  }

  // ----------------------------------------------------------------- replies

  private emit(code: number, id: number, value: unknown, transfer?: ReadonlyArray<TransferListItem>): void {
    this.outbox.put(transfer, code, id, value)
  }

  /** Encodes a success value or an item; a value its schema rejects is the task's `ResultError`. */
  private encodeAndEmit(encode: Codec["encodeSuccess"], value: unknown, id: number, code: number): void {
    const encoded = encode(value)
    if (Exit.isFailure(encoded)) {
      const issue = `it does not match the task's ${code === Reply.Failure ? "error" : "success"} schema: ${schemaIssue(encoded)}`
      return this.emit(Reply.Unsendable, id, issue)
    }
    this.emit(code, id, encoded.value, transfersOf(value))
  }

  /** Reports how task `id` ended. */
  private report(id: number, codec: Codec, timeout: number, kind: Kind, exit: Exit.Exit<unknown, unknown>): void {
    this.fibers.delete(id)
    if (kind === "stream" && this.credits.delete(id) && this.credits.size === 0) this.host.watchLoop(false)
    const startedAt = this.startedAt.get(id)
    if (startedAt !== undefined) {
      this.startedAt.delete(id)
      this.emit(Reply.Timing, id, [startedAt, sharedNowMillis()])
    }
    if (Exit.isSuccess(exit)) {
      if (exit.value === Answered) return
      if (timeout > 0 && Option.isNone(exit.value as Option.Option<unknown>)) {
        return this.emit(Reply.Timeout, id, timeout)
      }
      if (kind === "stream") return this.emit(Reply.End, id, undefined)
      const value = timeout > 0 ? (exit.value as Option.Some<unknown>).value : exit.value
      if (kind === "chunk") return this.reportChunk(id, codec, value as ChunkResult)
      return this.encodeAndEmit(codec.encodeSuccess, value, id, Reply.Success)
    }
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isSome(error)) this.encodeAndEmit(codec.encodeError, error.value, id, Reply.Failure)
    else if (Cause.hasInterruptsOnly(exit.cause)) this.emit(Reply.Interrupted, id, undefined)
    else this.emit(Reply.Defect, id, serializeCause(exit.cause))
  }

  /** A chunk's results, in input order, and how its first failing input failed. */
  private reportChunk(id: number, codec: Codec, { done, failed }: ChunkResult): void {
    const encoded: Array<unknown> = []
    for (const value of done) {
      const exit = codec.encodeSuccess(value)
      if (Exit.isFailure(exit)) {
        return this.emit(Reply.Unsendable, id, `it does not match the task's success schema: ${schemaIssue(exit)}`)
      }
      encoded.push(exit.value)
    }
    const transfer = chunkTransfers(done)
    if (failed === undefined) return this.emit(Reply.Success, id, encoded, transfer)
    if (Cause.hasInterruptsOnly(failed.cause)) return this.emit(Reply.Interrupted, id, undefined)
    const error = Cause.findErrorOption(failed.cause)
    if (Option.isNone(error))
      return this.emit(Reply.Partial, id, [encoded, Reply.Defect, serializeCause(failed.cause)], transfer)
    const encodedError = codec.encodeError(error.value)
    if (Exit.isFailure(encodedError)) {
      return this.emit(Reply.Unsendable, id, `it does not match the task's error schema: ${schemaIssue(encodedError)}`)
    }
    this.emit(Reply.Partial, id, [encoded, Reply.Failure, encodedError.value], transfer)
  }

  // ------------------------------------------------------------------- tasks

  /** Nothing else is in flight here and no reply waits in the outbox (see `Claim`). */
  private alone(): boolean {
    return this.fibers.size === 0 && this.outbox.empty
  }

  private start(
    code: number,
    id: number,
    cell: number,
    name: string,
    payload: unknown,
    timeout: number,
    carried: Carried | undefined
  ): void {
    const entry = this.served.get(name)
    if (entry === undefined) {
      if (this.host.claim(cell, id, this.alone())) this.emit(Reply.NotServed, id, name)
      return
    }
    const kind: Kind =
      entry.handler.task._tag === "StreamTask" ? "stream" : code === Command.RunChunk ? "chunk" : "single"
    const credit = kind === "stream" ? new Credit() : undefined
    if (credit !== undefined) {
      this.credits.set(id, credit)
      if (this.credits.size === 1) this.host.watchLoop(true)
    }
    // The worker's Layer provides what the task requires: its context is `installed`.
    const context = this.forwarder.jobContext(this.installed, id, carried) as Context.Context<unknown>
    const fiber = Effect.runForkWith(context)(
      Effect.suspend((): Effect.Effect<unknown, unknown, unknown> => {
        // Nothing of the task runs before its claim: a task the pool took back runs elsewhere.
        if (!this.host.claim(cell, id, this.alone())) return Effect.succeed(Answered)
        if (carried?.timing) this.startedAt.set(id, sharedNowMillis())
        let effect: Effect.Effect<unknown, unknown, unknown> | undefined
        try {
          effect = this.build(entry, kind, id, payload, credit)
        } catch (thrown) {
          // The handler threw before it built an Effect: a defect of this task alone.
          this.emit(Reply.Defect, id, serializeDefect(thrown))
          return Effect.succeed(Answered)
        }
        if (effect === undefined) return Effect.succeed(Answered)
        effect = this.forwarder.wrap(effect, id, name, carried)
        return timeout > 0 ? Effect.timeoutOption(effect, timeout) : effect
      })
    )
    // A task that ended in its first run is never tracked: a batch of them would grow the map of
    // fibers and shrink it again, reallocating its table each time.
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return this.report(id, entry.codec, timeout, kind, exit)
    this.fibers.set(id, fiber)
    fiber.addObserver((exit) => this.report(id, entry.codec, timeout, kind, exit))
  }

  /** The effect that runs one command; undefined once a payload error has been reported. */
  private build(
    { handler, codec }: Served,
    kind: Kind,
    id: number,
    payload: unknown,
    credit: Credit | undefined
  ): Effect.Effect<unknown, unknown, unknown> | undefined {
    if (kind === "chunk") {
      const decoded: Array<unknown> = []
      for (const value of payload as Array<unknown>) {
        const exit = this.decode(codec, id, value)
        if (Exit.isFailure(exit)) return undefined
        decoded.push(exit.value)
      }
      return runChunk(handler, decoded)
    }
    const decoded = this.decode(codec, id, payload)
    if (Exit.isFailure(decoded)) return undefined
    if (kind === "single") return handler.run(decoded.value) as Effect.Effect<unknown, unknown, unknown>
    const stream = handler.run(decoded.value) as Stream.Stream<unknown, unknown, unknown>
    return Stream.runForEachArray(stream, (items) => this.emitItems(codec, id, credit!, items, 0))
  }

  /** Decodes a payload; one its schema rejects is reported as the task's `PayloadError`. */
  private decode(codec: Codec, id: number, payload: unknown): Exit.Exit<unknown, unknown> {
    const decoded = codec.decodePayload(payload)
    if (Exit.isFailure(decoded)) this.emit(Reply.PayloadError, id, schemaIssue(decoded))
    return decoded
  }

  /** Sends a stream's items from `from` on, as far as its credit goes, then waits for more credit. */
  private emitItems(
    codec: Codec,
    id: number,
    credit: Credit,
    items: ReadonlyArray<unknown>,
    from: number
  ): Effect.Effect<void> {
    let i = from
    for (; i < items.length && credit.left > 0; i++, credit.left--) {
      this.encodeAndEmit(codec.encodeSuccess, items[i], id, Reply.Item)
    }
    if (i === items.length) return Effect.void
    credit.latch.closeUnsafe()
    return Effect.flatMap(credit.latch.await, () => this.emitItems(codec, id, credit, items, i))
  }
}

/** The transfer lists of the marked values in a chunk's results. */
const chunkTransfers = (value: ReadonlyArray<unknown>): ReadonlyArray<TransferListItem> | undefined => {
  let all: Array<TransferListItem> | undefined
  for (const item of value) {
    const list = transfersOf(item)
    if (list !== undefined) (all ??= []).push(...list)
  }
  return all
}

type Kind = "single" | "chunk" | "stream"

/** A chunk's results before its first failing input, and that input's failure. */
interface ChunkResult {
  readonly done: ReadonlyArray<unknown>
  readonly failed: Exit.Failure<unknown, unknown> | undefined
}

/**
 * Runs a chunk's inputs one after another, stopping at the first that fails,
 * so that the caller gets every result before it (Python's `imap` order).
 * Each handler is called lazily, so one that throws is that input's defect.
 */
const runChunk = (handler: Handler<unknown>, inputs: ReadonlyArray<unknown>): Effect.Effect<ChunkResult> =>
  Effect.gen(function* () {
    const done: Array<unknown> = []
    for (const input of inputs) {
      const exit = yield* Effect.exit(Effect.suspend(() => handler.run(input) as Effect.Effect<unknown, unknown>))
      if (Exit.isFailure(exit)) return { done, failed: exit }
      done.push(exit.value)
    }
    return { done, failed: undefined }
  })

/**
 * Resolves once everything written so far to stdout and stderr has reached
 * the main thread. Node delivers a worker's output asynchronously and only
 * takes the next write once the main thread has read the last, so output
 * still queued here would be lost if the thread were terminated now.
 */
const drainStdio = (): Promise<void> =>
  Promise.all(
    [process.stdout, process.stderr].map(
      (stream) =>
        new Promise<void>((resolve) => (stream.writableLength === 0 ? resolve() : stream.write("", () => resolve())))
    )
  ).then(() => undefined)
