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
/**
 * Set in the main process once the parallel run's build is done, which the worker processes
 * (forked later) inherit: "1", or the build's error, which then fails only the browser files.
 */
const BUILT = "POOL_TEST_WEB_BUNDLE_BUILT";

function build(): void {
  const vite = path.join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const run = spawnSync(process.execPath, [vite, "build", "--config", "web/vite.config.mts", "--logLevel", "error"], { cwd: ROOT, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`vite build failed:\n${run.stdout}\n${run.stderr}`);
}

/** Builds dist/web from the current sources, unless this parallel run built it already; throws the build's error. */
export function buildWebBundle(): void {
  const built = process.env[BUILT];
  if (built === "1") return;
  if (built !== undefined) throw new Error(built);
  build();
}

/** mocha global setup: in a parallel run, the one build, before the worker processes start. Never throws. */
export function webBundleGlobalSetup(): void {
  if (!process.argv.includes("--parallel")) return;
  try {
    build();
    process.env[BUILT] = "1";
  } catch (err) {
    process.env[BUILT] = (err as Error).message || "vite build failed";
  }
}
