// `pnpm bench`: every scenario, Strand side by side with its peers in one run.
// `pnpm bench --quick` is a smoke run with small sizes and one repetition; it asserts nothing about timings.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { availableParallelism, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { cluster } from "./cluster.ts"
import { STRUCTURED } from "./pools.ts"
import { markdown, movement, type Summary, summarize, svg, type Target } from "./report.ts"
import * as Scenarios from "./scenarios.ts"
import { sharedMemory } from "./shared.ts"

const quick = process.argv.includes("--quick")
const cores = availableParallelism()
const sizes: Scenarios.Sizes = { quick, cores }
const repetitions = quick ? 1 : 5
const here = fileURLToPath(new URL(".", import.meta.url))

interface Scenario {
  readonly name: string
  /** Repetitions of a full run, when not the default 3. */
  readonly repetitions?: number
  readonly subjects: ReadonlyArray<string>
  readonly units: Record<string, string>
  readonly run: (sizes: Scenarios.Sizes, subject: string) => Promise<Scenarios.Samples>
}

const scenarios: ReadonlyArray<Scenario> = [
  {
    name: "1. CPU speedup",
    subjects: ["sequential", "strand", "piscina", "tinypool", "workerpool"],
    units: { millis: "ms" },
    run: Scenarios.cpuSpeedup
  },
  {
    name: "2. Trivial tasks",
    subjects: ["raw postMessage", "strand", "piscina", "tinypool", "poolifier", "workerpool", "effect-rpc"],
    units: { sequentialPerSecond: "tasks/s", pipelinedPerSecond: "tasks/s" },
    run: Scenarios.trivialTasks
  },
  {
    name: "3. Many waiters",
    subjects: ["strand", "effect-rpc", "piscina"],
    units: { onePerSecond: "tasks/s", manyPerSecond: "tasks/s", ratio: "512 ÷ 1" },
    run: Scenarios.manyWaiters
  },
  {
    name: "4. Cancellation",
    subjects: ["strand", "piscina", "effect-rpc"],
    units: { millis: "ms until the next task ran" },
    run: Scenarios.cancellation
  },
  {
    name: "5. Crash recovery",
    subjects: ["strand", "piscina", "tinypool", "poolifier", "workerpool"],
    units: { failMillis: "ms until the task failed", fullSizeMillis: "ms until full size" },
    run: Scenarios.crashRecovery
  },
  {
    name: "6. Primitives",
    subjects: [
      "strand Lock",
      "strand Lock + Diagnostics",
      "effect Semaphore(1)",
      "async-mutex",
      "event-loop turn",
      "map: Effect.forEach(16)",
      "map: BoundedSemaphore(16)",
      "map: p-limit(16)",
      "strand Condition ping-pong",
      "effect Queue ping-pong",
      "strand PriorityQueue"
    ],
    units: {
      uncontended: "ns/op",
      contended: "ns/op",
      setImmediate: "ns/turn, a promise on setImmediate",
      yieldNow: "ns/turn, a fiber's Effect.yieldNow",
      perItem: "ns/item",
      perRoundTrip: "ns",
      perOfferAndTake: "ns"
    },
    run: Scenarios.primitives
  },
  {
    name: "7. Memory",
    subjects: ["strand Lock", "async-mutex"],
    units: { bytesPerWaiter: "bytes/waiter", totalMegabytes: "MB" },
    run: Scenarios.memory
  },
  {
    name: "8. Moving results",
    subjects: ["strand copy", "strand transfer"],
    units: { millis: `ms per ${quick ? 8 : 64} MB Float64Array result` },
    run: Scenarios.movedResults
  },
  {
    name: "9. Long mapStream",
    subjects: ["strand"],
    units: {
      inputs: "inputs",
      peakGrowthMegabytes: "MB heap growth, peak",
      endGrowthMegabytes: "MB heap growth, at the end",
      perSecond: "inputs/s"
    },
    run: Scenarios.longMapStream
  },
  {
    name: "10. Stream back-pressure",
    subjects: ["strand"],
    units: {
      fastPerSecond: "items/s, fast consumer",
      slowItems: "items, slow consumer",
      peakGrowthMegabytes: "MB heap growth, peak",
      endGrowthMegabytes: "MB heap growth, at the end"
    },
    run: Scenarios.streamBackPressure
  },
  {
    name: "11. HTTP service",
    subjects: ["strand", "piscina"],
    units: Object.fromEntries(
      ["trivial", "spin"].flatMap((path) =>
        [10, 100].flatMap((c) => [
          [`${path}${c}PerSecond`, `req/s, /${path}, ${c} connections`],
          [`${path}${c}P50`, `ms p50, /${path}, ${c} connections`],
          [`${path}${c}P99`, `ms p99, /${path}, ${c} connections`]
        ])
      )
    ),
    run: Scenarios.httpService
  },
  {
    name: "12. Tracing",
    subjects: ["tracing: false", "no tracer", "in-memory tracer"],
    units: { pipelinedPerSecond: "tasks/s, pipelined", ratioToOff: "÷ tracing off, paired bursts" },
    run: Scenarios.tracing
  },
  {
    name: "13. Cold start",
    subjects: ["strand", "strand bundled", "piscina", "tinypool", "poolifier"],
    repetitions: 5,
    units: Object.fromEntries(
      Scenarios.coldStartConfigs(quick).flatMap(({ mode, size }) => [
        [`${mode}${size}Millis`, `ms until a first batch of ${4 * size} tasks, ${size} workers, ${mode}`],
        [`${mode}${size}Rss`, `MB RSS per worker, ${size} workers, ${mode}`]
      ])
    ),
    run: Scenarios.coldStart
  },
  {
    name: "14. Worker processes",
    subjects: [
      "strand process",
      "workerpool process",
      "poolifier cluster",
      `workerpool process${STRUCTURED}`,
      `poolifier cluster${STRUCTURED}`,
      "strand"
    ],
    units: {
      ...Object.fromEntries(
        Scenarios.processColdSizes(quick).flatMap((size) =>
          ["", "Bundled"].flatMap((key) => [
            [
              `start${key}${size}Millis`,
              `ms until a first batch of ${4 * size} tasks, ${size} workers${key && ", bundled"}`
            ],
            [`rss${key}${size}Megabytes`, `MB RSS per worker, ${size} workers${key && ", bundled"}`]
          ])
        )
      ),
      speedup: "x the main thread alone",
      sequentialPerSecond: "tasks/s",
      pipelinedPerSecond: "tasks/s",
      crashFailMillis: "ms until the crashed task failed",
      crashRecoveredMillis: `ms until ${cores} tasks of 20 ms had run again`
    },
    run: Scenarios.processes
  },
  {
    name: "15. Shared memory",
    subjects: [
      "strand SharedLock",
      "strand Lock",
      "multithreading Mutex",
      "web locks",
      "ping-pong: shared",
      "ping-pong: postMessage",
      "channel: SharedChannel",
      "channel: postMessage",
      "data parallel: sequential",
      "data parallel: shared map",
      "data parallel: copying map"
    ],
    units: {
      uncontendedSync: "ns per acquire-release, a worker's sync code",
      uncontendedFiber: "ns per acquire-release, a fiber or promise on the main thread",
      contendedSync: "ns per acquire-release, 4 threads blocking",
      contendedAsync: "ns per acquire-release, 4 threads waiting without blocking",
      roundTrip: "ns per round trip between two worker threads, median",
      itemsPerSecond: "small items/s from one worker thread to another",
      millis: `ms, sum and histogram of ${quick ? "2" : "50"} million float64s, median of 5 rounds`
    },
    run: sharedMemory
  },
  {
    name: "16. Cluster",
    subjects: ["local pool", "cluster"],
    units: {
      spreadSpeedup: `x sequential, ${quick ? 8 : 32} tasks of 20 ms (local: 2 worker threads; cluster: 2 runner processes of 1)`,
      mapPerSecond: `trivial tasks/s, a map of ${quick ? "10,000" : "100,000"} inputs (chunkSize "auto")`,
      roundTripMedian: "µs per trivial task, one at a time, median",
      roundTripP99: "µs per trivial task, one at a time, p99",
      failoverMillis: "ms from a runner's SIGKILL until its shards serve again (default settings)"
    },
    run: cluster
  },
  {
    name: "17. Real workloads",
    subjects: ["sequential", "strand", "piscina", "tinypool", "workerpool"],
    repetitions: 5,
    units: {
      recordsMillis: `ms, ${quick ? 8 : 32} batches of 4,000 JSON records parsed and checked by a Schema`,
      compressMillis: `ms, ${quick ? 8 : 32} x deflate and SHA-256 of 64 KB of text`,
      kernelMillis: `ms, ${quick ? 8 : 32} Mandelbrot sets of about 160 x 160 points`
    },
    run: Scenarios.realWorkloads
  }
]

