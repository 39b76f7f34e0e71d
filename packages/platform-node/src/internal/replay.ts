/**
 * The caller's half of seeing across the thread boundary: opens a client
 * span per job, and hands what the worker's `Forwarder` sends (spans as they
 * start and end, log lines) to the caller's own tracer and loggers, in the
 * context of the fiber that called the pool. One exporter configured on the
 * main thread therefore sees both sides.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import type { Carried, LogRecord, SpanEnd, SpanStart } from "./protocol.ts"
import { deserializeDefect, Reply, sharedNowMillis, sharedNowNanos } from "./protocol.ts"

/**
 * Whether a call opens spans: tracing is on for the pool and the call, the
 * fiber's tracer is enabled, and a tracer other than Effect's built-in one
 * (which exports nothing) is installed. The untraced hot path therefore
 * opens no span and carries nothing to the worker.
 */
export const isTraced = (fiber: Fiber.Fiber<unknown, unknown>, pool: boolean, call: boolean | undefined): boolean =>
  pool &&
  call !== false &&
  fiber.cache.tracerEnabled &&
  (fiber.cache.tracer ?? Tracer.nativeTracer) !== Tracer.nativeTracer

/** What the job's command carries to the worker (see `Carried`); undefined when there is nothing. */
export const carriedBy = (
  fiber: Fiber.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined,
  timing: boolean
): Carried | undefined => {
  const level = fiber.cache.minimumLogLevel
  if (span?.sampled !== true && level === "Info" && !timing) return undefined
  const carried: { traceId?: string; spanId?: string; logLevel?: string; timing?: true } = {}
  if (span?.sampled === true) {
    carried.traceId = span.traceId
    carried.spanId = span.spanId
  }
  if (level !== "Info") carried.logLevel = level
  if (timing) carried.timing = true
  return carried
}

/** The worker's spans of one job, replayed on the caller's tracer, by their number in the worker. */
export class Replay {
  private readonly spans = new Map<number, Tracer.Span>()
  /** The fiber that called the pool: its loggers, annotations and tracer receive the worker's. */
  private readonly caller: Fiber.Fiber<unknown, unknown>
  /** The job's client span, when it is traced: the parent of the worker's spans. */
  private readonly client: Tracer.Span | undefined
  private readonly annotations: Record<string, unknown>

  constructor(
    caller: Fiber.Fiber<unknown, unknown>,
    client: Tracer.Span | undefined,
    annotations: Record<string, unknown>
  ) {
    this.caller = caller
    this.client = client
    this.annotations = annotations
  }

  receive(code: number, value: unknown): void {
    if (code === Reply.SpanStart) this.start(value as SpanStart)
    else if (code === Reply.SpanEnd) this.end(value as SpanEnd)
    else if (code === Reply.Log) this.log(value as LogRecord)
  }

  /** The job is over: a span the worker never ended (it crashed, or was stopped) ends now, interrupted. */
  finish(): void {
    if (this.spans.size === 0) return
    const now = this.caller.getRef(Clock.Clock).currentTimeNanosUnsafe()
    for (const span of this.spans.values()) span.end(now, Exit.interrupt())
    this.spans.clear()
  }

  private start([local, parent, name, kind, startTime]: SpanStart): void {
    const client = this.client
    if (client === undefined) return
    const tracer = this.caller.getRef(Tracer.Tracer)
    const span = tracer.span({
      name,
      parent: Option.some(this.spans.get(parent) ?? client),
      annotations: Context.empty(),
      links: [],
      startTime: this.local(startTime),
      kind: kind as Tracer.SpanKind,
      root: false,
      sampled: true
    })
    this.spans.set(local, span)
  }

  private end([local, endTime, [code, error], attributes, events]: SpanEnd): void {
    const span = this.spans.get(local)
    if (span === undefined) return
    this.spans.delete(local)
    for (const [key, value] of attributes) span.attribute(key, value)
    for (const [name, time, eventAttributes] of events) span.event(name, this.local(time), eventAttributes)
    const exit =
      code === Reply.Success
        ? Exit.void
        : code === Reply.Interrupted || error === undefined
          ? Exit.interrupt()
          : code === Reply.Failure
            ? Exit.fail(deserializeDefect(error))
            : Exit.die(deserializeDefect(error))
    span.end(this.local(endTime), exit)
  }

  /** A time on the clock all threads share (the worker sends its span times on it) on the caller's Effect clock. */
  private local(time: bigint): bigint {
    return time + (this.caller.getRef(Clock.Clock).currentTimeNanosUnsafe() - sharedNowNanos())
  }

  /**
   * A worker's log line, given to the caller's loggers as if the caller's
   * fiber had written it inside the worker's span, with the worker's time (on
   * the caller's clock) and annotations naming the task, the worker and the
   * worker's fiber.
   */
  private log([level, date, message, annotations, span, fiberId, cause]: LogRecord): void {
    const caller = this.caller
    if (LogLevel.isGreaterThan(caller.cache.minimumLogLevel, level as LogLevel.LogLevel)) return
    const parent = this.spans.get(span) ?? this.client
    let effect = Effect.withFiber((fiber) => {
      const options = {
        message,
        logLevel: level as LogLevel.LogLevel,
        cause: cause === undefined ? Cause.empty : Cause.die(deserializeDefect(cause)),
        fiber,
        date: new Date(date + (caller.getRef(Clock.Clock).currentTimeMillisUnsafe() - sharedNowMillis()))
      }
      for (const logger of fiber.getRef(References.CurrentLoggers)) logger.log(options)
      return Effect.void
    }).pipe(Effect.annotateLogs({ ...this.annotations, "strand.fiber": fiberId, ...annotations }))
    if (parent !== undefined) effect = Effect.withParentSpan(effect, parent)
    Effect.runSyncWith(caller.context)(effect)
  }
}
