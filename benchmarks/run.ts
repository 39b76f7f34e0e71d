// Placeholder until the benchmarks land: `pnpm bench` runs this.
console.log("benchmarks: not written yet")
