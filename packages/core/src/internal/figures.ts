/**
 * The wait-time and hold-time histograms of the diagnostics tracker: each
 * tracked primitive counts its own, and Effect's metric registry reads them
 * when metrics are read.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"

/** What the figures of a primitive hang on (a tracker's `Resource`). */
interface Measured {
  readonly label: string
  figures: Figures | undefined
}

const boundaries = Metric.exponentialBoundaries({ start: 0.01, factor: 4, count: 12 })
const waitTimeOf = (attributes?: Metric.Metric.Attributes) =>
  Metric.histogram("strand_primitive_wait_time_ms", {
    description: "Time a fiber waited for a Strand primitive, in ms",
    boundaries,
    attributes
  })
const holdTimeOf = (attributes?: Metric.Metric.Attributes) =>
  Metric.histogram("strand_primitive_hold_time_ms", {
    description: "Time a fiber held a Strand primitive, in ms",
    boundaries,
    attributes
  })

/** Wait-time and hold-time histograms, by primitive. */
export const waitTime = waitTimeOf()
export const holdTime = holdTimeOf()

/**
 * One primitive's wait or hold times, in milliseconds, counted here and read
 * by Effect's metric registry only when metrics are read
 * (`Metric.registerUnsafe`). An update through `Metric` looks its series up
 * in the registry every time, which cost as much as the rest of a tracked
 * hold. The state is the one Effect's histogram keeps: a value goes to the
 * first bucket whose boundary is at least the value. Effect's own histogram
 * hooks, made in a registry of their own and called directly, cost more: a
 * tracked uncontended `Lock` took 380-437 ns a section with them against
 * 343-402 with this, more in each of 8 interleaved pairs. Their binary search
 * costs more than this scan, which most holds leave at the first bucket.
 */
class Times {
  private readonly counts = new Float64Array(boundaries.length + 1)
  private count = 0
  private sum = 0
  private min = Number.MAX_VALUE
  private max = -Number.MAX_VALUE

  add(millis: number): void {
    let bucket = 0
    while (bucket < boundaries.length && millis > boundaries[bucket]!) bucket++
    this.counts[bucket]!++
    this.count++
    this.sum += millis
    if (millis < this.min) this.min = millis
    if (millis > this.max) this.max = millis
  }

  state(): Metric.HistogramState {
    let below = 0
    const buckets = boundaries.map((boundary, bucket): [number, number] => [boundary, (below += this.counts[bucket]!)])
    return { buckets, count: this.count, min: this.min, max: this.max, sum: this.sum }
  }
}

/** A primitive's two histograms, as its label names them in one metric registry. */
export interface Figures {
  readonly wait: Times
  readonly hold: Times
}

/**
 * Every primitive's figures, by registry and then by label: two primitives
 * with one label share their series, as updates through `Metric` would.
 */
const figuresByRegistry = new WeakMap<Metric.MetricRegistry, Map<string, Figures>>()

/**
 * The figures of `resource`. The first time, they are found or registered in
 * the metric registry of `context`, with the attributes of `context` besides
 * the primitive's own, and kept on the primitive.
 */
export const figuresOf = (resource: Measured, context: Context.Context<never>): Figures => {
  if (resource.figures !== undefined) return resource.figures
  const registry = Context.get(context, Metric.MetricRegistry)
  let labels = figuresByRegistry.get(registry)
  if (labels === undefined) {
    labels = new Map()
    figuresByRegistry.set(registry, labels)
  }
  let figures = labels.get(resource.label)
  if (figures === undefined) {
    const attributes = { primitive: resource.label }
    figures = { wait: new Times(), hold: new Times() }
    series(waitTimeOf(attributes), figures.wait, context)
    series(holdTimeOf(attributes), figures.hold, context)
    labels.set(resource.label, figures)
  }
  resource.figures = figures
  return figures
}

const ignore = () => {}

const series = (metric: Metric.Histogram<number>, times: Times, context: Context.Context<never>): void => {
  Metric.registerUnsafe(metric, context, { get: () => times.state(), update: ignore, modify: ignore })
}
