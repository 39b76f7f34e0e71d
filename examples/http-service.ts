/**
 * HTTP service: an Effect HTTP server that hands its CPU work to a pool of worker threads.
 *
 * Python:
 *   app = FastAPI(); pool = ProcessPoolExecutor()
 *   @app.get("/fib/{n}")
 *   async def fib_endpoint(n: int):
 *       return await asyncio.get_running_loop().run_in_executor(pool, fib, n)
 *
 * Endpoints (all GET):
 *   /fib/:n        fib(n) by naive recursion, on a worker (0 <= n <= 40)
 *   /hash/:text    SHA-256 applied 1,000 times, on a worker (?rounds=N to change)
 *   /spin/:ms      a synchronous loop of ms milliseconds that ignores interruption
 *   /ticks/:count  server-sent events, one per item of a worker's stream (a Task.stream)
 *   /stats         the pool's counters, as JSON
 *
 * What it shows:
 * - the pool is a Layer (`WorkerPool.layer`) that the routes use;
 * - a full queue answers 503 with Retry-After: the pool refuses at once (`onQueueFull: "fail"`);
 * - a client that closes its request stops the worker's task, even a synchronous loop;
 * - a stream's worker waits while a slow client reads (back-pressure), and an idle stream leaves
 *   its worker free for other requests;
 * - Ctrl-C (SIGINT) or SIGTERM drains: no new connections, every request in flight is answered,
 *   then the pool closes.
 *
 * Run: pnpm tsx examples/http-service.ts [--port 3000] (0 picks a free port)
 */
import { createHash } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { threadId } from "node:worker_threads"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Cause, Console, Effect, Exit, Layer, Schema, Stream } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"

// ---------------------------------------------------------------- the tasks

const Fib = Task.make("Fib", { payload: Schema.Int, success: Schema.Number })
const Hash = Task.make("Hash", {
  payload: Schema.Struct({ text: Schema.String, rounds: Schema.Int }),
  success: Schema.String
})
const Spin = Task.make("Spin", { payload: Schema.Int, success: Schema.Int })
const Ticks = Task.stream("Ticks", {
  payload: Schema.Int,
  success: Schema.Struct({ tick: Schema.Int, threadId: Schema.Int })
})

const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))

const hash = (text: string, rounds: number): string => {
  let digest = text
  for (let i = 0; i < rounds; i++) digest = createHash("sha256").update(digest).digest("hex")
  return digest
}

const spin = (millis: number): number => {
  const end = Date.now() + millis
  let n = 0
  while (Date.now() < end) n++
  return n
}

// ------------------------------------------------------------ the worker role

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(Fib, (n) => Effect.sync(() => fib(n))),
    WorkerRunner.handle(Hash, ({ text, rounds }) => Effect.sync(() => hash(text, rounds))),
    WorkerRunner.handle(Spin, (millis) => Effect.sync(() => spin(millis))),
    // One tick every 100 ms: the worker is idle between ticks, free for other tasks.
    WorkerRunner.handle(Ticks, (count) =>
      Stream.range(1, count).pipe(Stream.mapEffect((tick) => Effect.as(Effect.sleep(100), { tick, threadId })))
    )
  ])
}

// -------------------------------------------------------------- the main role

/** A request the service refuses: a 400 with the reason. */
class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }) {}

/** The whole number in path parameter `name`, within `[min, max]`. */
const intParam = (name: string, min: number, max: number) =>
  Effect.flatMap(HttpRouter.params, (params) => {
    const value = Number(params[name])
    return Number.isSafeInteger(value) && value >= min && value <= max
      ? Effect.succeed(value)
      : Effect.fail(new BadRequest({ message: `${name} must be a whole number from ${min} to ${max}` }))
  })

