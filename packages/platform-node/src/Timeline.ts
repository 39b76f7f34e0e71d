/**
 * A record of what a pool's workers did, to look at: per worker, when each
 * task was queued, started and ended, and how it ended.
 *
 * **When to use**
 *
 * Use to see how work spreads over the workers: idle lanes, one long task
 * holding the others back, a crash in the middle of a run. Pass a timeline
 * to `WorkerPool.make` or `layer` as the `timeline` option, run the work,
 * then export it:
 * - `toTraceEvents` gives Chrome trace-event JSON, which Perfetto
 *   (ui.perfetto.dev) and `chrome://tracing` open, one track per worker thread;
 * - `toHtml` gives a self-contained HTML page with the picture in SVG:
 *   workers as lanes, tasks as bars coloured by how they ended, the time axis
 *   in milliseconds.
 *
 * **Details**
 *
 * The start and end of a task are measured on its worker, so tasks that wait
 * on a worker behind others (pipelining) do not overlap on its lane. A task
 * whose worker was lost before it reported (a crash) ends when the pool
 * learned of it. A task cancelled while queued never ran and is not recorded.
 * At most `maxEntries` tasks are kept (100,000 unless told); later ones are
 * counted in `dropped`. Recording costs a few fields per task; a pool without
 * a timeline records nothing.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs"
 * import { Effect, Schema } from "effect"
 * import { Task, Timeline, WorkerPool } from "@strand/platform-node"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 * const timeline = Timeline.make()
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* WorkerPool.make({ module: new URL("./square-worker.ts", import.meta.url), timeline })
 *   yield* pool.map(Square, [1, 2, 3, 4])
 *   writeFileSync("pool.json", JSON.stringify(Timeline.toTraceEvents(timeline)))
 *   writeFileSync("pool.html", Timeline.toHtml(timeline, { title: "Squares" }))
 * }))
 * ```
 *
 * @since 0.4.0
 */
import { InvalidPoolOptions } from "./internal/errors.ts"
import { show } from "./internal/options.ts"

/**
 * How a task ended.
 *
 * @category models
 * @since 0.4.0
 */
export type Outcome = "success" | "failure" | "defect" | "interrupted" | "timeout" | "crashed"

/**
 * One task (or one chunk of a `map`) as it ran. Times are epoch milliseconds
 * (`Date.now()`'s clock, with fractions).
 *
 * @category models
 * @since 0.4.0
 */
export interface Entry {
  readonly task: string
  /** The pool's number for the worker (`Stats.workers[].id`). */
  readonly worker: number
  readonly threadId: number
  /** A worker process's id (`isolation: "process"`); absent for a thread. */
  readonly pid?: number | undefined
  readonly queuedAt: number
  readonly startedAt: number
  readonly endedAt: number
  readonly outcome: Outcome
}

/**
 * A timeline: give it to a pool, read it with `entries`, `toTraceEvents` or `toHtml`.
 *
 * @category models
 * @since 0.4.0
 */
export interface Timeline {
  readonly entries: ReadonlyArray<Entry>
  /** Tasks not kept because `maxEntries` was reached. */
  readonly dropped: number
  /** Records one task; the pool calls it. */
  readonly record: (entry: Entry) => void
}

/**
 * Creates an empty timeline that keeps at most `maxEntries` tasks.
 *
 * @example
 * ```ts
 * import { Timeline } from "@strand/platform-node"
 *
 * const timeline = Timeline.make({ maxEntries: 10_000 })
 * timeline.entries.length // 0
 * ```
 *
 * @category constructors
 * @since 0.4.0
 */
export const make = (options?: { readonly maxEntries?: number | undefined }): Timeline => {
  const max = options?.maxEntries ?? 100_000
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new InvalidPoolOptions({ option: "maxEntries", value: show(max), expected: "a whole number of at least 1" })
  }
  const entries: Array<Entry> = []
  const timeline = {
    entries,
    dropped: 0,
    record: (entry: Entry) => {
      if (entries.length < max) entries.push(entry)
      else timeline.dropped++
    }
  }
  return timeline
}

/**
 * Whether `u` is a timeline made by `make`.
 *
 * @category guards
 * @since 0.4.0
 */
