/**
 * `pnpm demo`: a guided tour of Strand that runs every example in order.
 *
 * Each example runs as its own process (as `pnpm tsx examples/<name>.ts` would),
 * under a heading, with a progress indicator while it works. The tour ends with a
 * table of what each example shows and the figure it measured.
 *
 * `--quick` shortens the sleeps and the CPU work, for the tests.
 */

import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Console, Effect, Fiber, Schedule } from "effect"

const quick = process.argv.includes("--quick")

interface Stop {
  readonly file: string
  readonly title: string
  readonly shows: string
  /** Picks the figure worth reporting out of the example's output. */
  readonly figure: (output: string) => string
}

const match = (pattern: RegExp, format: (m: RegExpMatchArray) => string) => (output: string) => {
  const m = output.match(pattern)
  return m === null ? "(not found)" : format(m)
}

const tour: ReadonlyArray<Stop> = [
  {
    file: "threads",
    title: "Threads: start and join",
    shows: "fibers are threads: forkChild, Fiber.join",
    figure: match(/Square of 10 is (\d+)/, (m) => `square of 10 = ${m[1]}`)
  },
  {
    file: "thread-pool",
    title: "Thread pool: an Executor",
    shows: "submit, futures, map in input order",
    figure: match(/map: (.*)/, (m) => `map -> ${m[1]}`)
  },
  {
    file: "workers",
    title: "Workers: five sleepers, joined",
    shows: "waiting costs no thread",
    figure: match(/Elapsed: ([\d.]+) s for five (.*) sleeps/, (m) => `5 x ${m[2]} in ${m[1]} s`)
  },
  {
    file: "io-bound",
    title: "I/O-bound: fetching from a local HTTP server",
    shows: "I/O-bound work goes to fibers",
    figure: (output) => {
      const saved = [...output.matchAll(/time saved: (-?\d+) ms/g)].map((m) => `${m[1]} ms`)
      return saved.length === 0 ? "(not found)" : `time saved: ${saved.join(", ")}`
    }
  },
  {
    file: "race-condition",
    title: "Race condition: a lost update, then a Lock",
    shows: "Lock.withLock makes read-yield-write atomic",
    figure: match(/Without a lock: counter = (\d+)[\s\S]*With a Lock: +counter = (\d+)/, (m) => `${m[1]} -> ${m[2]}`)
  },
  {
    file: "process-pool",
    title: "Process pool: Pool(4).map",
    shows: "WorkerPool on real worker threads",
    figure: match(/(\[0, 2[^\]]*\])/, (m) => m[1]!)
  },
  {
    file: "isolation",
    title: "Process isolation: crashes that no thread survives",
    shows: 'isolation: "process" contains a segfault and a heap blow-up',
    figure: match(
      /contained (\d+) crashes; the pool is back to (\d+) worker processes/,
      (m) => `${m[1]} crashes contained, ${m[2]} workers serving`
    )
  },
  {
    file: "shared-counter",
    title: "Shared memory: one counter, four worker threads",
    shows: "SharedValue, SharedLock; a holder's death is OwnerDied, not a hang",
    figure: match(
      /Without a lock: +counter = (\d+)[\s\S]*With a SharedLock: counter = (\d+)[\s\S]*The next withLock: (\w+)/,
      (m) => `${m[1]} -> ${m[2]}; dead holder: ${m[3]}`
    )
  },
  {
    file: "data-parallel",
    title: "Data parallel: a sum and a histogram over a shared array",
    shows: "SharedArray: a map over ranges moves no data",
    figure: match(
      /speedup: ([\d.]+)x\)[\s\S]*the shared map is ([\d.]+)x faster/,
      (m) => `${m[1]}x sequential, ${m[2]}x the copying map`
    )
  },
  {
    file: "cpu-bound",
    title: "CPU-bound: one core against all of them",
    shows: "CPU-bound work goes to the WorkerPool",
    figure: match(/speedup: ([\d.]+)x on (\d+) cores/, (m) => `${m[1]}x on ${m[2]} cores`)
  },
  {
    file: "cluster",
    title: "Scaling out: the same map on a cluster of runner processes",
    shows: "ClusterPool.layer: swap one Layer; a runner's SIGKILL loses nothing",
    figure: (output) =>
      output.includes("Skipped: no Postgres")
        ? "skipped: Postgres is not installed (apt-get install postgresql)"
        : match(
            /Failover: .* again ([\d.]+) s after[\s\S]*Every task ended exactly once: (\d+) results for (\d+) inputs/,
            (m) => `${m[2]}/${m[3]} results, failover ${m[1]} s`
          )(output)
  },
  {
    file: "ipc-queue",
    title: "Inter-process queue: a message from the worker",
    shows: "streaming tasks are pipes",
    figure: match(/(Hello from the worker!)/, (m) => `"${m[1]}"`)
  },
  {
    file: "semaphore-lifecycle",
    title: "Semaphores, daemons, lifecycle, identity",
    shows: "Semaphore, forkDetach vs forkChild, fiber states, thread ids",
    figure: (output) => {
      const inside = [...output.matchAll(/\((\d+) inside\)/g)].map((m) => Number(m[1]))
      return inside.length === 0 ? "(not found)" : `at most ${Math.max(...inside)} fibers inside a Semaphore(2)`
    }
  },
  {
    file: "primitives",
    title: "Event, Condition, Barrier, JoinableQueue, Timer",
    shows: "the rest of the toolbox",
    figure: match(/all jobs done/, () => "every primitive completed")
  },
  {
    file: "starvation",
    title: "Starvation: an unfair grab-loop against a fair Lock",
    shows: "FIFO-fair Lock serves every waiter in turn",
    figure: match(
      /Unfair grab-loop: .*"polite1":(\d+)[\s\S]*FIFO-fair Lock: .*"polite1":(\d+)/,
      (m) => `polite fiber: ${m[1]} -> ${m[2]} turns`
    )
  },
  {
    file: "deadlock",
    title: "Deadlock: two fibers, two locks, opposite order",
    shows: "the cycle is detected and reported",
    figure: (output) => {
      const cycle = output.match(/DeadlockDetected: .*a cycle of (\d+)/)
      const locks = [...new Set([...(cycle?.[0] ?? "").matchAll(/waits for (Lock "\w+")/g)].map((m) => m[1]))]
      return cycle === null ? "(not found)" : `a cycle of ${cycle[1]} (${locks.join(", ")}) detected and broken`
    }
  }
]

