/** Shared by the Chromium tests: Debian's chromium via playwright-core, loopback only, a fresh bundle. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

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

/** Builds dist/web from the current sources, so a test never runs against a stale bundle (test/web.bundle.ts). */
export { buildWebBundle } from "./web.bundle";

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

/**
 * Polls `probe` every 250 ms until it returns something truthy; a probe that throws (a request
 * racing a restart) is retried, and the last error is named when the time runs out.
 */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | null | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

/** GET `base + route` as JSON; a non-2xx status throws with the body. */
export async function apiJson<T>(base: string, route: string): Promise<T> {
  const res = await fetch(base + route);
  if (!res.ok) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface EpochRow {
  epoch: number;
  root: `0x${string}`;
  state: string;
}

/**
 * The newest epoch once it is active and every (non-orphaned) block is in an epoch, seen twice
 * 1.5 s apart: a block found just before the miners stopped may still become a newer root.
 */
export async function settledActiveRoot(api: <T>(route: string) => Promise<T>, timeoutMs: number): Promise<EpochRow> {
  const settled = async () => {
    const [blocks, epochs] = await Promise.all([api<{ status: string; epoch: number | null }[]>("/api/blocks"), api<EpochRow[]>("/api/epochs")]);
    const inFlight = blocks.some((b) => b.status !== "orphaned" && b.epoch === null);
    return !inFlight && epochs[0]?.state === "active" ? epochs[0] : null;
  };
  return until("every block in an active root", timeoutMs, async () => {
    const first = await settled();
    if (!first) return null;
    await new Promise((r) => setTimeout(r, 1500));
    const again = await settled();
    return again?.epoch === first.epoch ? again : null;
  });
}

/** Chromium (launchChromium) with its first page, page errors printed; `close` also removes the profile. */
export async function openBrowserPage(): Promise<{ page: Page; context: BrowserContext; close: () => Promise<void> }> {
  const context = await launchChromium();
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => console.error("page error:", e.message));
  return {
    page,
    context,
    close: async () => {
      await context.close();
      fs.rmSync(context.profileDir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/** A fresh load of the page at `hash` (not a same-document hash change), so cold start is exercised. */
export async function openHash(page: Page, apiUrl: string, hash: string): Promise<void> {
  await page.goto("about:blank");
  await page.goto(`${apiUrl}/${hash}`);
  await page.waitForSelector("main .page, main [role=alert]");
}
