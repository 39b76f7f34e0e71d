/**
 * The cluster's database: a throwaway Postgres for tests, demos and local use,
 * or the one `DATABASE_URL` names.
 *
 * @since 0.1.0
 */

import { execFile, spawn } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { chown, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { SqlClient } from "effect/sql/SqlClient"
import { DatabaseUnavailable, PostgresNotFound, PostgresStartError } from "./internal/errors.ts"
import { freePort } from "./internal/settings.ts"

export {
  /**
   * The cluster's database could not be reached or used.
   *
   * @category errors
   * @since 0.1.0
   */
  DatabaseUnavailable,
  /**
   * No Postgres server programs were found; the error says how to install them.
   *
   * @category errors
   * @since 0.1.0
   */
  PostgresNotFound,
  /**
   * `initdb` or `pg_ctl` failed while a throwaway Postgres started.
   *
   * @category errors
   * @since 0.1.0
   */
  PostgresStartError
} from "./internal/errors.ts"

/**
 * A Postgres database the cluster can use.
 *
 * @category models
 * @since 0.1.0
 */
export interface Database {
  /** A `postgres://` URL for it. */
  readonly url: string
  /** `true` for a throwaway database that this process started and will delete. */
  readonly throwaway: boolean
}

const run = (file: string, args: ReadonlyArray<string>, step: string) =>
  Effect.callback<string, PostgresStartError>((resume) => {
    execFile(file, args, { encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) {
        const said = `${stderr}${stdout}`.trim().split("\n").slice(-3).join(" ")
        resume(Effect.fail(new PostgresStartError({ step, reason: said || error.message })))
      } else {
        resume(Effect.succeed(stdout))
      }
    })
  })

/** The folders where Postgres's server programs may live, most likely first. */
const candidates = (): Array<string> => {
  const folders: Array<string> = []
  if (process.env.STRAND_PG_BIN) folders.push(process.env.STRAND_PG_BIN)
  for (const version of safeList("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))) {
    folders.push(`/usr/lib/postgresql/${version}/bin`)
  }
  folders.push(...(process.env.PATH ?? "").split(":").filter((folder) => folder !== ""))
  folders.push("/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin")
  return [...new Set(folders)]
}

const safeList = (folder: string): Array<string> => {
  try {
    return readdirSync(folder)
  } catch {
    return []
  }
}

/**
 * The folder that holds Postgres's server programs (`initdb`, `pg_ctl`), as
 * `throwaway` finds it, or `PostgresNotFound`, which says how to install them.
 *
 * **When to use**
 *
 * To skip, with a message, what needs a throwaway Postgres on a machine that
 * has none, instead of failing half-way.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Postgres } from "@strand/cluster"
 *
 * const program = Postgres.serverPrograms.pipe(
 *   Effect.flatMap((folder) => Effect.log(`Postgres's programs are in ${folder}`)),
 *   Effect.catchTag("PostgresNotFound", (error) => Effect.log(error.message))
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const serverPrograms: Effect.Effect<string, PostgresNotFound> = Effect.suspend(() => {
  const folders = candidates()
  const found = folders.find((folder) => existsSync(join(folder, "initdb")) && existsSync(join(folder, "pg_ctl")))
  return found === undefined ? Effect.fail(new PostgresNotFound({ searched: folders })) : Effect.succeed(found)
})

/** `initdb` and `pg_ctl` refuse to run as root, so root runs them as the `postgres` user. */
const asServerUser = Effect.gen(function* () {
  if (process.getuid?.() !== 0) return { wrap: (file: string, args: ReadonlyArray<string>) => [file, args] as const }
  const ids = yield* run("id", ["-u", "postgres"], "find the postgres user").pipe(
    Effect.zip(run("id", ["-g", "postgres"], "find the postgres user")),
    Effect.mapError(
      () =>
        new PostgresStartError({
          step: "find the postgres user",
          reason:
            "this process runs as root, which Postgres refuses, and there is no `postgres` user to run it as; " +
            "run as another user, or create one (`useradd postgres`)"
        })
    )
  )
  return {
    uid: Number(ids[0].trim()),
    gid: Number(ids[1].trim()),
    wrap: (file: string, args: ReadonlyArray<string>) => ["runuser", ["-u", "postgres", "--", file, ...args]] as const
  }
})

/**
 * A process that outlives this one only to stop the server and delete its
 * folder once this process has gone without doing so (SIGKILL, or a program
 * that exits without closing its scopes). Closing the scope ends it first.
 */
const watchdog = (stop: readonly [string, ReadonlyArray<string>], folder: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`
      const script =
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
        `${[stop[0], ...stop[1]].map(quote).join(" ")} >/dev/null 2>&1; rm -rf ${quote(folder)}`
      const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" })
      child.unref()
      return child
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

/**
 * Starts a throwaway Postgres: `initdb` in a new temporary folder, a server
 * on a free port of 127.0.0.1, stopped and deleted when the scope closes.
 *
 * **When to use**
 *
 * Tests, demos and local development, where nobody should have to set up a
 * database first. Production clusters use a database you run (see `layer`).
 *
 * **Details**
 *
 * The server trusts local connections and skips `fsync`: it is fast and holds
 * nothing worth keeping. As root, Postgres's programs run as the `postgres`
 * user (they refuse root). The programs are looked for in `STRAND_PG_BIN`,
 * `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql` package), then
 * the `PATH`; if none is found, the typed `PostgresNotFound` says how to
 * install them. If this process ends without closing the scope (SIGKILL, say),
 * a small watchdog process stops the server and deletes its folder within a
 * second or so.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Postgres } from "@strand/cluster"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const database = yield* Postgres.throwaway
 *     yield* Effect.log(`a throwaway Postgres at ${database.url}`)
 *   })
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const throwaway: Effect.Effect<Database, PostgresNotFound | PostgresStartError, Scope.Scope> = Effect.gen(
  function* () {
    const bin = yield* serverPrograms
    const user = yield* asServerUser
    const folder = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => mkdtemp(join(tmpdir(), "strand-pg-")),
        catch: (error) => new PostgresStartError({ step: "make a temporary folder", reason: String(error) })
      }),
      (folder) => Effect.promise(() => rm(folder, { recursive: true, force: true }))
    )
    if ("uid" in user && user.uid !== undefined && user.gid !== undefined) {
      const { uid, gid } = user
      yield* Effect.tryPromise({
        try: () => chown(folder, uid, gid),
        catch: (error) => new PostgresStartError({ step: "hand the folder to postgres", reason: String(error) })
      })
    }
    const data = join(folder, "data")
    const exec = (program: string, args: ReadonlyArray<string>, step: string) => {
      const [file, wrapped] = user.wrap(join(bin, program), args)
      return run(file, wrapped, step)
    }
    yield* exec("initdb", ["-D", data, "-A", "trust", "-U", "strand", "-E", "UTF8", "--no-sync"], "initdb")
    const port = yield* freePort("127.0.0.1").pipe(
      Effect.mapError((error) => new PostgresStartError({ step: "port", reason: error.message }))
    )
    const settings = [
      "-c listen_addresses=127.0.0.1",
      `-p ${port}`,
      `-k ${folder}`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200"
    ].join(" ")
    const log = join(folder, "server.log")
    yield* Effect.acquireRelease(
      exec("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "-o", settings, "start"], "pg_ctl start").pipe(
        Effect.catch((error) =>
          Effect.promise(() => readFile(log, "utf8").catch(() => "")).pipe(
            Effect.flatMap((said) =>
              Effect.fail(
                new PostgresStartError({
                  step: error.step,
                  reason: `${error.reason} ${said.trim().split("\n").slice(-3).join(" ")}`.trim()
                })
              )
            )
          )
        )
      ),
      () => Effect.ignore(exec("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"], "pg_ctl stop"))
    )
    yield* watchdog(user.wrap(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]), folder)
    return { url: `postgres://strand@127.0.0.1:${port}/postgres`, throwaway: true }
  }
)

