import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { Page } from "playwright-core";
import { getAddress } from "viem";
import { Miner } from "../src/miner/miner";
import { startPool } from "../src/pool";
import { SCREENSHOTS, apiJson, buildWebBundle, isLoopback, openBrowserPage, until } from "./browser.helpers";

/** The miner's payout address: not a node account. */
const MINER_ADDRESS = getAddress("0x0000000000000000000000000000000000beef17");
/** Long enough that the first root is still pending while the page is read. */
const CHALLENGE_WINDOW = 120;

type Pool = Awaited<ReturnType<typeof startPool>>;

/**
 * Issue 17, miners' pages, in Chromium against a running pool with automatic payouts off and a
 * 2-minute challenge window: the miner page shows its pending epoch as proposed with a ticking
 * countdown to when the root can be accepted, and promises no automatic payout.
 */
describe("web page in Chromium: the miner page with a pending epoch and automatic payouts off", function () {
  this.timeout(240_000);
  let pool: Pool;
  let dataDir: string;
  let miner: Miner | undefined;
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;
  const api = <T>(route: string): Promise<T> => apiJson<T>(pool.apiUrl, route);

  before(async () => {
    buildWebBundle();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-web-miner-"));
    pool = await startPool({
      logger: pino({ level: "warn" }),
      env: {},
      overrides: {
        dataDir,
        api: { host: "127.0.0.1", port: 0 },
        stratum: { host: "127.0.0.1", port: 0, startDifficulty: "0.0001" },
        evm: { embeddedHost: "127.0.0.1", embeddedPort: 0, challengeWindow: CHALLENGE_WINDOW },
        chain: { networkDifficulty: "0.0002" },
        committer: { pollSeconds: 0.5 },
        // no payouts.threshold: automatic payouts are off
      },
    });
    for (const url of [pool.apiUrl, pool.rpcUrl]) expect(isLoopback(new URL(url)), url).to.equal(true);
    expect((await api<{ payoutThreshold: string | null }>("/api/config")).payoutThreshold, "automatic payouts are off").to.equal(null);
    miner = new Miner({ url: `stratum+tcp://${pool.stratumHost}:${pool.stratumPort}`, user: `${MINER_ADDRESS}.rig1`, password: "x" });
    await miner.start();
    await until("a proposed root", 120_000, async () => (await api<{ epoch: number; state: string }[]>("/api/epochs")).find((e) => e.state === "proposed"));
    await miner.stop();
    miner = undefined;
    browser = await openBrowserPage();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await miner?.stop();
    await pool?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows the pending epoch's state with a countdown, and promises no automatic payout", async () => {
    const epochs = await api<{ epoch: number; state: string; validAt: number | null }[]>("/api/epochs");
    const pending = epochs.find((e) => e.state === "proposed")!;
    expect(pending.validAt, "the API gives the time the root can be accepted").to.be.a("number");
    expect(pending.validAt! - Date.now() / 1000, "still well inside the window").to.be.greaterThan(20);

    await page.goto(`${pool.apiUrl}/#/miner/${MINER_ADDRESS}`);
    const row = page.locator(`[data-testid=miner-epochs] tr[data-epoch="${pending.epoch}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute("data-state")).to.equal("proposed");
    expect((await row.locator(".badge").innerText()).trim()).to.equal("proposed");
    const countdown = row.locator(".countdown");
    const first = (await countdown.innerText()).trim();
    expect(first).to.match(/^active in /);
    // It ticks (every second) without a reload.
    await until("the countdown to tick", 10_000, async () => (await countdown.innerText()).trim() !== first);
    expect((await countdown.innerText()).trim()).to.match(/^active in /);

    // Payouts are off: the page says so and says how to get paid; nothing promises a payment the pool will not send.
    const off = page.locator("[data-testid=miner-payouts-off]");
    await off.waitFor();
    expect(await off.innerText()).to.contain("sends no automatic payouts").and.to.contain("claim page");
    expect(await page.locator("[data-testid=miner-payouts]").count(), "no payout table").to.equal(0);
    const body = await page.locator("main").innerText();
    expect(body).to.not.match(/and (the pool.s )?automatic payouts|will be (paid|sent) automatically|paid automatically|sends? (it|them|the claim) itself/i);
    expect(body).to.not.match(/No automatic payout has been sent to this address yet/);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "miner-pending.png"), fullPage: true });
  });
});
