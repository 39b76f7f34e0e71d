/**
 * Makes the hazards of concurrency visible: deadlocks are detected and broken,
 * lock-order inversions and starvation are reported, and every live primitive
 * can be dumped with its holders and waiters, like a thread dump.
 *
 * **When to use**
 *
 * Provide `Diagnostics.layer()` in development and tests, or in production
 * when you are hunting a hang. Node programs can add the stuck-program and
 * event-loop detectors of `@strand/platform-node`'s `NodeDiagnostics`.
 *
 * **Details**
 *
 * - Primitives made (with `make`) while the layer is provided are tracked:
 *   `Lock`, `RLock`, `BoundedSemaphore`, and `Condition` (whose waits show in
 *   the dump). Primitives made with `makeUnsafe` are not.
 * - Deadlock detection keeps a wait-for graph. When a fiber's wait would close
 *   a cycle, that fiber's wait fails with `DeadlockDetected`, which names every
 *   fiber in the cycle, the lock it waits for, who holds it and where it was
 *   acquired: the fiber can release what it holds and retry, as a database
 *   breaks a deadlock. (A `Condition` reacquiring its lock cannot be refused;
 *   a cycle it closes is reported instead.)
 * - Lock-order checking, in the style of Linux's lockdep, learns the order in
 *   which named primitives are taken and reports a possible inversion (A then
 *   B in one place, B then A in another) even when no deadlock happened.
 * - A waiter past `starvationThreshold` is reported once; wait-time and
 *   hold-time histograms are read through Effect's `Metric`, by primitive
 *   (see `metrics`).
 * - Acquisition sites come from the fiber's innermost `Effect.fn` span.
 * - Tracking costs time on every acquire and release (see `pnpm bench`), so
 *   it is off unless the layer is provided.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Diagnostics, Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const a = yield* Lock.make({ name: "a" })
 *   const b = yield* Lock.make({ name: "b" })
 *   const left = Lock.withLock(a, Effect.andThen(Effect.sleep(10), Lock.withLock(b, Effect.void)))
 *   const right = Lock.withLock(b, Effect.andThen(Effect.sleep(10), Lock.withLock(a, Effect.void)))
 *   // One of the two fails with DeadlockDetected instead of both hanging forever.
 *   return yield* Effect.all([Effect.exit(left), Effect.exit(right)], { concurrency: 2 })
 * }).pipe(Effect.provide(Diagnostics.layer()))
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { decode } from "./internal/arguments.ts"
import type { InvalidArgument } from "./internal/errors.ts"
import { holdTime, waitTime } from "./internal/figures.ts"
import { CurrentTracker, type Report, Tracker } from "./internal/tracker.ts"

export {
  /**
   * A wait was refused because it would have closed a cycle of fibers waiting on each other.
   *
   * @category errors
   * @since 0.1.0
   */
  DeadlockDetected,
  /**
   * `starvationThreshold` is not a duration (from an untyped caller).
   *
   * @category errors
   * @since 0.2.0
   */
  InvalidArgument
} from "./internal/errors.ts"

export type {
  /**
   * Something diagnostics noticed: a deadlock, a lock-order inversion, a
   * starving waiter, a blocked event loop or a stuck program.
   *
   * @category errors
   * @since 0.1.0
   */
  Report
} from "./internal/tracker.ts"

/**
 * Options for `Diagnostics.layer`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** A waiter waiting longer than this is reported as starving. Default 1 second. */
  readonly starvationThreshold?: Duration.Input | undefined
  /** Receives every report. Default: `console.warn`, prefixed with `[strand]`. */
  readonly onReport?: ((report: Report) => void) | undefined
}

const defaultOnReport = (report: Report) => console.warn(`[strand] ${report._tag}: ${report.message}`)

/**
 * A diagnostics instance that code outside of Effect can also read: a signal
 * handler, a debug endpoint, a stuck-program detector.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handle {
  /** Provides this instance: primitives made under it are tracked. */
  /** Turns diagnostics on; fails with `InvalidArgument` if `starvationThreshold` is not a duration. */
  readonly layer: Layer.Layer<never, InvalidArgument>
  /** The thread dump, as `dump`. */
  dumpUnsafe(): string
  /** Every report so far, as `reports`. */
  reportsUnsafe(): ReadonlyArray<Report>
  /** Records a report, as `report`. */
  reportUnsafe(report: Report): void
}

