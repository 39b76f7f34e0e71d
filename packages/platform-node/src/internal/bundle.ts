/**
 * Cheap workers (`bundle: true`): the worker module and everything it
 * imports, bundled into one tree-shaken JavaScript file with esbuild on first
 * use, and cached by content. A worker then evaluates only the parts of
 * Effect its handlers use, instead of every module behind the `effect`
 * barrel, and a TypeScript module needs no loader in the worker.
 *
 * - The cache lives in `STRAND_BUNDLE_CACHE`, or `strand-bundles` in the
 *   system's temporary directory. Each bundle has a manifest listing every
 *   file that went into it with its size and modification time; a change to
 *   any of them (or another esbuild, Node or bundle format) builds it again.
 * - Native addons (`.node` files) stay outside the bundle, and so does
 *   anything esbuild cannot bundle: then the build fails and the pool falls
 *   back to the plain module, saying so once.
 * - The bundle keeps a source map, which the worker reads the first time it
 *   reports a defect, so that the stack points at the user's files.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Effect from "effect/Effect"
import { describeThrown } from "./protocol.ts"
import type { PoolConfig } from "./slot.ts"

/** Bumped when the bundle's shape changes, so that old bundles are not reused. */
const FORMAT = 2

/** A file that went into a bundle, as it was then. */
interface Input {
  readonly path: string
  readonly size: number
  readonly mtimeMs: number
}

interface Manifest {
  readonly format: number
  readonly key: string
  readonly output: string
  readonly inputs: ReadonlyArray<Input>
}

const cacheDir = (): string => process.env.STRAND_BUNDLE_CACHE ?? join(tmpdir(), "strand-bundles")

const statOf = (path: string): Input | undefined => {
  try {
    const stat = statSync(path)
    return { path, size: stat.size, mtimeMs: stat.mtimeMs }
  } catch {
    return undefined
  }
}

/** Whether every input of a manifest is still as it was. */
const isFresh = (manifest: Manifest, key: string): boolean =>
  manifest.format === FORMAT &&
  manifest.key === key &&
  statOf(manifest.output) !== undefined &&
  manifest.inputs.every((input) => {
    const now = statOf(input.path)
    return now !== undefined && now.size === input.size && now.mtimeMs === input.mtimeMs
  })

/** The installed esbuild's version, read from its package.json without loading it. */
const esbuildVersion = (): string | undefined => {
  try {
    const path = createRequire(import.meta.url).resolve("esbuild/package.json")
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version
  } catch {
    return undefined
  }
}

/** Modules whose bundling failed, so that the fallback is said once. */
const failed = new Set<string>()

/** The outcome of `bundle`: the module to start, and whether it is a bundle. */
export interface Bundled {
  /** The file a worker starts from: the bundle's bootstrap (see `bootstrap`), or the plain module. */
  readonly module: URL
  /** The bundle itself, whose source map maps its stacks; undefined for the plain module. */
  readonly bundle: URL | undefined
}

/**
 * The bootstrap of a bundle: turns on Node's compile cache in the worker
 * before the bundle is compiled, so that every worker after the first reads
 * the bundle's compiled code from disk instead of parsing it (measured: a
 * fifth less start-up time and about 8 MB less per worker, on 8 workers).
 */
const bootstrap = (bundle: string, compileCache: string): string =>
  `import { enableCompileCache } from "node:module"\n` +
  `try { enableCompileCache(${JSON.stringify(compileCache)}) } catch {}\n` +
  `await import(${JSON.stringify(pathToFileURL(bundle).href)})\n`

const found = (output: string): Bundled => ({
  module: pathToFileURL(output.replace(/\.mjs$/, ".boot.mjs")),
  bundle: pathToFileURL(output)
})

/**
 * The bundle of `module`, built or taken from the cache; the plain module if
 * it cannot be bundled (`warn` is told why, once per module).
 */