/** How long one subject may take before it is reported as hung and the run goes on. */
const SUBJECT_BOUND_MILLIS = quick ? 60_000 : 180_000
const hung: Array<string> = []

/**
 * Runs one subject with a bound. Its timer is ref'd, so a peer whose promise never settles
 * cannot empty the event loop (Node would exit with code 13, "unsettled top-level await").
 */
const bounded = (scenario: Scenario, subject: string): Promise<Scenarios.Samples | undefined> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), SUBJECT_BOUND_MILLIS)
  })
  return Promise.race([scenario.run(sizes, subject), timeout]).finally(() => clearTimeout(timer))
}

const summaries: Array<Summary> = []
const started = performance.now()
for (const scenario of scenarios) {
  const samples = new Map<string, Map<string, Array<number>>>()
  const reps = quick ? 1 : (scenario.repetitions ?? repetitions)
  for (let rep = 0; rep < reps; rep++) {
    // Interleave the subjects, rotating who goes first, so drift in the machine hits all alike.
    const order = scenario.subjects.map((_, i) => scenario.subjects[(i + rep) % scenario.subjects.length]!)
    for (const subject of order) {
      process.stdout.write(`${scenario.name}: ${subject} (${rep + 1}/${reps})\n`)
      const result = await bounded(scenario, subject)
      if (result === undefined) {
        hung.push(`${scenario.name}: ${subject}`)
        console.log(`HUNG ${scenario.name}: ${subject} gave no answer in ${SUBJECT_BOUND_MILLIS / 1000} s`)
        continue
      }
      const bySubject = samples.get(subject) ?? new Map<string, Array<number>>()
      samples.set(subject, bySubject)
      for (const [metric, value] of Object.entries(result)) {
        bySubject.set(metric, [...(bySubject.get(metric) ?? []), value])
      }
    }
  }
  for (const subject of scenario.subjects) {
    for (const [metric, values] of samples.get(subject) ?? []) {
      summaries.push(summarize(scenario.name, subject, metric, scenario.units[metric] ?? "", values))
    }
  }
}