/**
 * Creates a diagnostics instance and its layer.
 *
 * **When to use**
 *
 * Use when something outside of Effect must read the dump, such as a signal
 * handler: `process.on("SIGUSR2", () => console.log(handle.dumpUnsafe()))`.
 * Otherwise `layer` is enough.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Diagnostics } from "@strand/core"
 *
 * const diagnostics = Diagnostics.makeUnsafe({ starvationThreshold: "2 seconds" })
 * const program = Effect.void.pipe(Effect.provide(diagnostics.layer))
 * console.log(diagnostics.dumpUnsafe())
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (options?: Options): Handle => {
  const decoded = decode("Diagnostics", "starvationThreshold", options?.starvationThreshold ?? "1 second")
  const threshold = Duration.isDuration(decoded) ? Duration.toMillis(decoded) : 1000
  const tracker = new Tracker({ starvationThresholdMillis: threshold, onReport: options?.onReport ?? defaultOnReport })
  const sweeping = Effect.acquireRelease(
    Effect.sync(() => {
      const sweep = setInterval(() => tracker.sweep(), Math.max(10, threshold / 2))
      // A raw timer, unref'd, rather than a fiber on a Schedule: Effect's sleep holds a ref'd
      // timer, which would keep a stuck program alive and hide it from NodeDiagnostics.runMain.
      ;(sweep as { unref?: () => void }).unref?.()
      return sweep
    }),
    (sweep) => Effect.sync(() => clearInterval(sweep))
  )
  return {
    layer: Duration.isDuration(decoded)
      ? (Layer.effect(CurrentTracker, Effect.as(sweeping, tracker)) as Layer.Layer<never>)
      : Layer.effectDiscard(Effect.fail(decoded)),
    dumpUnsafe: () => tracker.dump(),
    reportsUnsafe: () => [...tracker.reports],
    reportUnsafe: (report) => tracker.report(report)
  }
}

/**
 * Turns diagnostics on for every primitive made under it.
 *
 * **When to use**
 *
 * Provide it around the program (or a test) whose locks you want checked.
 *
 * **Details**
 *
 * While the layer lives, a light timer (which never keeps a program alive)
 * looks for waiters past the starvation threshold.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Diagnostics } from "@strand/core"
 *
 * const reports: Array<string> = []
 * const DiagnosticsLive = Diagnostics.layer({
 *   starvationThreshold: "500 millis",
 *   onReport: (report) => reports.push(report.message)
 * })
 * const program = Effect.void.pipe(Effect.provide(DiagnosticsLive))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<never, InvalidArgument> => makeUnsafe(options).layer

/**
 * The wait-time and hold-time histograms, in milliseconds, with a `primitive`
 * attribute naming each tracked primitive.
 *
 * **When to use**
 *
 * Use to export contention figures, or to read them in tests with `Metric.value`.
 *
 * **Details**
 *
 * A primitive's two series are registered (with `Metric.registerUnsafe`) in
 * the metric registry of the first fiber that waits for it or releases it,
 * with that fiber's `Metric.CurrentMetricAttributes` besides `primitive`, and
 * every later wait and hold of that primitive is counted there. The tracker
 * keeps the counts itself and the registry reads them when metrics are read:
 * an update through `Metric.update` looks its series up on every call, which
 * cost as much as the rest of a tracked hold. Primitives that share a label
 * share their series, as they would through `Metric.update`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { Diagnostics } from "@strand/core"
 *
 * const waits = Metric.withAttributes(Diagnostics.metrics.waitTime, { primitive: 'Lock "accounts"' })
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const metrics = { waitTime, holdTime }

const withTracker = <A>(f: (tracker: Tracker) => A, otherwise: A): Effect.Effect<A> =>
  Effect.withFiber((fiber) => {
    const tracker = fiber.getRef(CurrentTracker)
    return Effect.succeed(tracker === undefined ? otherwise : f(tracker))
  })

/**
 * A thread dump: every live tracked primitive with its holders and waiters.
 *
 * **When to use**
 *
 * Print it on demand (from a signal handler, a debug endpoint, a test) to see
 * who holds what and who waits for what, and for how long.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { Diagnostics, Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make({ name: "accounts" })
 *   yield* lock.acquire
 *   yield* Console.log(yield* Diagnostics.dump) // Lock "accounts": held by fiber #…
 * }).pipe(Effect.provide(Diagnostics.layer()))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const dump: Effect.Effect<string> = withTracker(
  (tracker) => tracker.dump(),
  "diagnostics are off: provide Diagnostics.layer() to track Strand primitives"
)

/**
 * Every report made so far under the current `Diagnostics.layer`.
 *
 * **When to use**
 *
 * Use in tests, to assert that a run raised no deadlock or inversion.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Diagnostics } from "@strand/core"
 *
 * const program = Effect.map(Diagnostics.reports, (reports) => reports.length).pipe(
 *   Effect.provide(Diagnostics.layer())
 * )
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const reports: Effect.Effect<ReadonlyArray<Report>> = withTracker((tracker) => [...tracker.reports], [])

/**
 * Records a report, for detectors outside this package (such as `NodeDiagnostics`).
 *
 * **When to use**
 *
 * Use when writing a detector of your own that should report like Strand's.
 *
 * @example
 * ```ts
 * import { Diagnostics } from "@strand/core"
 *
 * const warn = Diagnostics.report({ _tag: "Starvation", message: "the job queue has not moved for 10 s" })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const report = (report: Report): Effect.Effect<void> =>
  withTracker((tracker) => tracker.report(report), undefined)
