/**
 * The cluster package's typed errors. Each one says what happened and what to do.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/** @internal */
export class PostgresNotFound extends Schema.TaggedError<PostgresNotFound>()("PostgresNotFound", {
  searched: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return (
      `no Postgres server programs (initdb and pg_ctl) were found in ${this.searched.join(", ")}. ` +
      "Install them (Debian or Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql`), " +
      "point STRAND_PG_BIN at the folder that holds them, or set DATABASE_URL to a database you run yourself."
    )
  }
}

/** @internal */
export class PostgresStartError extends Schema.TaggedError<PostgresStartError>()("PostgresStartError", {
  step: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the throwaway Postgres could not be started (${this.step}): ${this.reason}`
  }
}

/** @internal */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  database: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `the cluster's database at ${this.database} cannot be used: ${this.reason}. ` +
      "Check that Postgres is running there and that the URL (host, port, user, database) is right."
    )
  }
}

/** @internal */
export class NoRunners extends Schema.TaggedError<NoRunners>()("NoRunners", {
  waitedMillis: Schema.Number
}) {
  override get message(): string {
    return (
      `no cluster runner was alive in the cluster's database after ${this.waitedMillis} ms, so no task could run. ` +
      "Start at least one runner process (ClusterRunner.layer) against the same database, " +
      "or raise startupTimeout if runners are still starting."
    )
  }
}

/** @internal */
export class ClusterConfigMismatch extends Schema.TaggedError<ClusterConfigMismatch>()("ClusterConfigMismatch", {
  setting: Schema.String,
  here: Schema.String,
  there: Schema.String,
  runner: Schema.String
}) {
  override get message(): string {
    return (
      `this process's ${this.setting} is ${this.here}, but runner ${this.runner} has ${this.there}. ` +
      "Every process of one cluster must use the same shards and serve the same tasks: " +
      "give them the same settings, or stop the runners that run an older version first."
    )
  }
}
