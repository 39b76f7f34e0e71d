// The packages as a user gets them: packed, installed with npm into an empty project outside the
// workspace, type-checked under strict/nodenext, and run as compiled JavaScript with plain node.
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const exec = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))
const tsc = join(root, "node_modules", ".bin", "tsc")

const files: Record<string, string> = {
  "package.json": JSON.stringify({ name: "strand-user", private: true, type: "module" }),
  "tsconfig.json": JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      strict: true,
      exactOptionalPropertyTypes: true,
      types: ["node"],
      outDir: "dist",
      rootDir: "src"
    },
    include: ["src"]
  }),
  "src/tasks.ts": `import { Schema } from "effect"
import { Task } from "@strand/platform-node"
export const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
`,
  "src/worker.ts": `import { Effect } from "effect"
import { WorkerRunner } from "@strand/platform-node"
import { Square } from "./tasks.js"
WorkerRunner.launch([WorkerRunner.handle(Square, (n) => Effect.succeed(n * n))])
`,
  "src/main.ts": `import { Effect } from "effect"
import { Lock } from "@strand/core"
import { WorkerPool } from "@strand/platform-node"
import { Square } from "./tasks.js"
const program = Effect.gen(function* () {
  const lock = yield* Lock.make()
  const squares = yield* Lock.withLock(lock, WorkerPool.map(Square, [1, 2, 3]))
  const wrong = yield* Effect.flip(WorkerPool.checkOptions({ module: "./worker.js" }))
  // The same compiled worker module, in worker processes.
  const inProcesses = yield* Effect.scoped(
    Effect.flatMap(
      WorkerPool.make({ module: new URL("./worker.js", import.meta.url), size: 1, isolation: "process" }),
      (pool) => pool.map(Square, [4, 5])
    )
  )
  return { squares, inProcesses, wrong: wrong.option }
}).pipe(Effect.provide(WorkerPool.layer({ module: new URL("./worker.js", import.meta.url), size: 2 })))
Effect.runPromise(program).then((result) => console.log(JSON.stringify(result)))
`,
  // The cluster's caller and runner in one process, on Effect's in-memory TestRunner.
  "src/cluster.ts": `import { Effect, Layer } from "effect"
import { TestRunner } from "effect/cluster"
import { ClusterPool, ClusterRunner, Postgres } from "@strand/cluster"
import { WorkerPool } from "@strand/platform-node"
import { Square } from "./tasks.js"
const InMemory = ClusterPool.layerOnSharding().pipe(
  Layer.provideMerge(ClusterRunner.layerOnSharding({ tasks: [Square] })),
  Layer.provide(WorkerPool.layer({ module: new URL("./worker.js", import.meta.url), size: 1 })),
  Layer.provide(TestRunner.layer)
)
const program = Effect.gen(function* () {
  const squares = yield* WorkerPool.map(Square, [6, 7]).pipe(Effect.provide(InMemory))
  const noDatabase = yield* Effect.flip(Effect.scoped(Layer.build(Postgres.layer({ url: "" }))))
  return { squares, noDatabase: noDatabase._tag }
})
Effect.runPromise(program).then((result) => console.log(JSON.stringify(result)))
`
}

describe("packaging", () => {
  it("packed tarballs install with npm outside the workspace, type-check and run on plain node", async () => {
    const work = mkdtempSync(join(tmpdir(), "strand-pack-"))
    const packs = join(work, "packs")
    for (const name of ["core", "platform-node", "cluster"]) {
      await exec("pnpm", ["pack", "--pack-destination", packs], { cwd: join(root, "packages", name) })
    }
    const tarballs = readdirSync(packs).map((file) => join(packs, file))
    assert.lengthOf(tarballs, 3)
    for (const tarball of tarballs) {
      const { stdout } = await exec("tar", ["-tzf", tarball])
      assert.include(stdout, "package/README.md")
      assert.include(stdout, "package/LICENSE")
      assert.include(stdout, "package/dist/index.d.ts")
      assert.notInclude(stdout, "tsbuildinfo")
      assert.notInclude(stdout, "package/test/")
    }

    const project = join(work, "project")
    for (const [file, text] of Object.entries(files)) {
      const path = join(project, file)
      await exec("mkdir", ["-p", join(path, "..")])
      writeFileSync(path, text)
    }
    await exec(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        ...tarballs,
        "effect@4.1.0",
        "@effect/platform-node@4.1.0",
        "@types/node@24"
      ],
      { cwd: project, timeout: 240_000 }
    )
    await exec(tsc, ["-p", "."], { cwd: project })
    const { stdout } = await exec(process.execPath, ["dist/main.js"], { cwd: project, timeout: 60_000 })
    assert.deepStrictEqual(JSON.parse(stdout), { squares: [1, 4, 9], inProcesses: [16, 25], wrong: "module" })
    const cluster = await exec(process.execPath, ["dist/cluster.js"], { cwd: project, timeout: 60_000 })
    assert.deepStrictEqual(JSON.parse(cluster.stdout), { squares: [36, 49], noDatabase: "DatabaseUnavailable" })
  }, 300_000)
})
