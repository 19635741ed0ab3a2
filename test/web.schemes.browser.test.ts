/**
 * The "Payout schemes" view in Chromium against a running pool: prefilled from the live pool,
 * simulated in a Web Worker, the same figures as `pool simulate --json` for the same inputs and
 * seed, and both charts drawn.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import type { Page } from "playwright-core";
import { startPool } from "../src/pool";
import { btcText } from "../src/simulate/model";
import { buildWebBundle, openBrowserPage, ROOT, SCREENSHOTS } from "./browser.helpers";

const run = promisify(execFile);

describe("web page in Chromium: the payout-scheme explorer", function () {
  this.timeout(240_000);
  let pool: Awaited<ReturnType<typeof startPool>>;
  let dataDir: string;
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;

  before(async () => {
    buildWebBundle();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-schemes-"));
    pool = await startPool({
      logger: pino({ level: "warn" }),
      env: {},
      overrides: {
        dataDir,
        api: { host: "127.0.0.1", port: 0 },
        stratum: { host: "127.0.0.1", port: 0 },
        evm: { embeddedHost: "127.0.0.1", embeddedPort: 0 },
        chain: { networkDifficulty: "0.0002" },
      },
    });
    browser = await openBrowserPage();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await pool?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("is prefilled from the pool, and shows the CLI's figures for the same inputs and seed, with both charts", async () => {
    await page.goto(`${pool.apiUrl}/#/schemes`);
    await page.waitForSelector("[data-page=schemes] form");
    // Prefilled from the live pool: its network difficulty (0.0002) and fee.
    await page.waitForFunction("document.querySelector('input[name=difficulty]')?.value !== ''");
    const difficulty = await page.inputValue("input[name=difficulty]");
    expect(Number(difficulty)).to.be.closeTo(0.0002, 0.0000001);
    const config = (await (await fetch(`${pool.apiUrl}/api/config`)).json()) as { feeBps: number };
    expect(await page.inputValue("input[name=feeBps]")).to.equal(String(config.feeBps));

    const inputs = { hashrate: "1.2TH/s", poolHashrate: "40PH/s", difficulty: "1.1e13", period: "7d", runs: "800", seed: "11", feeBps: "150" };
    for (const [name, value] of Object.entries(inputs)) await page.fill(`input[name=${name}]`, value);
    await page.click("[data-testid=simulate]");
    await page.waitForSelector("[data-testid=scheme-row-solo]", { timeout: 60_000 });

    const { stdout } = await run(process.execPath, [
      path.join(ROOT, "bin", "pool.js"),
      "simulate",
      "--hashrate", inputs.hashrate,
      "--pool-hashrate", inputs.poolHashrate,
      "--difficulty", inputs.difficulty,
      "--period", inputs.period,
      "--runs", inputs.runs,
      "--seed", inputs.seed,
      "--fee-bps", inputs.feeBps,
      "--json",
    ]);
    const cli = JSON.parse(stdout) as { results: { scheme: string; mean: number; std: number; pZero: number }[] };
    expect(cli.results.map((r) => r.scheme)).to.deep.equal(["pplns", "pps", "fpps", "solo"]);
    for (const r of cli.results) {
      expect(await page.innerText(`[data-testid=mean-${r.scheme}]`), `${r.scheme} mean`).to.equal(btcText(r.mean));
      expect(await page.innerText(`[data-testid=std-${r.scheme}]`), `${r.scheme} std`).to.equal(btcText(r.std));
      expect(await page.innerText(`[data-testid=pzero-${r.scheme}]`)).to.equal(`${(r.pZero * 100).toFixed(1)} %`);
    }
    // Both uPlot charts drew onto their canvases.
    for (const id of ["chart-density", "chart-cumulative"]) expect(await page.locator(`[data-testid=${id}] canvas`).count(), id).to.be.at.least(1);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "schemes.png"), fullPage: true });

    // A bad input is named, and nothing is simulated.
    await page.fill("input[name=hashrate]", "fast");
    await page.click("[data-testid=simulate]");
    expect(await page.innerText("[role=alert], .notice-error")).to.match(/Your hash rate: expected a hash rate/);
  });
});
