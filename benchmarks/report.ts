// Summaries, target checks, the markdown table and the SVG chart of `pnpm bench`.

export interface Summary {
  readonly scenario: string
  readonly subject: string
  readonly metric: string
  readonly unit: string
  readonly samples: ReadonlyArray<number>
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface Target {
  readonly target: string
  readonly figure: string
  readonly pass: boolean
}

export const summarize = (
  scenario: string,
  subject: string,
  metric: string,
  unit: string,
  samples: ReadonlyArray<number>
): Summary => {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    scenario,
    subject,
    metric,
    unit,
    samples,
    median: sorted[Math.floor(sorted.length / 2)]!,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!
  }
}

/**
 * How much the figures moved since an earlier run: of the figures both runs have, the share of
 * each moved by less than its median and its 90th percentile of relative change, and the largest.
 */
export const movement = (current: ReadonlyArray<Summary>, earlier: ReadonlyArray<Summary>, date: string): string => {
  const key = (s: Summary) => `${s.scenario}|${s.subject}|${s.metric}`
  const before = new Map(earlier.map((s) => [key(s), s.median]))
  const changes: Array<{ readonly change: number; readonly name: string }> = []
  for (const s of current) {
    const old = before.get(key(s))
    if (old === undefined || !Number.isFinite(old) || !Number.isFinite(s.median) || old === 0) continue
    changes.push({ change: Math.abs(s.median - old) / Math.abs(old), name: `${s.scenario}, ${s.subject}, ${s.metric}` })
  }
  if (changes.length === 0) return `No figure of the run of ${date} compares with this one.`
  changes.sort((a, b) => a.change - b.change)
  const at = (q: number) =>
    `${(100 * changes[Math.min(changes.length - 1, Math.floor(q * changes.length))]!.change).toFixed(0)} %`
  const largest = changes[changes.length - 1]!
  return (
    `Against the run of ${date} (the code changed in between, so this is drift and change together): ` +
    `of ${changes.length} figures in both, half moved by less than ${at(0.5)} and nine in ten by less than ${at(0.9)}; ` +
    `the most, by ${(100 * largest.change).toFixed(0)} %, was ${largest.name}.`
  )
}

const format = (x: number) =>
  !Number.isFinite(x) ? "hung" : Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en") : x.toFixed(2)

export const markdown = (
  machine: string,
  summaries: ReadonlyArray<Summary>,
  targets: ReadonlyArray<Target>,
  notes: ReadonlyArray<string>
) => {
  const lines = [
    `Machine: ${machine}`,
    "",
    ...notes.map((note) => `- ${note}`),
    "",
    "| target | measured | result |",
    "|---|---|---|",
    ...targets.map((t) => `| ${t.target} | ${t.figure} | ${t.pass ? "pass" : "FAIL"} |`),
    "",
    "| scenario | subject | metric | median | min – max |",
    "|---|---|---|---|---|",
    ...summaries.map(
      (s) =>
        `| ${s.scenario} | ${s.subject} | ${s.metric} (${s.unit}) | ${format(s.median)} | ${format(s.min)} – ${format(s.max)} |`
    )
  ]
  return lines.join("\n")
}

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;")

/** Two horizontal bar charts: CPU speedup and pipelined throughput, by library. */
export const svg = (speedup: ReadonlyArray<[string, number]>, throughput: ReadonlyArray<[string, number]>) => {
  const rowHeight = 22
  const width = 720
  const chart = (title: string, rows: ReadonlyArray<[string, number]>, y0: number, unit: string) => {
    const max = Math.max(...rows.map(([, v]) => v), 1e-9)
    const parts = [`<text x="10" y="${y0}" font-weight="bold">${escapeXml(title)}</text>`]
    rows.forEach(([label, value], i) => {
      const y = y0 + 12 + i * rowHeight
      const bar = Math.max(1, (value / max) * 400)
      parts.push(
        `<text x="10" y="${y + 15}">${escapeXml(label)}</text>`,
        `<rect x="170" y="${y + 3}" width="${bar.toFixed(1)}" height="16" fill="${label === "strand" ? "#2f6fdf" : "#9aa5b1"}"/>`,
        `<text x="${(176 + bar).toFixed(1)}" y="${y + 15}">${format(value)} ${escapeXml(unit)}</text>`
      )
    })
    return { svg: parts.join("\n"), height: 24 + rows.length * rowHeight }
  }
  const first = chart("CPU speedup over one thread (16 tasks of 10–20 ms)", speedup, 24, "x")
  const second = chart("Pipelined trivial tasks (512 in flight)", throughput, 24 + first.height + 24, "tasks/s")
  const height = 24 + first.height + 24 + second.height + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    first.svg,
    second.svg,
    "</svg>"
  ].join("\n")
}
