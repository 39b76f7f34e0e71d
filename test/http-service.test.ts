// examples/http-service.ts, tested over real HTTP: the real server as its own process, on an
// ephemeral port, driven by real requests. No assertion depends on a clock.
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("..", import.meta.url))

interface Service {
  readonly child: ChildProcess
  readonly base: string
  /** Everything the process has printed so far. */
  readonly output: () => string
  /** Resolves with the signal or exit code once the process has gone. */
  readonly exited: Promise<string>
}

/** Runs the example with Node and tsx as one process, so that signals reach it directly. */
const launch = (port: string) => {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/http-service.ts", "--port", port], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (chunk) => {
    output += chunk
  })
  child.stderr!.on("data", (chunk) => {
    output += chunk
  })
  const exited = new Promise<string>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? `code ${code}`)))
  return { child, output: () => output, exited }
}

/** Starts the example on a free port and waits until it listens. */
const start = async (): Promise<Service> => {
  const { child, output, exited } = launch("0")
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", () => {
      const m = output().match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
      if (m !== null) resolve(m[1]!)
    })
    void exited.then((how) => reject(new Error(`the service exited (${how}) before listening:\n${output()}`)))
  })
  return { child, base: `http://127.0.0.1:${port}`, output, exited }
}

interface Stats {
  readonly inflight: number
  readonly cancelled: number
  readonly refused: number
  readonly succeeded: number
}

const stats = async (service: Service): Promise<Stats> =>
  (await fetch(`${service.base}/stats`)).json() as Promise<Stats>

/** Asks `/stats` until `done` holds (a few ms apart): the wait for something the server does on its own. */
const until = async (service: Service, done: (stats: Stats) => boolean): Promise<Stats> => {
  for (let i = 0; i < 2_000; i++) {
    const now = await stats(service)
    if (done(now)) return now
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`the pool never reached the state waited for: ${JSON.stringify(await stats(service))}`)
}

describe("examples/http-service", () => {
  it("serves CPU endpoints, server-sent events from a worker's stream, 400 and 503, and stops tasks of closed requests", async () => {
    const service = await start()
    try {
      const fib = await fetch(`${service.base}/fib/20`)
      assert.strictEqual(fib.status, 200)
      assert.strictEqual(await fib.text(), "6765\n")

      const bad = await fetch(`${service.base}/fib/99`)
      assert.strictEqual(bad.status, 400)
      assert.include(await bad.text(), "n must be a whole number from 0 to 40")

      const hashed = await fetch(`${service.base}/hash/abc?rounds=1`)
      assert.strictEqual(await hashed.text(), `${createHash("sha256").update("abc").digest("hex")}\n`)

      const ticks = await fetch(`${service.base}/ticks/3`)
      assert.strictEqual(ticks.headers.get("content-type"), "text/event-stream")
      const events = (await ticks.text()).split("\n\n").filter((event) => event.length > 0)
      assert.deepStrictEqual(
        events.map((event) => JSON.parse(event.replace(/^data: /, "")).tick),
        [1, 2, 3]
      )

      // 120 requests at once against a queue of 64: some are refused with 503, and counted.
      const before = await stats(service)
      const statuses = await Promise.all(
        Array.from({ length: 120 }, () =>
          fetch(`${service.base}/spin/50`).then(async (response) => {
            await response.arrayBuffer()
            return { status: response.status, retry: response.headers.get("retry-after") }
          })
        )
      )
      const refused = statuses.filter((s) => s.status === 503)
      assert.isAtLeast(refused.length, 1)
      assert.strictEqual(refused.length + statuses.filter((s) => s.status === 200).length, 120)
      assert.isTrue(refused.every((s) => s.retry === "1"))
      assert.strictEqual((await stats(service)).refused - before.refused, refused.length)

      // A closed request stops its worker's task, even a synchronous loop of ten minutes.
      const cancelledBefore = (await stats(service)).cancelled
      const abort = new AbortController()
      const closed = fetch(`${service.base}/spin/600000`, { signal: abort.signal }).catch((error) => error.name)
      await until(service, (s) => s.inflight === 1)
      abort.abort()
      assert.strictEqual(await closed, "AbortError")
      const after = await until(service, (s) => s.cancelled > cancelledBefore && s.inflight === 0)
      assert.strictEqual(after.cancelled, cancelledBefore + 1)
      assert.strictEqual(await (await fetch(`${service.base}/fib/10`)).text(), "55\n")

      // A second service on the same port says what to do, and exits 1 without a stack trace.
      const port = service.base.split(":").at(-1)!
      const second = launch(port)
      const how = await second.exited
      assert.strictEqual(how, "code 1")
      assert.include(second.output(), `could not listen on 127.0.0.1:${port}`)
      assert.include(second.output(), "Pass --port with a free port, or --port 0")
      assert.notInclude(second.output(), "    at ")
    } finally {
      service.child.kill("SIGINT")
      // Effect's runMain ends an interrupted program with code 130, after its finalizers.
      assert.strictEqual(await service.exited, "code 130")
    }
    assert.include(service.output(), "http-service stopped: every request answered, the pool closed")
  }, 90_000)

  it("SIGTERM drains: the request in flight is answered, new connections are refused, then it stops", async () => {
    const service = await start()
    const inflight = fetch(`${service.base}/spin/1500`).then(async (r) => ({ status: r.status, body: await r.text() }))
    await until(service, (s) => s.inflight === 1)
    service.child.kill("SIGTERM")
    // The listener closes first; the request already in flight is still answered.
    for (let i = 0; i < 2_000 && !service.output().includes("draining"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const refused = await fetch(`${service.base}/fib/3`).then(
      () => "answered",
      (error) => error.cause?.code ?? error.name
    )
    assert.strictEqual(refused, "ECONNREFUSED")
    const answered = await inflight
    assert.strictEqual(answered.status, 200)
    assert.match(answered.body, /^\d+ turns\n$/)
    assert.strictEqual(await service.exited, "code 130")
    assert.include(service.output(), "http-service stopped: every request answered, the pool closed")
  }, 90_000)
})