export const isTimeline = (u: unknown): u is Timeline =>
  typeof u === "object" &&
  u !== null &&
  Array.isArray((u as Timeline).entries) &&
  typeof (u as Timeline).record === "function"

interface Lane {
  readonly worker: number
  readonly threadId: number
  readonly pid: number | undefined
}

/** The workers of a timeline, by pool number, with their thread (or process) ids. */
const lanesOf = (entries: ReadonlyArray<Entry>): Array<Lane> => {
  const lanes = new Map<number, Lane>()
  for (const entry of entries)
    lanes.set(entry.worker, { worker: entry.worker, threadId: entry.threadId, pid: entry.pid })
  return Array.from(lanes.values()).sort((a, b) => a.worker - b.worker)
}

const laneName = (lane: Lane): string =>
  `worker #${lane.worker} (${lane.pid === undefined ? `thread ${lane.threadId}` : `process ${lane.pid}`})`

/**
 * The timeline as Chrome trace-event JSON (the "JSON object format"): one
 * complete event (`ph: "X"`) per task on the track of the thread that ran
 * it, named after the task, with its outcome as the category and its queue
 * wait in `args`; one metadata event names each track. Times are in
 * microseconds from the first task queued.
 *
 * @example
 * ```ts
 * import { Timeline } from "@strand/platform-node"
 *
 * const timeline = Timeline.make()
 * timeline.record({ task: "Fib", worker: 1, threadId: 2, queuedAt: 0, startedAt: 1, endedAt: 3, outcome: "success" })
 * Timeline.toTraceEvents(timeline).traceEvents.length // 2: the track's name, then the task
 * ```
 *
 * @category exporting
 * @since 0.4.0
 */
export const toTraceEvents = (
  timeline: Timeline
): { readonly traceEvents: ReadonlyArray<Record<string, unknown>>; readonly displayTimeUnit: "ms" } => {
  const entries = timeline.entries
  const origin = entries.reduce((min, entry) => Math.min(min, entry.queuedAt), Number.POSITIVE_INFINITY)
  const micros = (t: number) => Math.round((t - origin) * 1000)
  const traceEvents: Array<Record<string, unknown>> = lanesOf(entries).map((lane) => ({
    name: "thread_name",
    ph: "M",
    pid: lane.pid ?? 1,
    tid: lane.threadId,
    args: { name: laneName(lane) }
  }))
  for (const entry of entries) {
    traceEvents.push({
      name: entry.task,
      cat: entry.outcome,
      ph: "X",
      ts: micros(entry.startedAt),
      dur: Math.max(0, micros(entry.endedAt) - micros(entry.startedAt)),
      pid: entry.pid ?? 1,
      tid: entry.threadId,
      args: { outcome: entry.outcome, worker: entry.worker, queuedMs: entry.startedAt - entry.queuedAt }
    })
  }
  return { traceEvents, displayTimeUnit: "ms" }
}

/**
 * The colour of each outcome in `toHtml`'s picture.
 *
 * @category exporting
 * @since 0.4.0
 */