/**
 * The database in `DATABASE_URL` when it is set, a `throwaway` one otherwise.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Postgres } from "@strand/cluster"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const database = yield* Postgres.fromEnv
 *     yield* Effect.log(database.throwaway ? "started a throwaway Postgres" : `using ${database.url}`)
 *   })
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromEnv: Effect.Effect<Database, PostgresNotFound | PostgresStartError, Scope.Scope> = Effect.suspend(
  () => {
    const url = process.env.DATABASE_URL
    return url !== undefined && url !== "" ? Effect.succeed({ url, throwaway: false }) : throwaway
  }
)

/**
 * Options for `layer`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The database's `postgres://` URL. */
  readonly url: string
  /** How long to try to connect before failing with `DatabaseUnavailable` (default 5 seconds). */
  readonly connectTimeout?: Duration.Input | undefined
}

const hidePassword = (url: string): string => {
  if (url === "") return "(no URL)"
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return "(a URL that does not parse)"
  }
}

/**
 * The SQL client that the cluster's layers need, on the Postgres at `url`.
 *
 * **Details**
 *
 * The layer connects once while it is built, so a database that cannot be
 * reached fails it at once with the typed `DatabaseUnavailable`, never later
 * in the middle of a task.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ClusterPool, Postgres } from "@strand/cluster"
 *
 * const PoolLive = ClusterPool.layer().pipe(
 *   Layer.provide(Postgres.layer({ url: process.env.DATABASE_URL ?? "postgres://localhost/strand" }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<SqlClient | PgClient.PgClient, DatabaseUnavailable> => {
  const timeout = Duration.fromInputUnsafe(options.connectTimeout ?? "5 seconds")
  const unavailable = (reason: string) => new DatabaseUnavailable({ database: hidePassword(options.url), reason })
  return PgClient.layerFrom(
    Effect.gen(function* () {
      if (options.url === "") {
        return yield* Effect.fail(unavailable("no URL was given: set DATABASE_URL, or pass the url option"))
      }
      if (!/^postgres(ql)?:\/\//.test(options.url)) {
        return yield* Effect.fail(unavailable("the URL must start with postgres:// or postgresql://"))
      }
      const client = yield* PgClient.make({
        url: Redacted.make(options.url),
        connectTimeout: timeout,
        maxConnections: 8
      }).pipe(Effect.mapError((error) => unavailable(error.message)))
      yield* client`SELECT 1`.pipe(
        Effect.timeoutOrElse({
          duration: Duration.sum(timeout, Duration.seconds(1)),
          orElse: () => Effect.fail(unavailable(`no answer within ${Duration.format(timeout)}`))
        }),
        Effect.mapError((error) => (error instanceof DatabaseUnavailable ? error : unavailable(error.message)))
      )
      return client
    })
  )
}