const get = (scenario: string, subject: string, metric: string) =>
  summaries.find((s) => s.scenario.startsWith(scenario) && s.subject === subject && s.metric === metric)?.median ??
  Number.NaN

const speedupOf = (subject: string) => get("1.", "sequential", "millis") / get("1.", subject, "millis")
const pipelined = (subject: string) => get("2.", subject, "pipelinedPerSecond")
const peers = ["piscina", "tinypool", "poolifier", "workerpool", "effect-rpc"]
const bestPeer = Math.max(...peers.map(pipelined))
const memoryFor100k = (get("7.", "strand Lock", "bytesPerWaiter") * 100_000) / 2 ** 20
const ratio = (x: number) => `${x.toFixed(2)}x`

/** Worker processes against the best process-based peer of scenario 14. */
const processTargets = (): Array<Target> => {
  const of = (subject: string, metric: string) => get("14.", subject, metric)
  const peers = ["workerpool process", "poolifier cluster"]
  const best = (metric: string) => Math.max(...peers.map((peer) => of(peer, metric)).filter(Number.isFinite))
  const speedup = of("strand process", "speedup")
  const pipe = of("strand process", "pipelinedPerSecond") / best("pipelinedPerSecond")
  const seq = of("strand process", "sequentialPerSecond") / best("sequentialPerSecond")
  return [
    {
      target: `Worker processes: CPU speedup >= ${cores >= 2 ? "1.9" : "1"}x on ${cores} cores`,
      figure: ratio(speedup),
      pass: speedup >= (cores >= 2 ? 1.9 : 1)
    },
    {
      target: "Worker processes: pipelined >= 1.5x the best process-based peer",
      figure: ratio(pipe),
      pass: pipe >= 1.5
    },
    {
      target: "Worker processes: round trip no slower than the best process-based peer",
      figure: ratio(seq),
      pass: seq >= 1
    },
    ...Scenarios.processColdSizes(quick).map((size) => {
      const least = (metric: string) => Math.min(...peers.map((peer) => of(peer, metric)).filter(Number.isFinite))
      const time = of("strand process", `startBundled${size}Millis`) / least(`start${size}Millis`)
      const rss = of("strand process", `rssBundled${size}Megabytes`) / least(`rss${size}Megabytes`)
      return {
        target: `Cold start and RSS per worker process, bundled, ${size} workers: <= 1.5x the best process-based peer`,
        figure: `${ratio(time)} time, ${ratio(rss)} RSS (unbundled: ${ratio(of("strand process", `start${size}Millis`) / least(`start${size}Millis`))}, ${ratio(of("strand process", `rss${size}Megabytes`) / least(`rss${size}Megabytes`))})`,
        pass: time <= 1.5 && rss <= 1.5
      }
    })
  ]
}

