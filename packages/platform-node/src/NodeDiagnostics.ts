/**
 * Node's half of Strand's diagnostics: a stuck-program detector and an
 * event-loop blocking detector, on top of `Diagnostics` from `@strand/core`.
 *
 * **When to use**
 *
 * Run a program's main effect with `NodeDiagnostics.runMain` instead of
 * `Effect.runPromise` while developing, or whenever a silent hang would be
 * worse than a loud failure.
 *
 * **Details**
 *
 * - With `Effect.runPromise`, a program whose fibers all wait on each other
 *   lets Node's event loop run dry: Node exits with code 0 and the promise
 *   never settles. `runMain` notices that moment (Node's `beforeExit`: no
 *   timer or I/O is pending, yet the main effect has not finished), prints
 *   every parked fiber and what it waits on, and exits with code 2.
 * - It also turns on `Diagnostics` (deadlock breaking, lock-order checking,
 *   starvation reports) and, with `eventLoopThreshold`, warns whenever the
 *   event loop was blocked for longer than that: a sign of CPU-bound work on
 *   the main thread that belongs on a `WorkerPool`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 * import { NodeDiagnostics } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make({ name: "a" })
 *   yield* lock.acquire
 *   yield* Effect.forkChild(lock.acquire) // waits forever
 *   yield* Effect.never
 * })
 *
 * // Prints the parked fibers and exits with code 2, instead of exiting 0 in silence.
 * NodeDiagnostics.runMain(program, { eventLoopThreshold: "100 millis" })
 * ```
 *
 * @since 0.1.0
 */
import { Diagnostics } from "@strand/core"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { durationMillis } from "./internal/options.ts"

/**
 * Options for `runMain`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends Diagnostics.Options {
  /** Warn when the event loop is blocked for longer than this. Off when left out. */
  readonly eventLoopThreshold?: Duration.Input | undefined
}

/**
 * Warns whenever the event loop was blocked for longer than `threshold`.
 *
 * **When to use**
 *
 * Use to find CPU-bound work running on the main thread, where it stalls
 * every fiber; the report suggests moving it to a `WorkerPool`.
 *
 * **Details**
 *
 * A timer ticks every half threshold and measures how late it fires; it never
 * keeps the program alive. Reports go to the `Diagnostics` in context, so
 * provide `Diagnostics.layer` too (`runMain` does).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Diagnostics } from "@strand/core"
 * import { NodeDiagnostics } from "@strand/platform-node"
 *
 * const DiagnosticsLive = Layer.merge(Diagnostics.layer(), NodeDiagnostics.layerEventLoopMonitor("50 millis"))
 * const program = Effect.void.pipe(Effect.provide(DiagnosticsLive))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const layerEventLoopMonitor = (threshold: Duration.Input): Layer.Layer<never, Diagnostics.InvalidArgument> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const limit = durationMillis(threshold)
      if (limit === undefined) {
        return yield* new Diagnostics.InvalidArgument({
          operation: "NodeDiagnostics.layerEventLoopMonitor",
          argument: "threshold",
          value: threshold,
          expected: 'a duration that is not negative (milliseconds, a string such as "5 seconds", or a Duration)'
        })
      }
      const interval = Math.max(5, limit / 2)
      const report = Effect.runForkWith(yield* Effect.context<never>())
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          let last = performance.now()
          const timer = setInterval(() => {
            const now = performance.now()
            const blocked = now - last - interval
            last = now
            if (blocked <= limit) return
            report(
              Diagnostics.report({
                _tag: "EventLoopBlocked",
                message:
                  `the event loop was blocked for ${blocked.toFixed(0)} ms (threshold ${limit} ms): ` +
                  "a fiber ran CPU-bound work on the main thread. Move that work to a WorkerPool."
              })
            )
          }, interval)
          timer.unref()
          return timer
        }),
        (timer) => Effect.sync(() => clearInterval(timer))
      )
    })
  )

/**
 * Runs a program's main effect with diagnostics, and fails loudly if it gets stuck.
 *
 * **When to use**
 *
 * Use as the entry point of a program in place of `Effect.runPromise`.
 *
 * **Details**
 *
 * - If every fiber is parked and nothing else is pending, it prints the
 *   diagnostics dump (who holds and who waits for each Strand primitive) and
 *   exits with code 2.
 * - If the effect fails, it prints the cause and exits with code 1.
 * - Ctrl-C (SIGINT) or SIGTERM interrupts the program, so its finalizers run,
 *   then it exits with code 130 or 143.
 * - `onExit`, if given, receives the exit code instead of `process.exitCode`
 *   being set (for embedding and tests).
 *
 * @example
 * ```ts
 * import { Console } from "effect"
 * import { NodeDiagnostics } from "@strand/platform-node"
 *
 * NodeDiagnostics.runMain(Console.log("hello"))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const runMain = <A, E>(
  effect: Effect.Effect<A, E>,
  options?: Options & { readonly onExit?: ((code: number) => void) | undefined }
): void => {
  const diagnostics = Diagnostics.makeUnsafe(options)
  const layer =
    options?.eventLoopThreshold === undefined
      ? diagnostics.layer
      : Layer.provideMerge(layerEventLoopMonitor(options.eventLoopThreshold), diagnostics.layer)
  const exit = (code: number) => {
    if (options?.onExit) options.onExit(code)
    else process.exitCode = code
  }
  let finished = false
  const onBeforeExit = () => {
    if (finished) return
    finished = true
    const message =
      "the program is stuck: its main effect is still waiting, but no timer or I/O is pending, " +
      "so no fiber can make progress. What each Strand primitive's holders and waiters are doing:\n" +
      diagnostics.dumpUnsafe()
    diagnostics.reportUnsafe({ _tag: "Stuck", message })
    console.error(`[strand] Stuck: ${message}`)
    exit(2)
  }
  process.on("beforeExit", onBeforeExit)
  // Ctrl-C or a SIGTERM interrupts the program, so its finalizers run (a pool's threads are
  // stopped, files closed), as Effect's own NodeRuntime.runMain does; the exit code is 128 + signal.
  // The handlers go in before the program starts, which may run its first steps at once.
  let signal: NodeJS.Signals | undefined
  let running: Fiber.Fiber<unknown, unknown> | undefined
  const onSignal = (received: NodeJS.Signals) => {
    signal ??= received
    running?.interruptUnsafe()
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const fiber = Effect.runFork(Effect.provide(effect, layer))
  running = fiber
  if (signal !== undefined) fiber.interruptUnsafe()
  fiber.addObserver((result) => {
    process.off("beforeExit", onBeforeExit)
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    if (finished) return
    finished = true
    // After a signal, leave now even if a handle outside the program would keep Node alive.
    if (signal !== undefined) {
      const code = signal === "SIGINT" ? 130 : 143
      return options?.onExit ? options.onExit(code) : process.exit(code)
    }
    if (Exit.isSuccess(result) || Cause.hasInterruptsOnly(result.cause)) return exit(0)
    console.error(Cause.pretty(result.cause))
    exit(1)
  })
}
