// Seeing across the thread boundary: worker spans in the caller's tracer, worker logs in the
// caller's loggers, and the pool's timeline. Real worker threads; nothing configured in the worker.
import { assert, describe, it } from "@effect/vitest"
import { type WorkerPool as Pool, Timeline, WorkerPool } from "@strand/platform-node"
import { Clock, Effect, Exit, Logger, type LogLevel, Option, References, Stream, Tracer } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { ThreadId, Traced, TracedCrash, TracedLater, TracedTicks } from "./fixtures/tasks.ts"

const module = new URL("./fixtures/traced-worker.ts", import.meta.url)

/** A tracer that keeps every span it makes, as Effect's own spans. */
const recording = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const parentOf = (span: Tracer.NativeSpan): Tracer.AnySpan | undefined => Option.getOrUndefined(span.parent)
const named = (spans: ReadonlyArray<Tracer.NativeSpan>, name: string, kind?: Tracer.SpanKind) =>
  spans.filter((span) => span.name === name && (kind === undefined || span.kind === kind))

/** What a logger saw of one log call. */
interface Seen {
  readonly level: LogLevel.LogLevel
  readonly message: ReadonlyArray<unknown>
  readonly annotations: Record<string, unknown>
  readonly span: Tracer.AnySpan | undefined
  readonly date: Date
}

const capturing = (options?: { readonly mergeWithExisting: boolean }) => {
  const seen: Array<Seen> = []
  const logger = Logger.make((options) => {
    seen.push({
      level: options.logLevel,
      message: options.message as ReadonlyArray<unknown>,
      annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) },
      span: options.fiber.cache.span,
      date: options.date
    })
  })
  return { seen, layer: Logger.layer([logger], options) }
}

const withPool = <A, E>(
  body: (pool: Pool.Service) => Effect.Effect<A, E>,
  options?: Partial<Pool.Options>
): Effect.Effect<A, E | Pool.WorkerSpawnError | Pool.InvalidPoolOptions> =>
  Effect.scoped(Effect.flatMap(WorkerPool.make({ module, size: 2, ...options }), body))