/**
 * Scenario 14 like for like: Strand's processes against the peers' with structured clone on their
 * IPC channels, as Strand's (the targets above compare against the peers as they come, with JSON).
 */
const structuredNote = (): string => {
  const of = (subject: string, metric: string) => get("14.", subject, metric)
  const against = (metric: string) =>
    ["workerpool process", "poolifier cluster"]
      .map((peer) => `${ratio(of("strand process", metric) / of(`${peer}${STRUCTURED}`, metric))} ${peer}'s`)
      .join(", ")
  return (
    "Worker processes (14) like for like, every peer with serialization: advanced (structured clone, as Strand's): " +
    `Strand's round trips ${against("sequentialPerSecond")}; pipelined ${against("pipelinedPerSecond")}.`
  )
}

/** Cold start and RSS per worker of "strand bundled" within 1.5x piscina's with plain Node, 2x under tsx. */
const coldStartTargets = (): Array<Target> =>
  Scenarios.coldStartConfigs(quick).map(({ mode, size }) => {
    const bound = mode === "tsx" ? 2 : 1.5
    const of = (subject: string, metric: string) => get("13.", subject, `${mode}${size}${metric}`)
    const time = of("strand bundled", "Millis") / of("piscina", "Millis")
    const rss = of("strand bundled", "Rss") / of("piscina", "Rss")
    return {
      target: `Cold start and RSS per worker, bundled, ${size} workers, ${mode}: <= ${bound}x piscina`,
      figure: `${ratio(time)} time, ${ratio(rss)} RSS (unbundled: ${ratio(of("strand", "Millis") / of("piscina", "Millis"))}, ${ratio(of("strand", "Rss") / of("piscina", "Rss"))})`,
      pass: time <= bound && rss <= bound
    }
  })

