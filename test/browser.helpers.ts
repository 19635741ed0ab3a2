/** Shared by the Chromium tests: Debian's chromium via playwright-core, loopback only, a fresh bundle. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const ROOT = path.join(__dirname, "..");
export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = path.join(ROOT, "test-output", "screenshots");
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function isLoopback(url: URL): boolean {
  return ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) || url.protocol === "data:" || url.protocol === "about:" || url.protocol === "blob:";
}

/** Builds dist/web from the current sources, so a test never runs against a stale bundle. */
export function buildWebBundle(): void {
  const vite = path.join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const run = spawnSync(process.execPath, [vite, "build", "--config", "web/vite.config.mts", "--logLevel", "error"], { cwd: ROOT, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`vite build failed:\n${run.stdout}\n${run.stderr}`);
}

/** Headless Chromium with a fresh profile; any request to a host other than loopback is refused. */
export async function launchChromium(): Promise<BrowserContext & { profileDir: string }> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "pool-web-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1200, height: 900 },
  });
  await context.route((url) => !isLoopback(url), (route) => route.abort("blockedbyclient"));
  return Object.assign(context, { profileDir: profile });
}