export const colors: Readonly<Record<Outcome, string>> = {
  success: "#2e9e5b",
  failure: "#d9822b",
  defect: "#c23030",
  interrupted: "#8a8f98",
  timeout: "#8f5db7",
  crashed: "#5c1a1a"
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** A round step for about `count` ticks over `range` ms: 1, 2 or 5 times a power of ten. */
const tickStep = (range: number, count: number): number => {
  const raw = Math.max(range, 1e-3) / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const scaled = raw / power
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power
}

/**
 * The timeline as a self-contained HTML page (no script, no network): an SVG
 * picture with one lane per worker, one bar per task coloured by its outcome
 * (see `colors`) and led by a thin line for the time it was queued, a time axis in milliseconds from the first task queued, and
 * a legend. Hovering a bar shows the task, its times and its outcome.
 *
 * @example
 * ```ts
 * import { Timeline } from "@strand/platform-node"
 *
 * const timeline = Timeline.make()
 * timeline.record({ task: "Fib", worker: 1, threadId: 2, queuedAt: 0, startedAt: 1, endedAt: 3, outcome: "success" })
 * Timeline.toHtml(timeline, { title: "One task" }).startsWith("<!doctype html>") // true
 * ```
 *
 * @category exporting
 * @since 0.4.0
 */
export const toHtml = (timeline: Timeline, options?: { readonly title?: string | undefined }): string => {
  const title = options?.title ?? "Strand pool timeline"
  const entries = timeline.entries
  const lanes = lanesOf(entries)
  const origin = entries.reduce((min, entry) => Math.min(min, entry.queuedAt), Number.POSITIVE_INFINITY)
  const end = entries.reduce((max, entry) => Math.max(max, entry.endedAt), origin)
  const range = Math.max(end - origin, 1e-3)
  const left = 170
  const width = 1000
  const laneHeight = 28
  const top = 30
  const height = top + Math.max(lanes.length, 1) * laneHeight + 40
  const x = (t: number) => left + ((t - origin) / range) * width
  const row = new Map(lanes.map((lane, i) => [lane.worker, i]))
  const parts: Array<string> = []
  lanes.forEach((lane, i) => {
    const y = top + i * laneHeight
    parts.push(
      `<rect x="${left}" y="${y}" width="${width}" height="${laneHeight - 4}" fill="${i % 2 === 0 ? "#f4f5f7" : "#eceef1"}"/>`,
      `<text x="${left - 8}" y="${y + laneHeight / 2 + 2}" text-anchor="end">${laneName(lane)}</text>`
    )
  })
  for (const entry of entries) {
    const y = top + (row.get(entry.worker) ?? 0) * laneHeight + 3
    const x0 = x(entry.startedAt)
    const w = Math.max(1, x(entry.endedAt) - x0)
    const tip =
      `${entry.task}: ${entry.outcome}, ran ${(entry.endedAt - entry.startedAt).toFixed(2)} ms ` +
      `from ${(entry.startedAt - origin).toFixed(2)} ms, queued ${(entry.startedAt - entry.queuedAt).toFixed(2)} ms`
    // The time it waited in the queue, as a thin line leading to its bar.
    if (entry.startedAt - entry.queuedAt > 0) {
      const wy = y + laneHeight - 11
      parts.push(
        `<line class="wait" x1="${x(entry.queuedAt).toFixed(2)}" y1="${wy}" x2="${x0.toFixed(2)}" y2="${wy}" stroke="#9aa0a8" stroke-width="1.5"/>`
      )
    }
    parts.push(
      `<rect class="task" data-outcome="${entry.outcome}" x="${x0.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" ` +
        `height="${laneHeight - 10}" fill="${colors[entry.outcome]}" stroke="#ffffff" stroke-width="0.5">` +
        `<title>${escapeHtml(tip)}</title></rect>`
    )
  }
  const axisY = top + lanes.length * laneHeight + 4
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + width}" y2="${axisY}" stroke="#444"/>`)
  const step = tickStep(range, 8)
  for (let t = 0; t <= range + step / 1000; t += step) {
    const tx = left + (t / range) * width
    parts.push(
      `<line x1="${tx.toFixed(2)}" y1="${axisY}" x2="${tx.toFixed(2)}" y2="${axisY + 5}" stroke="#444"/>`,
      `<text x="${tx.toFixed(2)}" y="${axisY + 18}" text-anchor="middle">${Number(t.toPrecision(6))} ms</text>`
    )
  }
  const legend = (Object.keys(colors) as Array<Outcome>)
    .map(
      (outcome) =>
        `<span><i style="background:${colors[outcome]}"></i>${outcome} (${entries.filter((e) => e.outcome === outcome).length})</span>`
    )
    .join(" ")
  const dropped = timeline.dropped > 0 ? `<p>${timeline.dropped} later tasks were not kept (maxEntries).</p>` : ""
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:20px;color:#222}svg text{font-size:12px;fill:#333}
.legend span{margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}</style>
</head><body><h1>${escapeHtml(title)}</h1>
<p>${entries.length} tasks on ${lanes.length} workers over ${range.toFixed(1)} ms. Time runs from the first task queued; a thin grey line before a bar is the time its task waited in the queue.</p>
<p class="legend">${legend}</p>${dropped}
<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 30}" height="${height}" role="img" aria-label="${escapeHtml(title)}">
${parts.join("\n")}
</svg></body></html>
`
}