describe("spans across the thread boundary", () => {
  it.live("a run's worker span is a child of its client span, itself a child of the caller's span", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      const result = yield* withPool((pool) => pool.run(Traced, 3).pipe(Effect.withSpan("request")))
      assert.strictEqual(result, 6)
      const [request] = named(spans, "request")
      const [client] = named(spans, "Traced", "client")
      const [server] = named(spans, "Traced", "server")
      const [inner] = named(spans, "inner")
      assert.isDefined(request)
      assert.isDefined(client)
      assert.isDefined(server)
      assert.isDefined(inner)
      assert.strictEqual(parentOf(client!), request)
      assert.strictEqual(parentOf(server!), client)
      assert.strictEqual(parentOf(inner!), server)
      for (const span of [client!, server!, inner!]) {
        assert.strictEqual(span.traceId, request!.traceId)
        assert.strictEqual(span.status._tag, "Ended")
      }
      // The client span says where the task ran; the worker's span agrees on the thread.
      assert.strictEqual(client!.attributes.get("strand.task"), "Traced")
      assert.isNumber(client!.attributes.get("strand.worker.id"))
      assert.isAtLeast(client!.attributes.get("strand.queued_ms") as number, 0)
      assert.strictEqual(server!.attributes.get("strand.thread.id"), client!.attributes.get("strand.thread.id"))
      assert.strictEqual(inner!.attributes.get("n"), 3)
      // The worker's clock is the caller's: the worker span lies within the client span.
      assert.isTrue(server!.startTime >= client!.startTime)
      const end = (span: Tracer.NativeSpan) => (span.status as { endTime: bigint }).endTime
      assert.isTrue(end(server!) <= end(client!))
    }).pipe(Effect.withTracer(tracer))
  })

  it.live("map: one client span per chunk under the caller's span; each worker span under its chunk's", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      const results = yield* withPool((pool) =>
        pool.map(Traced, [1, 2, 3, 4, 5, 6], { chunkSize: 2 }).pipe(Effect.withSpan("batch"))
      )
      assert.deepStrictEqual(results, [2, 4, 6, 8, 10, 12])
      const [batch] = named(spans, "batch")
      const clients = named(spans, "Traced", "client")
      const servers = named(spans, "Traced", "server")
      assert.strictEqual(clients.length, 3)
      assert.strictEqual(servers.length, 3)
      for (const client of clients) {
        assert.strictEqual(parentOf(client), batch)
        assert.strictEqual(client.attributes.get("strand.chunk.size"), 2)
      }
      for (const server of servers) assert.include(clients, parentOf(server))
      assert.strictEqual(new Set(servers.map(parentOf)).size, 3)
      assert.strictEqual(named(spans, "inner").length, 6)
    }).pipe(Effect.withTracer(tracer))
  })

  it.live("a stream's client span lasts the stream; its worker span is the client span's child", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      // When the last item reached the caller, on the caller's clock.
      let lastItemAt = 0n
      const items = yield* withPool((pool) =>
        Stream.runCollect(
          pool
            .stream(TracedTicks, 5)
            .pipe(Stream.tap(() => Effect.map(Clock.currentTimeNanos, (now) => (lastItemAt = now))))
        )
      )
      assert.deepStrictEqual(items, [1, 2, 3, 4, 5])
      const [client] = named(spans, "TracedTicks", "client")
      const [server] = named(spans, "TracedTicks", "server")
      assert.strictEqual(parentOf(server!), client)
      assert.strictEqual(client!.status._tag, "Ended")
      assert.strictEqual(server!.status._tag, "Ended")
      const end = (span: Tracer.NativeSpan) => (span.status as { endTime: bigint }).endTime
      assert.isTrue(end(client!) >= lastItemAt, "the client span ends once the stream's last item has arrived")
      assert.isTrue(server!.startTime >= client!.startTime && end(server!) <= end(client!), "within the client span")
    }).pipe(Effect.withTracer(tracer))
  })

  it.live(
    "worker span and log times land on the caller's clock, even from a worker whose Effect clock is an hour ahead",
    () => {
      const { spans, tracer } = recording()
      const logs = capturing()
      return Effect.gen(function* () {
        const skewed = new URL("./fixtures/skewed-clock-worker.ts", import.meta.url)
        const before = yield* Clock.currentTimeNanos
        const result = yield* Effect.scoped(
          Effect.flatMap(WorkerPool.make({ module: skewed, size: 1 }), (pool) => pool.run(Traced, 4))
        )
        const after = yield* Clock.currentTimeNanos
        assert.strictEqual(result, 8)
        const [client] = named(spans, "Traced", "client")
        const [server] = named(spans, "Traced", "server")
        const [inner] = named(spans, "inner")
        const end = (span: Tracer.NativeSpan) => (span.status as { endTime: bigint }).endTime
        for (const span of [server!, inner!]) {
          assert.isTrue(
            span.startTime >= client!.startTime && end(span) <= end(client!),
            `${span.name} within the client span`
          )
        }
        assert.isTrue(client!.startTime >= before && end(client!) <= after)
        const [line] = logs.seen.filter((seen) => seen.message[0] === "skewed")
        // Log dates are whole milliseconds.
        assert.isAtLeast(line!.date.getTime(), Number(before / 1_000_000n) - 1)
        assert.isAtMost(line!.date.getTime(), Number(after / 1_000_000n) + 1)
      }).pipe(Effect.withTracer(tracer), Effect.provide(logs.layer))
    }
  )

  it.live("a typed failure ends the worker span as a failure with the error's message", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      const exit = yield* Effect.exit(withPool((pool) => pool.run(Traced, 101)))
      assert.isTrue(Exit.isFailure(exit))
      const [server] = named(spans, "Traced", "server")
      const status = server!.status as { _tag: "Ended"; exit: Exit.Exit<unknown, unknown> }
      assert.strictEqual(status._tag, "Ended")
      assert.isTrue(Exit.isFailure(status.exit))
    }).pipe(Effect.withTracer(tracer))
  })

  it.live("a worker that dies inside a span: its spans end at once, interrupted, and the task fails", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      const exit = yield* Effect.exit(withPool((pool) => pool.run(TracedCrash, undefined)))
      assert.isTrue(Exit.isFailure(exit))
      const [doomed] = named(spans, "doomed")
      assert.isDefined(doomed, "the span opened before the crash reached the caller")
      for (const span of spans) assert.strictEqual(span.status._tag, "Ended", `${span.name} ended`)
      assert.isTrue(Exit.hasInterrupts((doomed!.status as { exit: Exit.Exit<unknown, unknown> }).exit))
    }).pipe(Effect.withTracer(tracer))
  })

  it.live("tracing: false, on the pool or on the call, opens no span; an unsampled caller sends no context", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      yield* withPool((pool) => pool.run(Traced, 1), { tracing: false })
      assert.deepStrictEqual(
        spans.map((span) => span.name),
        [],
        "no span from the pool, none from the worker"
      )
      yield* withPool((pool) =>
        Effect.gen(function* () {
          yield* pool.run(Traced, 1, { tracing: false })
          yield* pool.map(Traced, [1, 2], { tracing: false })
        })
      )
      assert.strictEqual(spans.length, 0)
      // An unsampled caller: the client span exists, unsampled, and the worker opens no span for it.
      yield* withPool((pool) => pool.run(Traced, 1).pipe(Effect.withSpan("quiet", { sampled: false })))
      assert.deepStrictEqual(
        spans.map((span) => [span.name, span.kind, span.sampled]),
        [
          ["quiet", "internal", false],
          ["Traced", "client", false]
        ]
      )
    }).pipe(Effect.withTracer(tracer))
  })

  it.live("with Effect's built-in tracer (no tracer installed), the pool opens no span at all", () =>
    Effect.gen(function* () {
      // The built-in tracer exports nothing, so a span would be pure cost. The caller's own
      // span is there; the task's handler sees no parent from the caller.
      const logs = capturing()
      yield* withPool((pool) => pool.run(Traced, 2).pipe(Effect.withSpan("request"))).pipe(Effect.provide(logs.layer))
      const first = logs.seen.find((seen) => seen.message[0] === "working on")
      assert.isDefined(first)
      // Its log lines carry the caller's span: the one the call was made in.
      assert.strictEqual((first!.span as Tracer.Span | undefined)?.name, "request")
    })
  )
})

