/**
 * The worker's half of seeing across the thread boundary: a `Tracer` and a
 * `Logger` that send what a task's code records to the caller, over the
 * batched reply channel, where `replay.ts` hands it to the caller's own
 * tracer and loggers. Nothing has to be configured inside the worker.
 *
 * @internal
 */
import { threadId } from "node:worker_threads"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import {
  type Carried,
  cloneable,
  type LogRecord,
  Reply,
  type SpanEnd,
  type SpanStart,
  serializeCause,
  serializeDefect,
  sharedNowMillis,
  sharedNowNanos
} from "./protocol.ts"

/** The task a fiber works for, by its job id (0: none); inherited by the fibers it forks. */
const CurrentJob = Context.Reference<number>("@strand/platform-node/CurrentJob", { defaultValue: () => 0 })

type Emit = (code: number, id: number, value: unknown) => void

/** A sampled span of a task's, mirrored to the caller as it starts and ends. */
class ForwardedSpan extends Tracer.NativeSpan {
  readonly job: number
  readonly local: number
  private readonly emit: Emit
  /** A time of this thread's Effect clock on the clock all threads share (`sharedNowNanos`). */
  private readonly shared: (time: bigint) => bigint

  constructor(
    options: ConstructorParameters<typeof Tracer.NativeSpan>[0],
    job: number,
    local: number,
    emit: Emit,
    shared: (time: bigint) => bigint
  ) {
    super(options)
    this.job = job
    this.local = local
    this.emit = emit
    this.shared = shared
    const parent = Option.getOrUndefined(options.parent)
    const start: SpanStart = [
      local,
      parent instanceof ForwardedSpan ? parent.local : 0,
      options.name,
      options.kind,
      shared(options.startTime)
    ]
    emit(Reply.SpanStart, job, start)
  }

  override end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    super.end(endTime, exit)
    const attributes = Array.from(this.attributes, ([key, value]) => [key, cloneable(value)] as const)
    const events = this.events.map(
      ([name, time, attributes]) => [name, this.shared(time), cloneable(attributes)] as const
    )
    const ended: SpanEnd = [this.local, this.shared(endTime), exitOf(exit), attributes, events as SpanEnd[4]]
    this.emit(Reply.SpanEnd, this.job, ended)
  }
}

const exitOf = (exit: Exit.Exit<unknown, unknown>): SpanEnd[2] => {
  if (Exit.isSuccess(exit)) return [Reply.Success]
  if (Cause.hasInterruptsOnly(exit.cause)) return [Reply.Interrupted]
  const error = Cause.findErrorOption(exit.cause)
  return Option.isSome(error)
    ? [Reply.Failure, serializeDefect(error.value)]
    : [Reply.Defect, serializeCause(exit.cause)]
}

/**
 * Forwards a worker's spans and logs. One per worker; `wrap` puts a task's
 * effect under it.
 */
export class Forwarder {
  private nextSpan = 1
  /** The caller's span of each traced task, as the parent of its server span. */
  private readonly callers = new WeakMap<Tracer.AnySpan, number>()
  private readonly emit: Emit
  /** Loggers for code that runs outside any task (a Layer, a background fiber): the worker's own. */
  private readonly others: ReadonlySet<Logger.Logger<unknown, unknown>>

  /** This thread's Effect clock, whose span and log times cross on the shared clock. */
  private readonly clock: Clock.Clock

  constructor(emit: Emit, context: Context.Context<never>) {
    this.emit = emit
    this.others = Context.get(context, References.CurrentLoggers)
    this.clock = Context.get(context, Clock.Clock)
  }

  private readonly shared = (time: bigint): bigint => time - (this.clock.currentTimeNanosUnsafe() - sharedNowNanos())

  /**
   * The context every task runs in: this forwarding tracer, unless the
   * worker's Layer installed a tracer of its own, and the forwarding logger
   * in place of Effect's default one.
   */
  install(context: Context.Context<never>): Context.Context<never> {
    const loggers = new Set<Logger.Logger<unknown, unknown>>([this.logger])
    for (const logger of this.others) {
      if (logger !== Logger.defaultLogger && logger !== Logger.tracerLogger) loggers.add(logger)
    }
    const withLoggers = Context.add(context, References.CurrentLoggers, loggers)
    return Context.get(context, Tracer.Tracer) === Tracer.nativeTracer
      ? Context.add(withLoggers, Tracer.Tracer, this.tracer)
      : withLoggers
  }

  /**
   * The context of job `id`'s fiber: `installed` (see `install`) marked with
   * the job, and set to its caller's log level when that is not the default;
   * the fibers it forks inherit both. The fiber starts in it, rather than
   * running the task under `Effect.provideService`, whose three-argument form
   * builds a new `dual` function on every call.
   */
  jobContext(installed: Context.Context<never>, id: number, carried: Carried | undefined): Context.Context<never> {
    const context = Context.add(installed, CurrentJob, id)
    return carried?.logLevel === undefined
      ? context
      : Context.add(context, References.MinimumLogLevel, carried.logLevel as LogLevel.LogLevel)
  }

  /** Runs a task's effect under a server span when its caller's span is sampled. */
  wrap<A, E, R>(
    effect: Effect.Effect<A, E, R>,
    id: number,
    name: string,
    carried: Carried | undefined
  ): Effect.Effect<A, E, R> {
    if (carried?.traceId === undefined || carried.spanId === undefined) return effect
    const caller = Tracer.externalSpan({ traceId: carried.traceId, spanId: carried.spanId, sampled: true })
    this.callers.set(caller, id)
    return Effect.withSpan(effect, name, {
      kind: "server",
      parent: caller,
      // Its stack trace would point into the runner, not at the handler.
      captureStackTrace: false,
      attributes: { "strand.task": name, "strand.thread.id": threadId }
    })
  }

  private readonly tracer = Tracer.make({
    span: (options) => {
      const parent = Option.getOrUndefined(options.parent)
      const job =
        parent === undefined ? undefined : parent instanceof ForwardedSpan ? parent.job : this.callers.get(parent)
      // A span outside any traced task, or one not sampled, stays in the worker.
      if (job === undefined || !options.sampled) return new Tracer.NativeSpan(options)
      return new ForwardedSpan(options, job, this.nextSpan++, this.emit, this.shared)
    }
  })

  private readonly logger = Logger.make<unknown, void>((options) => {
    const job = options.fiber.getRef(CurrentJob)
    if (job === 0) {
      for (const logger of this.others) logger.log(options)
      return
    }
    const span = options.fiber.cache.span
    const message = Array.isArray(options.message) ? options.message : [options.message]
    const annotations: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(options.fiber.getRef(References.CurrentLogAnnotations))) {
      annotations[key] = cloneable(value)
    }
    const record: LogRecord = [
      options.logLevel,
      options.date.getTime() - (this.clock.currentTimeMillisUnsafe() - sharedNowMillis()),
      message.map(cloneable),
      annotations,
      span instanceof ForwardedSpan ? span.local : 0,
      options.fiber.id,
      options.cause.reasons.length > 0 ? serializeCause(options.cause) : undefined
    ]
    this.emit(Reply.Log, job, record)
  })
}