export const bundle = async (module: URL, warn: (message: string) => void): Promise<Bundled> => {
  if (module.protocol !== "file:") return { module, bundle: undefined }
  const entry = fileURLToPath(module)
  // esbuild is loaded only to build: a pool that finds its bundle in the cache does not pay for it.
  const version = esbuildVersion()
  if (version === undefined) return fallBack(module, entry, warn, "esbuild is not installed")
  const key = `${entry}\0${version}\0${process.version}\0${FORMAT}`
  const name = createHash("sha256").update(key).digest("hex").slice(0, 24)
  const dir = cacheDir()
  const manifestPath = join(dir, `${name}.json`)
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest
    if (isFresh(manifest, key) && statOf(manifest.output.replace(/\.mjs$/, ".boot.mjs")) !== undefined) {
      return found(manifest.output)
    }
  } catch {
    // no manifest yet, or an unreadable one: build
  }
  try {
    const esbuild = await import("esbuild")
    mkdirSync(dir, { recursive: true })
    const output = join(dir, `${name}.mjs`)
    const temporary = `${output}.${process.pid}.tmp`
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node22",
      minify: true,
      keepNames: true,
      sourcemap: "linked",
      sourcesContent: false,
      metafile: true,
      write: false,
      outfile: output,
      logLevel: "silent",
      // Bundled CommonJS code may call require() for Node's own modules.
      banner: {
        js: 'import { createRequire as __strandRequire } from "node:module"; const require = __strandRequire(import.meta.url);'
      },
      plugins: [
        {
          name: "strand-native-external",
          setup(build) {
            build.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, external: true }))
          }
        }
      ]
    })
    // Written under temporary names, then renamed, so that a pool starting beside this one never
    // reads half a file.
    for (const file of result.outputFiles) {
      const target = file.path === output ? temporary : `${file.path}.${process.pid}.tmp`
      writeFileSync(target, file.contents)
    }
    for (const file of result.outputFiles) {
      renameSync(file.path === output ? temporary : `${file.path}.${process.pid}.tmp`, file.path)
    }
    const inputs: Array<Input> = []
    for (const input of Object.keys(result.metafile.inputs)) {
      const stat = statOf(join(process.cwd(), input)) ?? statOf(input)
      if (stat !== undefined) inputs.push(stat)
    }
    const boot = output.replace(/\.mjs$/, ".boot.mjs")
    writeFileSync(`${boot}.${process.pid}.tmp`, bootstrap(output, join(dir, "compile-cache")))
    renameSync(`${boot}.${process.pid}.tmp`, boot)
    const manifest: Manifest = { format: FORMAT, key, output, inputs }
    writeFileSync(`${manifestPath}.${process.pid}.tmp`, JSON.stringify(manifest))
    renameSync(`${manifestPath}.${process.pid}.tmp`, manifestPath)
    return found(output)
  } catch (error) {
    const detail =
      typeof error === "object" && error !== null && Array.isArray((error as { errors?: unknown }).errors)
        ? (error as { errors: Array<{ text: string }> }).errors.map((e) => e.text).join("; ")
        : describeThrown(error)
    return fallBack(module, entry, warn, detail)
  }
}

const fallBack = (module: URL, entry: string, warn: (message: string) => void, why: string): Bundled => {
  if (!failed.has(entry)) {
    failed.add(entry)
    warn(`${entry} could not be bundled, so its workers load it as it is (bundle: true): ${why}`)
  }
  return { module, bundle: undefined }
}

/** Flags that start a TypeScript loader (tsx's): a bundle is JavaScript, so its workers need none. */
const isLoaderFlag = (flag: string, value: string | undefined): boolean =>
  /^(--import|--require|-r|--loader|--experimental-loader)$/.test(flag) && value !== undefined && /tsx/.test(value)

/**
 * The Node flags for the workers of a bundle: the given ones (or the main
 * thread's), without a TypeScript loader. Source maps are not turned on with
 * `--enable-source-maps`, which parses the whole map in every worker (about
 * 20 MB more per worker, and twice the time to start 8 workers, measured):
 * the runner maps a defect's stack itself, when there is one (see
 * `sourcemap.ts`).
 */
const bundleExecArgv = (execArgv: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!
    const eq = flag.indexOf("=")
    if (eq > 0 && isLoaderFlag(flag.slice(0, eq), flag.slice(eq + 1))) continue
    if (isLoaderFlag(flag, execArgv[i + 1])) {
      i++
      continue
    }
    out.push(flag)
  }
  return out
}

/**
 * `config` with the bundle of its module to start the workers from
 * (`bundle: true`), or as it is if the module cannot be bundled; the reason
 * is logged as a warning.
 */
export const withBundle = (config: PoolConfig): Effect.Effect<PoolConfig> =>
  Effect.gen(function* () {
    const warnings: Array<string> = []
    const result = yield* Effect.promise(() => bundle(config.module, (message) => warnings.push(message)))
    for (const message of warnings) yield* Effect.logWarning(`WorkerPool: ${message}`)
    if (result.bundle === undefined) return config
    return {
      ...config,
      bundled: { start: result.module, bundle: result.bundle },
      execArgv: bundleExecArgv(config.execArgv ?? process.execArgv)
    }
  })