describe("spans and logs across a process boundary", () => {
  it.live('under isolation: "process", the same spans and lines arrive, naming the worker process', () => {
    const { spans, tracer } = recording()
    const logs = capturing({ mergeWithExisting: true })
    return Effect.gen(function* () {
      const pids = yield* withPool(
        (pool) =>
          Effect.andThen(
            pool.run(Traced, 5).pipe(Effect.withSpan("request")),
            pool.stats.pipe(Effect.map((s) => s.workers.map((w) => w.pid)))
          ),
        { isolation: "process" }
      )
      const [request] = named(spans, "request")
      const [client] = named(spans, "Traced", "client")
      const [server] = named(spans, "Traced", "server")
      assert.strictEqual(parentOf(client!), request)
      assert.strictEqual(parentOf(server!), client)
      assert.strictEqual(parentOf(named(spans, "inner")[0]!), server)
      assert.include(pids, client!.attributes.get("strand.process.id"))
      const working = logs.seen.find((seen) => seen.message[0] === "working on")
      assert.strictEqual(working!.span, server)
      assert.include(pids, working!.annotations["strand.process"])
      // A worker process that dies inside a span: its spans end, interrupted.
      const exit = yield* Effect.exit(withPool((pool) => pool.run(TracedCrash, undefined), { isolation: "process" }))
      assert.isTrue(Exit.isFailure(exit))
      const [doomed] = named(spans, "doomed")
      assert.isTrue(Exit.hasInterrupts((doomed!.status as { exit: Exit.Exit<unknown, unknown> }).exit))
    }).pipe(Effect.withTracer(tracer), Effect.provide(logs.layer))
  })
})

