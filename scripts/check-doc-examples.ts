// Type-checks every ```ts example in the JSDoc of packages/*/src, so that a broken example fails
// `pnpm check`. Each example becomes one module: the imports of all its parts (an example may show
// several files, such as tasks.ts, worker.ts and main.ts) are merged, and imports of those sibling
// files are dropped, since the parts are checked together.
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const out = join(root, "node_modules", ".cache", "doc-examples")

const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

/** The ```ts blocks of the JSDoc comments in `text`, with their line numbers. */
const examples = (text: string): Array<{ line: number; code: Array<string> }> => {
  const found: Array<{ line: number; code: Array<string> }> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\* ```ts\s*$/.test(lines[i]!)) continue
    const code: Array<string> = []
    let j = i + 1
    for (; j < lines.length && !/^\s*\* ```\s*$/.test(lines[j]!); j++) {
      code.push(lines[j]!.replace(/^\s*\*( |$)/, ""))
    }
    found.push({ line: i + 1, code })
    i = j
  }
  return found
}

/** One module from an example's parts: merged imports, sibling imports dropped. */
const moduleOf = (code: Array<string>): string => {
  const imports = new Map<string, Set<string>>()
  const namespaces: Array<string> = []
  const body: Array<string> = []
  for (let i = 0; i < code.length; i++) {
    let line = code[i]!
    if (!/^import\b/.test(line)) {
      body.push(line)
      continue
    }
    while (!/ from "[^"]+"/.test(line) && i + 1 < code.length) line += ` ${code[++i]!.trim()}`
    const spec = line.match(/ from "([^"]+)"/)![1]!
    if (spec.startsWith(".")) continue
    const named = line.match(/\{([^}]*)\}/)
    if (named === null) {
      if (!namespaces.includes(line)) namespaces.push(line)
      continue
    }
    const typeOnly = /^import type /.test(line)
    const names = imports.get(spec) ?? new Set<string>()
    for (const name of named[1]!
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean)) {
      names.add(typeOnly && !name.startsWith("type ") ? `type ${name}` : name)
    }
    imports.set(spec, names)
  }
  const merged = Array.from(imports, ([spec, names]) => `import { ${[...names].join(", ")} } from "${spec}"`)
  return [...merged, ...namespaces, ...body, "export {}", ""].join("\n")
}

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const origin = new Map<string, string>()
let count = 0
for (const pkg of ["core", "platform-node", "cluster"]) {
  for (const file of sources(join(root, "packages", pkg, "src"))) {
    for (const { line, code } of examples(readFileSync(file, "utf8"))) {
      const name = `example-${++count}.ts`
      writeFileSync(join(out, name), moduleOf(code))
      origin.set(name, `${relative(root, file)}:${line}`)
    }
  }
}
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    extends: join(root, "tsconfig.base.json"),
    compilerOptions: {
      noEmit: true,
      composite: false,
      incremental: false,
      declaration: false,
      declarationMap: false,
      sourceMap: false,
      noUnusedLocals: false,
      noUnusedParameters: false
    },
    include: ["*.ts"]
  })
)
try {
  execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", out], { stdio: "pipe" })
  console.log(`${count} JSDoc examples type-check`)
} catch (error) {
  const report = String((error as { stdout?: Buffer }).stdout ?? error).replace(
    /(?:\S*\/)?(example-\d+\.ts)/g,
    (_, name: string) => `${name} (${origin.get(name)})`
  )
  console.error(`JSDoc examples that do not type-check:\n${report}`)
  process.exit(1)
}
