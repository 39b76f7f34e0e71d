/**
 * I/O-bound work: fetch 3 URLs, then 5, one after another and concurrently.
 *
 * Python:
 *   urls = [...]
 *   for url in urls: requests.get(url)                      # one after another
 *   with ThreadPoolExecutor() as ex: list(ex.map(requests.get, urls))   # concurrently
 *
 * Waiting on the network needs no thread of its own: fibers wait concurrently on one
 * thread. The example starts a real HTTP server on loopback that answers each request
 * after a delay, since this machine has no internet.
 */

import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Console, Effect } from "effect"

const quick = process.argv.includes("--quick")
const delayMillis = quick ? 100 : 500

/** How many requests the server holds at once, and the most it has held since the last reset. */
const inFlight = { now: 0, most: 0 }

/** A real HTTP server on 127.0.0.1 that answers every request after `delayMillis`. */
const server = Effect.acquireRelease(
  Effect.callback<ReturnType<typeof createServer>>((resume) => {
    const s = createServer((request, response) => {
      inFlight.most = Math.max(inFlight.most, ++inFlight.now)
      setTimeout(() => {
        inFlight.now--
        response.writeHead(200, { "content-type": "text/plain" })
        response.end(`you asked for ${request.url}`)
      }, delayMillis)
    })
    s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
  }),
  (s) => Effect.callback<void>((resume) => void s.close(() => resume(Effect.void)))
)

const fetchStatus = (url: string) =>
  Effect.tryPromise(async () => {
    const response = await fetch(url)
    await response.text()
    return response.status
  })

/** The result, the time taken, and the most requests the server held at once meanwhile. */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    inFlight.most = 0
    const start = performance.now()
    const result = yield* effect
    return [result, performance.now() - start, inFlight.most] as const
  })

const program = Effect.scoped(
  Effect.gen(function* () {
    const { port } = (yield* server).address() as AddressInfo
    for (const count of [3, 5]) {
      const urls = Array.from({ length: count }, (_, i) => `http://127.0.0.1:${port}/page/${i + 1}`)
      const [sequential, seqMillis, seqMost] = yield* timed(Effect.forEach(urls, fetchStatus))
      const [concurrent, conMillis, conMost] = yield* timed(
        Effect.forEach(urls, fetchStatus, { concurrency: "unbounded" })
      )
      yield* Console.log(`${count} URLs, each answered after ${delayMillis} ms:`)
      yield* Console.log(
        `  one after another: status codes ${sequential.join(", ")} in ${seqMillis.toFixed(0)} ms ` +
          `(server held at most ${seqMost} at once)`
      )
      yield* Console.log(
        `  concurrently:      status codes ${concurrent.join(", ")} in ${conMillis.toFixed(0)} ms ` +
          `(server held at most ${conMost} at once)`
      )
      yield* Console.log(`  time saved: ${(seqMillis - conMillis).toFixed(0)} ms`)
    }
  })
)

Effect.runPromise(program)