/** Scenario 16: the same program on a cluster of two runner processes, beside a local pool. */
const clusterTargets = (): Array<Target> => {
  const of = (subject: string, metric: string) => get("16.", subject, metric)
  const spread = of("cluster", "spreadSpeedup")
  const map = of("cluster", "mapPerSecond")
  const median = of("cluster", "roundTripMedian") / 1000
  const p99 = of("cluster", "roundTripP99") / 1000
  const failover = of("cluster", "failoverMillis") / 1000
  const side = (metric: string, digits: number) => `local pool ${of("local pool", metric).toFixed(digits)}`
  return [
    {
      target: "Cluster: 32 tasks of 20 ms over two runner processes >= 1.7x sequential",
      figure: `${ratio(spread)} (${side("spreadSpeedup", 2)}x)`,
      pass: spread >= 1.7
    },
    {
      target: "Cluster: a map of 100,000 trivial inputs >= 50,000 tasks/s",
      figure: `${Math.round(map).toLocaleString("en")}/s (${side("mapPerSecond", 0)}/s)`,
      pass: map >= 50_000
    },
    {
      target: "Cluster: one task's round trip, client to runner to worker thread: median < 1 ms, p99 < 5 ms",
      figure: `${median.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (local pool ${(of("local pool", "roundTripMedian") / 1000).toFixed(3)} ms)`,
      pass: median < 1 && p99 < 5
    },
    {
      target: "Cluster: tasks flow again within 5 s of a runner's SIGKILL, default settings",
      figure: `${failover.toFixed(1)} s`,
      pass: failover <= 5
    }
  ]
}

/** Scenario 15: the shared-memory primitives against their peers and postMessage. */
const sharedTargets = (): Array<Target> => {
  const of = (subject: string, metric: string) => get("15.", subject, metric)
  const lock = (metric: string) => of("strand SharedLock", metric)
  const sync = lock("uncontendedSync")
  const fiber = lock("uncontendedFiber") / of("strand Lock", "uncontendedFiber")
  const ping = of("ping-pong: shared", "roundTrip") / of("ping-pong: postMessage", "roundTrip")
  const channel = of("channel: SharedChannel", "itemsPerSecond") / of("channel: postMessage", "itemsPerSecond")
  const sequential = of("data parallel: sequential", "millis")
  const shared = of("data parallel: shared map", "millis")
  const copied = of("data parallel: copying map", "millis")
  const against = [
    ["multithreading Mutex", "uncontendedSync"],
    ["multithreading Mutex", "uncontendedFiber"],
    ["web locks", "uncontendedFiber"],
    ["multithreading Mutex", "contendedSync"],
    ["multithreading Mutex", "contendedAsync"],
    ["web locks", "contendedAsync"]
  ] as const
  return [
    {
      target: "Shared lock, uncontended, a worker's sync code: <= 100 ns",
      figure: `${sync.toFixed(0)} ns`,
      pass: sync <= 100
    },
    { target: "Shared lock from a fiber: <= 1.5x the fiber-only Lock", figure: ratio(fiber), pass: fiber <= 1.5 },
    {
      target: "Shared lock faster than the multithreading Mutex and Web Locks, uncontended and 4 threads",
      figure: against
        .map(([peer, metric]) => `${peer} ${metric}: ${ratio(of(peer, metric) / lock(metric))}`)
        .join(", "),
      pass: against.every(([peer, metric]) => lock(metric) < of(peer, metric))
    },
    {
      target: "Ping-pong between two threads: <= 1/4 of a postMessage round trip",
      figure: `${of("ping-pong: shared", "roundTrip").toFixed(0)} vs ${of("ping-pong: postMessage", "roundTrip").toFixed(0)} ns (${ratio(ping)})`,
      pass: ping <= 0.25
    },
    { target: "SharedChannel between two workers: >= 3x postMessage", figure: ratio(channel), pass: channel >= 3 },
    {
      target: `Data-parallel sum over a shared array: >= ${cores >= 2 ? "1.8" : "1"}x sequential, >= 5x the copying map`,
      figure: `${ratio(sequential / shared)} sequential, ${ratio(copied / shared)} the copying map`,
      pass: sequential / shared >= (cores >= 2 ? 1.8 : 1) && copied / shared >= 5
    }
  ]
}

