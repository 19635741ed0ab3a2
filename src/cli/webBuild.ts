import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** Where `npm run build:web` puts the page the pool serves. */
export const WEB_DIR = path.join(__dirname, "..", "..", "dist", "web");

/**
 * Makes sure the web page exists before `pool start` serves it: a checkout run with `npx pool start`
 * (not `npm start`, which builds first) builds it once here with the project's Vite. Returns what
 * happened, for the banner; never throws (the pool runs without its page, and says how to build it).
 */
export function ensureWebPage(root = path.join(__dirname, "..", "..")): { built: boolean; dir?: string; problem?: string } {
  const dir = path.join(root, "dist", "web");
  if (fs.existsSync(path.join(dir, "index.html"))) return { built: false, dir };
  const vite = path.join(root, "node_modules", "vite", "bin", "vite.js");
  const config = path.join(root, "web", "vite.config.mts");
  if (!fs.existsSync(vite) || !fs.existsSync(config)) return { built: false, problem: `no web page at ${dir} and no Vite to build it: run \`npm run build:web\` in the project` };
  const run = spawnSync(process.execPath, [vite, "build", "--config", config, "--logLevel", "error"], { cwd: root, encoding: "utf8" });
  if (run.status !== 0 || !fs.existsSync(path.join(dir, "index.html"))) {
    return { built: false, problem: `building the web page failed (npm run build:web): ${(run.stderr || run.stdout || "").trim().split("\n").slice(-3).join(" ")}` };
  }
  return { built: true, dir };
}