describe("logs across the thread boundary", () => {
  it.live("a handler's logs reach the caller's loggers with level, message, its annotations and the task's", () => {
    const logs = capturing()
    return Effect.gen(function* () {
      const before = Date.now()
      const threads = yield* withPool((pool) =>
        Effect.andThen(pool.run(Traced, 7), pool.stats.pipe(Effect.map((s) => s.workers.map((w) => w.threadId))))
      )
      const lines = logs.seen.filter((seen) => seen.annotations["strand.task"] === "Traced")
      assert.deepStrictEqual(
        lines.map((seen) => [seen.level, ...seen.message]),
        [
          ["Info", "working on", 7],
          ["Warn", "inside the inner span"]
        ],
        "Debug stays below the caller's minimum level (Info)"
      )
      for (const seen of lines) {
        assert.strictEqual(seen.annotations.request, "r7", "the handler's own annotations cross")
        assert.isNumber(seen.annotations["strand.worker"])
        assert.include(threads, seen.annotations["strand.thread"])
        assert.isNumber(seen.annotations["strand.fiber"])
        // The worker's time, not the time the line reached the caller.
        assert.isAtLeast(seen.date.getTime(), before - 1)
        assert.isAtMost(seen.date.getTime(), Date.now())
      }
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("a traced handler's log lines carry the worker span they were written in", () => {
    const { spans, tracer } = recording()
    // Beside Effect's default loggers, whose tracer logger makes each line an event of its span.
    const logs = capturing({ mergeWithExisting: true })
    return Effect.gen(function* () {
      yield* withPool((pool) => pool.run(Traced, 4).pipe(Effect.withSpan("request")))
      const working = logs.seen.find((seen) => seen.message[0] === "working on")
      const inside = logs.seen.find((seen) => seen.message[0] === "inside the inner span")
      assert.strictEqual(working!.span, named(spans, "Traced", "server")[0])
      assert.strictEqual(inside!.span, named(spans, "inner")[0])
      // Effect's tracer logger made each line an event of its span, once.
      const [inner] = named(spans, "inner")
      assert.deepStrictEqual(
        inner!.events.map(([name]) => name),
        ["inside the inner span"]
      )
    }).pipe(Effect.withTracer(tracer), Effect.provide(logs.layer))
  })

  it.live("the caller's minimum log level reaches the worker", () => {
    const logs = capturing()
    return Effect.gen(function* () {
      yield* withPool((pool) => pool.run(Traced, 5)).pipe(Effect.provideService(References.MinimumLogLevel, "Debug"))
      assert.deepStrictEqual(
        logs.seen.filter((seen) => seen.level === "Debug").map((seen) => seen.message),
        [["a detail of", 5]]
      )
      // And a stricter level holds back what it filters out.
      logs.seen.length = 0
      yield* withPool((pool) => pool.run(Traced, 5)).pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))
      assert.deepStrictEqual(
        logs.seen.map((seen) => seen.level),
        ["Warn"]
      )
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("a stream's logs arrive, one per item", () => {
    const logs = capturing()
    return Effect.gen(function* () {
      yield* withPool((pool) => Stream.runDrain(pool.stream(TracedTicks, 4)))
      assert.deepStrictEqual(
        logs.seen.map((seen) => seen.message),
        [
          ["tick", 1],
          ["tick", 2],
          ["tick", 3],
          ["tick", 4]
        ]
      )
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("a line logged after its task ended reaches the loggers of the fiber that made the pool", () => {
    const logs = capturing()
    return Effect.gen(function* () {
      yield* withPool((pool) =>
        Effect.gen(function* () {
          yield* pool.run(TracedLater, undefined)
          // Polls until the line arrives (a real thread, so real time; generous for a busy machine).
          for (let i = 0; i < 1000 && logs.seen.length === 0; i++) yield* Effect.sleep(10)
        })
      )
      assert.deepStrictEqual(
        logs.seen.map((seen) => seen.message),
        [["after the task"]]
      )
      assert.isNumber(logs.seen[0]!.annotations["strand.worker"])
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("a JSON logger on the main thread prints the workers' lines as JSON", () => {
    const lines: Array<string> = []
    const json = Logger.map(Logger.formatJson, (line) => {
      lines.push(line)
    })
    return Effect.gen(function* () {
      yield* withPool((pool) => pool.run(Traced, 9))
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, any>)
      const working = parsed.find((entry) => JSON.stringify(entry.message).includes("working on"))
      assert.isDefined(working, lines.join("\n"))
      assert.strictEqual(working!.level, "INFO")
      assert.deepStrictEqual(working!.message, ["working on", 9])
      assert.strictEqual(working!.annotations["strand.task"], "Traced")
      assert.strictEqual(working!.annotations.request, "r9")
    }).pipe(Effect.provide(Logger.layer([json])))
  })
})

describe("timeline", () => {
  it.live("records every task once, on the lane of the thread that ran it, with start before end", () =>
    Effect.gen(function* () {
      const timeline = Timeline.make()
      const threads = yield* withPool(
        (pool) =>
          Effect.gen(function* () {
            const ran = yield* pool.map(ThreadId, Array.from({ length: 12 }), { chunkSize: 1 })
            yield* Effect.exit(pool.run(Traced, 101))
            yield* Effect.exit(pool.run(TracedCrash, undefined))
            return ran
          }),
        { timeline }
      )
      const entries = timeline.entries
      assert.strictEqual(entries.length, 14)
      const lanes = (list: ReadonlyArray<number>) => {
        const counts = new Map<number, number>()
        for (const thread of list) counts.set(thread, (counts.get(thread) ?? 0) + 1)
        return counts
      }
      assert.deepStrictEqual(
        lanes(entries.filter((e) => e.task === "ThreadId").map((e) => e.threadId)),
        lanes(threads),
        "each lane holds the tasks its thread ran"
      )
      for (const entry of entries) {
        assert.isTrue(entry.queuedAt <= entry.startedAt + 1, "queued before it started")
        assert.isTrue(entry.startedAt <= entry.endedAt, "started before it ended")
      }
      assert.deepStrictEqual(
        entries.map((e) => e.outcome).sort(),
        [...Array.from({ length: 12 }, () => "success"), "crashed", "failure"].sort()
      )

      const trace = Timeline.toTraceEvents(timeline)
      const tasks = trace.traceEvents.filter((event) => event.ph === "X")
      const tracks = trace.traceEvents.filter((event) => event.ph === "M")
      assert.strictEqual(tasks.length, 14)
      assert.deepStrictEqual(
        new Set(tracks.map((event) => event.tid)),
        new Set(entries.map((e) => e.threadId)),
        "one named track per thread"
      )
      for (const event of tasks) {
        assert.isAtLeast(event.ts as number, 0)
        assert.isAtLeast(event.dur as number, 0)
      }
      // The exported JSON survives a round trip as text (what Perfetto reads).
      assert.deepStrictEqual(JSON.parse(JSON.stringify(trace)), trace)

      const html = Timeline.toHtml(timeline, { title: "Test <run>" })
      assert.strictEqual(html.match(/<rect class="task"/g)?.length, 14)
      assert.include(html, "Test &#60;run&#62;")
      assert.include(html, 'data-outcome="crashed"')
    })
  )

  it("refuses a bad maxEntries, and counts what it drops past it", () => {
    assert.throws(() => Timeline.make({ maxEntries: 0 }), /maxEntries/)
    const timeline = Timeline.make({ maxEntries: 1 })
    const entry = {
      task: "T",
      worker: 1,
      threadId: 1,
      queuedAt: 0,
      startedAt: 1,
      endedAt: 2,
      outcome: "success" as const
    }
    timeline.record(entry)
    timeline.record(entry)
    assert.strictEqual(timeline.entries.length, 1)
    assert.strictEqual(timeline.dropped, 1)
  })

  it.live("a pool refuses a timeline option that is not one", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(WorkerPool.checkOptions({ module, timeline: [] as never }))
      assert.isTrue(Exit.isFailure(exit))
      const tracing = yield* Effect.exit(WorkerPool.checkOptions({ module, tracing: "yes" as never }))
      assert.isTrue(Exit.isFailure(tracing))
    })
  )
})

describe("metrics", () => {
  it.live("queue-wait and run-time histograms per task name export to Prometheus' text format", () =>
    Effect.gen(function* () {
      yield* withPool((pool) => pool.map(Traced, [1, 2, 3]))
      const text = yield* PrometheusMetrics.format()
      assert.match(text, /strand_pool_run_time_ms_count\{task="Traced"\} [1-9]/)
      assert.match(text, /strand_pool_wait_time_ms_count\{task="Traced"\} [1-9]/)
      assert.match(text, /strand_pool_tasks_succeeded(_total)? [1-9]/)
    })
  )
})
