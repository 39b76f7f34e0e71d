/**
 * The checks of every argument Strand takes, up front, since an untyped
 * caller may pass anything: whole-number counts and `Duration.Input`s
 * (Effect's own `Duration.fromInputUnsafe` throws, or a sleep never ends, on
 * a value such as `"banana"`). A bad argument is always a typed
 * `InvalidArgument` that names the operation, the argument and the value.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { InvalidArgument } from "./errors.ts"

const EXPECTED = 'a duration that is not negative (milliseconds, a string such as "5 seconds", or a Duration)'

const UNITS = new Set(["weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"])

/**
 * Effect reads `NaN` as zero and any object as a (possibly empty) sum of
 * units, so `{ second: 5 }` would silently mean no time at all: refuse both.
 */
const plausible = (input: unknown): boolean => {
  if (typeof input === "number") return !Number.isNaN(input)
  if (typeof input !== "object" || input === null || Array.isArray(input) || Duration.isDuration(input)) return true
  const entries = Object.entries(input)
  return (
    entries.length > 0 && entries.every(([unit, n]) => UNITS.has(unit) && typeof n === "number" && Number.isFinite(n))
  )
}

/** The decoded duration, or the error that names the operation, the argument and the value. */
export const decode = (operation: string, argument: string, input: unknown): Duration.Duration | InvalidArgument => {
  let duration: Duration.Duration | undefined
  try {
    duration = plausible(input) ? Duration.fromInputUnsafe(input as Duration.Input) : undefined
  } catch {
    duration = undefined
  }
  if (duration === undefined || Number.isNaN(Duration.toMillis(duration)) || Duration.toMillis(duration) < 0) {
    return new InvalidArgument({ operation, argument, value: input, expected: EXPECTED })
  }
  return duration
}

/** Runs `f` with the decoded duration (`undefined` stays `undefined`), or fails at once. */
export const withDuration = <A, E, R>(
  operation: string,
  argument: string,
  input: unknown,
  f: (duration: Duration.Duration | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | InvalidArgument, R> => {
  if (input === undefined) return f(undefined)
  const decoded = decode(operation, argument, input)
  return Duration.isDuration(decoded) ? f(decoded) : Effect.fail(decoded)
}

/** `undefined` if `value` is a whole number from `min` to `max`, else the error that names it. */
export const checkWhole = (
  operation: string,
  argument: string,
  value: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
  expected = max === Number.POSITIVE_INFINITY
    ? `a whole number of at least ${min}`
    : `a whole number from ${min} to ${max}`
): InvalidArgument | undefined =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max
    ? undefined
    : new InvalidArgument({ operation, argument, value, expected })

/** The Clock time at which an optional `timeout` argument runs out: `undefined` for none. */
export const deadlineOf = (operation: string, timeout: unknown): Effect.Effect<number | undefined, InvalidArgument> =>
  withDuration(operation, "timeout", timeout, (duration) =>
    duration === undefined
      ? Effect.succeed(undefined)
      : Effect.map(Clock.currentTimeMillis, (now) => now + Duration.toMillis(duration))
  )

/**
 * Waits for `effect`, but not past `deadline`: `false` if the deadline had
 * already passed. The deadline loop of `Select.select` and `Future.wait`.
 * The effect runs on another fiber, so it must not be one that needs the
 * caller's own fiber (a Condition wait, which must own its lock).
 */
export const untilDeadline = <E, R>(
  deadline: number | undefined,
  effect: Effect.Effect<unknown, E, R>
): Effect.Effect<boolean, E, R> =>
  deadline === undefined
    ? Effect.as(effect, true)
    : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        now >= deadline ? Effect.succeed(false) : Effect.as(Effect.timeoutOption(effect, deadline - now), true)
      )