const spinner = ["|", "/", "-", "\\"]

/** Runs one example as a child process, showing a progress indicator while it runs. */
const runExample = (stop: Stop) =>
  Effect.gen(function* () {
    const file = fileURLToPath(new URL(`./${stop.file}.ts`, import.meta.url))
    const start = performance.now()
    const progress = yield* Effect.forkChild(
      Effect.repeat(
        Effect.sync((i = Math.floor((performance.now() - start) / 250)) => {
          if (process.stdout.isTTY) process.stdout.write(`\r  ${spinner[i % 4]} running ${stop.file}.ts`)
        }),
        Schedule.spaced("250 millis")
      )
    )
    const output = yield* Effect.callback<{ output: string; code: number | null }>((resume) => {
      const child = spawn(process.execPath, [...process.execArgv, file, ...(quick ? ["--quick"] : [])], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      let text = ""
      child.stdout.on("data", (chunk) => {
        text += chunk
      })
      child.on("close", (code) => resume(Effect.succeed({ output: text, code })))
      return Effect.sync(() => child.kill())
    })
    yield* Fiber.interrupt(progress)
    if (process.stdout.isTTY) process.stdout.write("\r\x1b[K")
    const seconds = (performance.now() - start) / 1000
    for (const line of output.output.trimEnd().split("\n")) yield* Console.log(`  ${line}`)
    yield* Console.log(`  (${seconds.toFixed(1)} s${output.code === 0 ? "" : `, exit code ${output.code}`})`)
    return { stop, figure: stop.figure(output.output), seconds, ok: output.code === 0 }
  })

const program = Effect.gen(function* () {
  yield* Console.log(`Strand: a guided tour${quick ? " (quick mode)" : ""}\n`)
  const results = []
  for (const [i, stop] of tour.entries()) {
    yield* Console.log(`${i + 1}. ${stop.title}  [examples/${stop.file}.ts]`)
    results.push(yield* runExample(stop))
    yield* Console.log("")
  }
  const rows = results.map((r, i) => [`${i + 1}. ${r.stop.file}`, r.stop.shows, r.ok ? r.figure : "FAILED"])
  const widths = [0, 1, 2].map((c) =>
    Math.max(...rows.map((row) => row[c]!.length), ["example", "shows", "measured"][c]!.length)
  )
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join(" | ")
  yield* Console.log("Summary")
  yield* Console.log(line(["example", "shows", "measured"]))
  yield* Console.log(widths.map((w) => "-".repeat(w)).join("-|-"))
  for (const row of rows) yield* Console.log(line(row))
  if (results.some((r) => !r.ok)) process.exitCode = 1
})

Effect.runPromise(program)