/** Turns every failure into an answer: 400 for bad input, 503 when the pool's queue is full. */
const answer = <E extends { readonly _tag: string; readonly message: string }, R>(
  effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.catch(effect, (error) => {
    switch (error._tag) {
      case "BadRequest":
        return Effect.succeed(HttpServerResponse.text(`${error.message}\n`, { status: 400 }))
      case "QueueFull":
        return Effect.succeed(
          HttpServerResponse.text("busy: too many requests are waiting for a worker; retry shortly\n", {
            status: 503,
            headers: { "retry-after": "1" }
          })
        )
      default:
        return Effect.succeed(HttpServerResponse.text(`${error._tag}: ${error.message}\n`, { status: 500 }))
    }
  })

const encoder = new TextEncoder()

const Routes = HttpRouter.use(
  Effect.fn(function* (router) {
    const pool = yield* WorkerPool.WorkerPool
    yield* router.add(
      "GET",
      "/fib/:n",
      answer(
        Effect.gen(function* () {
          const n = yield* intParam("n", 0, 40)
          return HttpServerResponse.text(`${yield* pool.run(Fib, n)}\n`)
        })
      )
    )
    yield* router.add(
      "GET",
      "/hash/:text",
      answer(
        Effect.gen(function* () {
          const { text } = yield* HttpRouter.params
          const request = yield* HttpServerRequest.HttpServerRequest
          const rounds = Number(new URL(request.url, "http://localhost").searchParams.get("rounds") ?? 1000)
          if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 1_000_000) {
            return yield* new BadRequest({ message: "rounds must be a whole number from 1 to 1000000" })
          }
          return HttpServerResponse.text(`${yield* pool.run(Hash, { text: text ?? "", rounds })}\n`)
        })
      )
    )
    yield* router.add(
      "GET",
      "/spin/:ms",
      answer(
        Effect.gen(function* () {
          const millis = yield* intParam("ms", 0, 600_000)
          return HttpServerResponse.text(`${yield* pool.run(Spin, millis)} turns\n`)
        })
      )
    )
    yield* router.add(
      "GET",
      "/ticks/:count",
      answer(
        Effect.gen(function* () {
          const count = yield* intParam("count", 1, 10_000)
          const events = pool
            .stream(Ticks, count, { bufferSize: 16 })
            .pipe(Stream.map((tick) => encoder.encode(`data: ${JSON.stringify(tick)}\n\n`)))
          return HttpServerResponse.stream(events, {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-cache" }
          })
        })
      )
    )
    yield* router.add(
      "GET",
      "/stats",
      Effect.map(pool.stats, (stats) => HttpServerResponse.jsonUnsafe(stats))
    )
  })
)

const portFlag = process.argv.indexOf("--port")
const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : 3000

/** Says where the service listens once it does, and that it stopped cleanly once it has. */
const Announce = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    const address = server.address as unknown as AddressInfo & { readonly port: number }
    yield* Console.log(`http-service listening on http://127.0.0.1:${address.port}`)
    yield* Effect.addFinalizer(() => Console.log("http-service draining: no new connections"))
  })
)

const Pool = WorkerPool.layer({ module: import.meta.url, maxQueue: 64, onQueueFull: "fail" })

const Stopped = Layer.effectDiscard(
  Effect.addFinalizer((exit) =>
    Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)
      ? Console.log("http-service stopped: every request answered, the pool closed")
      : Effect.void
  )
)

const Server = HttpRouter.serve(Routes, { disableListenLog: true, disableLogger: true }).pipe(
  Layer.provideMerge(Announce),
  Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1", gracefulShutdownTimeout: "30 seconds" })),
  Layer.provide(Pool),
  Layer.provide(Stopped)
)

if (!WorkerRunner.isWorker) {
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a whole number from 0 to 65535, got ${process.argv[portFlag + 1]}`)
    process.exit(2)
  }
  NodeRuntime.runMain(
    Layer.launch(Server).pipe(
      // The commonest first mistake: another program already listens on the port.
      Effect.catchTag("ServeError", (error) =>
        Effect.andThen(
          Console.error(
            `http-service could not listen on 127.0.0.1:${port} (${String((error.cause as Error | undefined)?.message ?? error)}). ` +
              "Pass --port with a free port, or --port 0 to take any free one."
          ),
          Effect.sync(() => process.exit(1))
        )
      )
    )
  )
}
