/**
 * Strand's own register of live runners, in the cluster's database: what each
 * serves and with how many shards, so that a mismatch fails loudly instead of
 * hanging, and a caller with no runner is told so.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { SqlClient } from "effect/sql/SqlClient"
import { ClusterConfigMismatch, DatabaseUnavailable, NoRunners } from "./errors.ts"

/** @internal */
export interface Entry {
  readonly address: string
  readonly shards: number
  readonly tasks: string
}

const unavailable = (error: { readonly message: string }) =>
  new DatabaseUnavailable({ database: "(the cluster's database)", reason: error.message })

const ensureTable = Effect.gen(function* () {
  const sql = yield* SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS strand_runners (
    address TEXT PRIMARY KEY,
    shards INTEGER NOT NULL,
    tasks TEXT NOT NULL,
    heartbeat TIMESTAMPTZ NOT NULL DEFAULT now()
  )`.pipe(
    // Two processes creating the table at once: one of them loses the race harmlessly.
    Effect.retry({ times: 2 })
  )
})

/** The runners whose heartbeat is younger than `expiry`. */
export const live = (expiry: Duration.Duration): Effect.Effect<Array<Entry>, DatabaseUnavailable, SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient
    yield* ensureTable
    const seconds = Duration.toMillis(expiry) / 1000
    const rows = yield* sql<{ address: string; shards: number; tasks: string }>`
      SELECT address, shards, tasks FROM strand_runners
      WHERE heartbeat > now() - make_interval(secs => ${seconds})
      ORDER BY address`
    return rows.map((row) => ({ address: row.address, shards: Number(row.shards), tasks: row.tasks }))
  }).pipe(Effect.mapError(unavailable))

/** The first way `mine` differs from a live runner's entry. */
export const mismatch = (
  mine: { readonly shards: number; readonly tasks?: string | undefined },
  entries: ReadonlyArray<Entry>
): ClusterConfigMismatch | undefined => {
  for (const entry of entries) {
    if (entry.shards !== mine.shards) {
      return new ClusterConfigMismatch({
        setting: "shard count",
        here: String(mine.shards),
        there: String(entry.shards),
        runner: entry.address
      })
    }
    if (mine.tasks !== undefined && entry.tasks !== mine.tasks) {
      return new ClusterConfigMismatch({
        setting: "set of tasks",
        here: `[${mine.tasks}]`,
        there: `[${entry.tasks}]`,
        runner: entry.address
      })
    }
  }
  return undefined
}

/**
 * A runner's entry: checked against the live runners, written, kept alive
 * while the scope is open and deleted when it closes.
 */
export const join = (
  entry: Entry,
  expiry: Duration.Duration
): Effect.Effect<void, DatabaseUnavailable | ClusterConfigMismatch, SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient
    const others = (yield* live(expiry)).filter((other) => other.address !== entry.address)
    const differs = mismatch(entry, others)
    if (differs !== undefined) return yield* Effect.fail(differs)
    const beat = sql`
      INSERT INTO strand_runners (address, shards, tasks, heartbeat)
      VALUES (${entry.address}, ${entry.shards}, ${entry.tasks}, now())
      ON CONFLICT (address) DO UPDATE
      SET shards = EXCLUDED.shards, tasks = EXCLUDED.tasks, heartbeat = now()`
    yield* Effect.acquireRelease(beat.pipe(Effect.mapError(unavailable)), () =>
      Effect.ignore(sql`DELETE FROM strand_runners WHERE address = ${entry.address}`)
    )
    const every = Duration.millis(Math.max(100, Duration.toMillis(expiry) / 3))
    yield* beat.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(every)), Effect.forkScoped)
  })

/**
 * A caller's check: waits until a runner is alive, then compares its shards;
 * `NoRunners` after `timeout`. Returns the tasks the runners serve.
 */
export const awaitRunners = (
  shards: number,
  expiry: Duration.Duration,
  timeout: Duration.Duration
): Effect.Effect<ReadonlySet<string>, DatabaseUnavailable | ClusterConfigMismatch | NoRunners, SqlClient> =>
  live(expiry).pipe(
    Effect.filterOrFail(
      (entries) => entries.length > 0,
      () => new NoRunners({ waitedMillis: Duration.toMillis(timeout) })
    ),
    Effect.retry({ while: (error) => error._tag === "NoRunners", schedule: Schedule.spaced(Duration.millis(200)) }),
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.fail(new NoRunners({ waitedMillis: Duration.toMillis(timeout) }))
    }),
    Effect.flatMap((entries) => {
      const differs = mismatch({ shards }, entries)
      return differs === undefined ? Effect.succeed(servedBy(entries)) : Effect.fail(differs)
    })
  )

/** The names of the tasks the runners serve. */
export const servedBy = (entries: ReadonlyArray<Entry>): ReadonlySet<string> =>
  new Set(entries.flatMap((entry) => entry.tasks.split(",").filter((name) => name !== "")))
