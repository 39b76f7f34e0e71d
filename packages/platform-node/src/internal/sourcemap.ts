/**
 * Stacks of a bundled worker (`bundle: true`), mapped back to the files the
 * bundle was made from. The source map is read the first time a stack needs
 * it, not when the worker starts: Node's `--enable-source-maps` would parse it
 * in every worker up front, which costs more than the rest of the worker.
 *
 * @internal
 */
import { readFileSync } from "node:fs"
import { SourceMap } from "node:module"
import { dirname, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

/** A function that rewrites the frames of `bundle` (a file URL) in a stack; others stay as they are. */
export const stackMapperFor = (bundle: string): ((stack: string) => string) => {
  const path = fileURLToPath(bundle)
  const frame = new RegExp(`(?:${escapeRegExp(bundle)}|${escapeRegExp(path)}):(\\d+):(\\d+)`, "g")
  let map: SourceMap | null | undefined
  const load = (): SourceMap | null => {
    try {
      return new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")))
    } catch {
      return null // no map (removed from the cache): the bundle's own frames stay
    }
  }
  return (stack) => {
    if (!stack.includes(path)) return stack
    map ??= load()
    const found = map
    if (found === null) return stack
    return stack.replace(frame, (whole, line: string, column: string) => {
      const entry = found.findEntry(Number(line) - 1, Number(column) - 1)
      if (!("originalSource" in entry) || entry.originalSource === undefined) return whole
      const source = entry.originalSource.startsWith("file:")
        ? entry.originalSource
        : pathToFileURL(resolve(dirname(path), entry.originalSource)).href
      return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
    })
  }
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
