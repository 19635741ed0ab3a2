/**
 * The web page's bundle (dist/web) for the Chromium tests, built from the current sources.
 *
 * A parallel run (`hardhat test --parallel`) builds it once, in mocha's main process, before any
 * worker process starts (`webBundleGlobalSetup`, hardhat.config.ts), and the test files then use
 * that build: a rebuild empties dist/web, so one file rebuilding while another file's pool serves
 * the page would give that pool a 404 (or a `pool start` with no page would build into the same
 * folder at once). A run of one file builds it itself, as before.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";

const ROOT = path.join(__dirname, "..");
/** Set (to "1") in the main process once the parallel run's bundle is built; workers inherit it. */
const BUILT = "POOL_TEST_WEB_BUNDLE_BUILT";

function build(): void {
  const vite = path.join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const run = spawnSync(process.execPath, [vite, "build", "--config", "web/vite.config.mts", "--logLevel", "error"], { cwd: ROOT, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`vite build failed:\n${run.stdout}\n${run.stderr}`);
}

/** Builds dist/web from the current sources, unless this parallel run built it already. */
export function buildWebBundle(): void {
  if (process.env[BUILT] === "1") return;
  build();
}

/** mocha global setup: in a parallel run, the one build, before the worker processes start. */
export function webBundleGlobalSetup(): void {
  if (!process.argv.includes("--parallel")) return;
  build();
  process.env[BUILT] = "1";
}