const tracingRate = (subject: string) => get("12.", subject, "pipelinedPerSecond")
const httpLoads = ["trivial10", "trivial100", "spin10", "spin100"]
const http = (subject: string, load: string, metric: string) => get("11.", subject, `${load}${metric}`)

const targets: ReadonlyArray<Target> = [
  {
    target: `CPU speedup >= 0.95 x ${cores} cores`,
    figure: ratio(speedupOf("strand")),
    pass: speedupOf("strand") >= 0.95 * cores
  },
  {
    target: "Sequential round trip >= piscina's rate",
    figure: `${ratio(get("2.", "strand", "sequentialPerSecond") / get("2.", "piscina", "sequentialPerSecond"))} piscina`,
    pass: get("2.", "strand", "sequentialPerSecond") >= get("2.", "piscina", "sequentialPerSecond")
  },
  {
    target: "Pipelined throughput >= 2x piscina (first milestone)",
    figure: `${ratio(pipelined("strand") / pipelined("piscina"))} piscina`,
    pass: pipelined("strand") >= 2 * pipelined("piscina")
  },
  {
    target: "Pipelined throughput >= the best peer",
    figure: `${ratio(pipelined("strand") / bestPeer)} best peer, ${ratio(pipelined("strand") / pipelined("raw postMessage"))} raw postMessage`,
    pass: pipelined("strand") >= bestPeer
  },
  {
    target: "Throughput with 512 callers waiting >= 0.9x with 1",
    figure: ratio(get("3.", "strand", "ratio")),
    pass: get("3.", "strand", "ratio") >= 0.9
  },
  {
    target: "One task in flight per worker, 512 callers: >= 1.1x piscina",
    figure: `${ratio(get("3.", "strand", "manyPerSecond") / get("3.", "piscina", "manyPerSecond"))} piscina`,
    pass: get("3.", "strand", "manyPerSecond") >= 1.1 * get("3.", "piscina", "manyPerSecond")
  },
  {
    target: "Cancelling a synchronous loop frees the core within grace (100 ms) + 50 ms",
    figure: `${get("4.", "strand", "millis").toFixed(0)} ms`,
    pass: get("4.", "strand", "millis") <= 150
  },
  {
    target: "After a crash the pool is back to full size in < 200 ms",
    figure: `${get("5.", "strand", "fullSizeMillis").toFixed(0)} ms (task failed after ${get("5.", "strand", "failMillis").toFixed(1)} ms)`,
    pass: get("5.", "strand", "fullSizeMillis") < 200
  },
  {
    target: "Uncontended Lock <= 1.5x Effect Semaphore(1)",
    figure: ratio(get("6.", "strand Lock", "uncontended") / get("6.", "effect Semaphore(1)", "uncontended")),
    pass: get("6.", "strand Lock", "uncontended") <= 1.5 * get("6.", "effect Semaphore(1)", "uncontended")
  },
  {
    target: "Uncontended Lock beats async-mutex",
    figure: `${get("6.", "strand Lock", "uncontended").toFixed(0)} vs ${get("6.", "async-mutex", "uncontended").toFixed(0)} ns`,
    pass: get("6.", "strand Lock", "uncontended") < get("6.", "async-mutex", "uncontended")
  },
  {
    target: "Contended Lock no slower than async-mutex",
    // Each contended section waits one turn of the event loop: the figure also gives what each adds to its turn.
    figure:
      `${get("6.", "strand Lock", "contended").toFixed(0)} vs ${get("6.", "async-mutex", "contended").toFixed(0)} ns; ` +
      `over one turn: ${(get("6.", "strand Lock", "contended") - get("6.", "event-loop turn", "yieldNow")).toFixed(0)} ` +
      `(Effect.yieldNow's turn) vs ${(get("6.", "async-mutex", "contended") - get("6.", "event-loop turn", "setImmediate")).toFixed(0)} ns (setImmediate's)`,
    pass: get("6.", "strand Lock", "contended") <= get("6.", "async-mutex", "contended")
  },
  {
    target: "Map under BoundedSemaphore(16) no slower than p-limit(16)",
    figure: `${get("6.", "map: BoundedSemaphore(16)", "perItem").toFixed(0)} vs ${get("6.", "map: p-limit(16)", "perItem").toFixed(0)} ns/item`,
    pass: get("6.", "map: BoundedSemaphore(16)", "perItem") <= get("6.", "map: p-limit(16)", "perItem")
  },
  {
    target: "Diagnostics on an uncontended Lock: < 1.5x without",
    figure: ratio(get("6.", "strand Lock + Diagnostics", "uncontended") / get("6.", "strand Lock", "uncontended")),
    pass: get("6.", "strand Lock + Diagnostics", "uncontended") < 1.5 * get("6.", "strand Lock", "uncontended")
  },
  {
    target: "Condition ping-pong <= 2x the same fibers' ping-pong over Effect's Queue",
    figure: `${get("6.", "strand Condition ping-pong", "perRoundTrip").toFixed(0)} vs ${get("6.", "effect Queue ping-pong", "perRoundTrip").toFixed(0)} ns (${ratio(get("6.", "strand Condition ping-pong", "perRoundTrip") / get("6.", "effect Queue ping-pong", "perRoundTrip"))})`,
    pass:
      get("6.", "strand Condition ping-pong", "perRoundTrip") <= 2 * get("6.", "effect Queue ping-pong", "perRoundTrip")
  },
  {
    target: "HTTP service: req/s >= piscina's, both endpoints, 10 and 100 connections",
    figure: httpLoads
      .map((load) => `${load}: ${ratio(http("strand", load, "PerSecond") / http("piscina", load, "PerSecond"))}`)
      .join(", "),
    pass: httpLoads.every((load) => http("strand", load, "PerSecond") >= http("piscina", load, "PerSecond"))
  },
  {
    target: "HTTP service: p99 <= piscina's, both endpoints, 10 and 100 connections",
    figure: httpLoads
      .map((load) => `${load}: ${http("strand", load, "P99")} vs ${http("piscina", load, "P99")} ms`)
      .join(", "),
    pass: httpLoads.every((load) => http("strand", load, "P99") <= http("piscina", load, "P99"))
  },
  {
    target: "Tracing on, no tracer installed: pipelined >= 0.95x tracing off",
    figure: ratio(get("12.", "no tracer", "ratioToOff")),
    pass: get("12.", "no tracer", "ratioToOff") >= 0.95
  },
  ...coldStartTargets(),
  ...processTargets(),
  ...sharedTargets(),
  ...clusterTargets(),
  {
    target: "100,000 fibers waiting on one Lock fit in < 100 MB of heap",
    figure: `${memoryFor100k.toFixed(1)} MB`,
    pass: memoryFor100k < 100
  }
]

