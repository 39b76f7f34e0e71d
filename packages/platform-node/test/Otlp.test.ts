// Export to a real tool: Effect's own OTLP exporters, configured on the main thread only, send the
// workers' spans and logs to an OTLP/HTTP receiver on 127.0.0.1, as one trace.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp } from "effect/observability"
import { Traced } from "./fixtures/tasks.ts"

const module = new URL("./fixtures/traced-worker.ts", import.meta.url)

/** A small OTLP/HTTP receiver: keeps every JSON body posted to it, by path. */
const receiver = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly bodies: Map<string, Array<any>>; readonly server: Server }>(
    (resume) => {
      const bodies = new Map<string, Array<any>>()
      const server = createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const list = bodies.get(request.url ?? "") ?? []
          list.push(JSON.parse(Buffer.concat(chunks).toString("utf8")))
          bodies.set(request.url ?? "", list)
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, bodies, server }))
      })
    }
  ),
  ({ server }) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
)

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
}

const spansOf = (bodies: ReadonlyArray<any>): Array<OtlpSpan> =>
  bodies.flatMap((body) =>
    body.resourceSpans.flatMap((resource: any) => resource.scopeSpans.flatMap((scope: any) => scope.spans))
  )

const logsOf = (bodies: ReadonlyArray<any>): Array<any> =>
  bodies.flatMap((body) =>
    body.resourceLogs.flatMap((resource: any) => resource.scopeLogs.flatMap((scope: any) => scope.logRecords))
  )

describe("OTLP export", () => {
  it.live("a traced map arrives as one trace: every worker span a child of its caller's span", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, bodies } = yield* receiver
        const telemetry = Otlp.layerJson({ baseUrl: url, resource: { serviceName: "strand-test" } }).pipe(
          Layer.provide(FetchHttpClient.layer)
        )
        // The exporters flush when their Layer's scope closes, at the end of this program.
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pool = yield* WorkerPool.make({ module, size: 2 })
            const results = yield* pool.map(Traced, [1, 2, 3, 4, 5, 6], { chunkSize: 2 }).pipe(Effect.withSpan("batch"))
            assert.deepStrictEqual(results, [2, 4, 6, 8, 10, 12])
          })
        ).pipe(Effect.provide(telemetry))

        const spans = spansOf(bodies.get("/v1/traces") ?? [])
        const byName = (name: string) => spans.filter((span) => span.name === name)
        const [batch] = byName("batch")
        assert.isDefined(batch, `spans received: ${spans.map((s) => s.name).join(", ")}`)
        assert.deepStrictEqual(new Set(spans.map((span) => span.traceId)), new Set([batch!.traceId]), "one trace")
        // OTLP span kinds: 2 server, 3 client.
        const clients = byName("Traced").filter((span) => span.kind === 3)
        const servers = byName("Traced").filter((span) => span.kind === 2)
        assert.strictEqual(clients.length, 3)
        assert.strictEqual(servers.length, 3)
        for (const client of clients) assert.strictEqual(client.parentSpanId, batch!.spanId)
        const clientIds = new Set(clients.map((span) => span.spanId))
        for (const server of servers)
          assert.isTrue(clientIds.has(server.parentSpanId!), "a worker span under a client span")
        const serverIds = new Set(servers.map((span) => span.spanId))
        const inner = byName("inner")
        assert.strictEqual(inner.length, 6)
        for (const span of inner)
          assert.isTrue(serverIds.has(span.parentSpanId!), "the handler's span under its worker span")

        // The workers' log lines went out through the same exporters, inside their spans.
        const logs = logsOf(bodies.get("/v1/logs") ?? [])
        const working = logs.filter((log) => JSON.stringify(log.body).includes("working on"))
        assert.strictEqual(working.length, 6)
        for (const log of working) {
          assert.strictEqual(log.traceId, batch!.traceId)
          assert.isTrue(serverIds.has(log.spanId), "a worker log line carries its worker span")
          const task = log.attributes.find((attribute: any) => attribute.key === "strand.task")
          assert.strictEqual(task?.value?.stringValue, "Traced")
        }
      })
    )
  )
})
