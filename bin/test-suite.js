#!/usr/bin/env node
/**
 * `npm test`: every file in test/ that ends in .test.ts, in two Hardhat runs.
 *  1. All but the few below, two files at a time (`hardhat test --parallel`, mocha.jobs 2 in
 *     hardhat.config.ts): most tests wait on timers, blocks and sockets, so two at a time take ~6
 *     minutes on this 2-core machine where one at a time took ~10.
 *  2. Then, one at a time with nothing else running, the files whose assertions bound a latency or
 *     a rate (round trips under a flood, a miner's send rate, a template's delivery time), which
 *     another test file's load on the same cores could push over.
 * Arguments (for example `--grep <pattern>`) are passed to both runs. Exits non-zero if either fails.
 */
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
const ALONE = ["test/stratum.abuse.test.ts", "test/miner.test.ts", "test/chain.bitcoind.test.ts"];

const files = fs
  .readdirSync(path.join(ROOT, "test"))
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => `test/${f}`)
  .sort();
for (const f of ALONE) if (!files.includes(f)) throw new Error(`bin/test-suite.js: ${f} is not in test/ (update ALONE)`);
const hardhat = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
// Each run sets --parallel / --no-compile itself (Hardhat refuses a repeated flag); one file is run
// with `npx hardhat test test/<file>.test.ts`.
const args = process.argv.slice(2).filter((a) => a !== "--parallel" && a !== "--no-compile");
const fileArg = args.find((a) => /\.(ts|js)$/.test(a) && fs.existsSync(path.resolve(a)));
if (fileArg !== undefined) {
  console.error(`npm test runs every file; for ${fileArg} alone: npx hardhat test ${fileArg}`);
  process.exit(2);
}

function run(extra, list) {
  const r = spawnSync(process.execPath, [hardhat, "test", ...extra, ...args, ...list], { cwd: ROOT, stdio: "inherit" });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

const together = run(["--parallel"], files.filter((f) => !ALONE.includes(f)));
console.log(`\n  Files that bound a latency or a rate, one at a time: ${ALONE.join(", ")}`);
const alone = run(["--no-compile"], ALONE);
process.exit(together || alone);