/** Scenario 17: each workload's speedup over the main thread alone, and Strand's time against each peer's. */
function workloadNotes(): Array<string> {
  const peers = ["piscina", "tinypool", "workerpool"]
  return ["records", "compress", "kernel"].map((name) => {
    const of = (subject: string) => get("17.", subject, `${name}Millis`)
    const speedups = ["strand", ...peers].map((s) => `${s} ${ratio(of("sequential") / of(s))}`).join(", ")
    const against = peers.map((peer) => `${ratio(of(peer) / of("strand"))} ${peer}'s speed`).join(", ")
    return `Real workload "${name}" (17): speedup over sequential ${speedups}; Strand at ${against}.`
  })
}

const machine = `${cores} cores, Node ${process.versions.node}, ${process.platform}/${process.arch}${quick ? ", quick mode (not figures to quote)" : ""}`
const overhead = (metric: string) =>
  ratio(get("6.", "strand Lock + Diagnostics", metric) / get("6.", "strand Lock", metric))
const moved = get("8.", "strand copy", "millis") / get("8.", "strand transfer", "millis")
const notes = [
  ...hung.map((subject) => `Hung (no answer within the bound, left out of the figures): ${subject}.`),
  `mapStream over ${get("9.", "strand", "inputs").toLocaleString("en")} generated inputs (chunks of 1,000): heap growth ${get("9.", "strand", "peakGrowthMegabytes").toFixed(1)} MB at its peak, ${get("9.", "strand", "endGrowthMegabytes").toFixed(1)} MB at the end.`,
  `A worker's stream of ${get("10.", "strand", "slowItems").toLocaleString("en")} items read by a slow consumer: heap growth ${get("10.", "strand", "peakGrowthMegabytes").toFixed(1)} MB at its peak, ${get("10.", "strand", "endGrowthMegabytes").toFixed(1)} MB at the end; a fast consumer reads ${Math.round(get("10.", "strand", "fastPerSecond")).toLocaleString("en")} items/s.`,
  `With a tracer installed, every task opens a client span and its worker a server span, which crosses back to the caller's tracer: ${Math.round(tracingRate("in-memory tracer")).toLocaleString("en")} tasks/s pipelined, ${ratio(get("12.", "in-memory tracer", "ratioToOff"))} tracing off (paired bursts).`,
  `Moving a ${quick ? 8 : 64} MB result with WorkerRunner.transfer: ${ratio(moved)} faster than copying it.`,
  `Diagnostics overhead on a Lock: ${overhead("uncontended")} uncontended, ${overhead("contended")} contended. ` +
    "It is why diagnostics stay off unless Diagnostics.layer is provided.",
  structuredNote(),
  ...workloadNotes()
]
const date = new Date().toISOString().slice(0, 10)
/** The latest full run before today's, if any, for how much the figures moved. */
const earlier = (() => {
  const dir = join(here, "results")
  const runs = readdirSync(dir)
    .filter((name) => /^\d{4}-\d{2}-\d{2}\.json$/.test(name) && name !== `${date}.json`)
    .sort()
  const last = runs[runs.length - 1]
  if (last === undefined) return undefined
  const run = JSON.parse(readFileSync(join(dir, last), "utf8")) as { quick: boolean; summaries: Array<Summary> }
  return run.quick ? undefined : { date: last.slice(0, 10), summaries: run.summaries }
})()
if (!quick && earlier !== undefined) notes.push(movement(summaries, earlier.summaries, earlier.date))
const table = markdown(machine, summaries, targets, notes)
const chart = svg(
  ["strand", "piscina", "tinypool", "workerpool"].map((s) => [s, speedupOf(s)] as [string, number]),
  ["raw postMessage", "strand", ...peers].map((s) => [s, pipelined(s)] as [string, number])
)
const outDir = quick ? join(tmpdir(), "strand-bench") : join(here, "results")
mkdirSync(outDir, { recursive: true })
writeFileSync(
  join(outDir, `${date}.json`),
  JSON.stringify({ date, machine, quick, repetitions, summaries, targets }, null, 2)
)
writeFileSync(join(outDir, `${date}.md`), `${table}\n`)
writeFileSync(join(outDir, `${date}.svg`), chart)
if (!quick) {
  const readme = join(here, "README.md")
  const text = readFileSync(readme, "utf8")
  const begin = "<!-- results:begin -->"
  const end = "<!-- results:end -->"
  const updated = `${text.slice(0, text.indexOf(begin) + begin.length)}\n\nLatest run (${date}), chart: [results/${date}.svg](results/${date}.svg)\n\n${table}\n\n${text.slice(text.indexOf(end))}`
  writeFileSync(readme, updated)
}
console.log(`\n${table}\n`)
console.log(
  `wrote ${join(outDir, `${date}.json`)}, .md and .svg in ${((performance.now() - started) / 1000).toFixed(0)} s`
)
process.exit(0)
