/**
 * The pool page in Chromium under PPS (issue 14): the scheme, what the operator owes and its
 * reserve, the same figures as `/api/stats` `payout`, and a warning once the reserve no longer
 * covers what is owed. A real pool (embedded chain, `payout.scheme: pps`, 60 s epochs,
 * `committer.fundEpochs: false` so that a built epoch stays owed), our own miner for the shares,
 * and a real transfer that empties the operator's reserve.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { Page } from "playwright-core";
import { createPublicClient, createWalletClient, erc20Abi, getAddress, http, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatDevKey } from "../src/evm/clients";
import { Miner } from "../src/miner/miner";
import { startPool } from "../src/pool";
import { apiJson, buildWebBundle, openBrowserPage, openHash, SCREENSHOTS, until } from "./browser.helpers";

const MINER_ADDRESS = getAddress("0x0000000000000000000000000000000000c0ffee");
/** Where the test moves the operator's reserve to: not a node account. */
const SINK = getAddress("0x000000000000000000000000000000000000dEaD");

interface Payout {
  scheme: string;
  intervalSeconds?: number;
  owed: string;
  accrued: string;
  reserve: string | null;
  covered: boolean | null;
  change: unknown;
}

describe("web page in Chromium: the operator's reserve against what it owes (PPS)", function () {
  this.timeout(240_000);
  let pool: Awaited<ReturnType<typeof startPool>>;
  let dataDir: string;
  let miner: Miner | undefined;
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;
  const payout = async () => (await apiJson<{ payout: Payout }>(pool.apiUrl, "/api/stats")).payout;

  /** The figures the page shows, read from its attributes (exact smallest units). */
  async function shown() {
    await openHash(page, pool.apiUrl, "#/pool");
    await page.waitForSelector("[data-testid=operator-reserve] [data-testid=payout-covered]");
    return {
      scheme: (await page.innerText("[data-testid=payout-scheme]")).trim(),
      interval: (await page.innerText("[data-testid=payout-interval]")).trim(),
      owed: await page.getAttribute("[data-testid=payout-owed]", "data-raw"),
      accrued: await page.getAttribute("[data-testid=payout-accrued]", "data-raw"),
      reserve: await page.getAttribute("[data-testid=payout-reserve]", "data-raw"),
      covered: await page.getAttribute("[data-testid=payout-covered]", "data-covered"),
    };
  }

  before(async () => {
    buildWebBundle();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-web-reserve-"));
    pool = await startPool({
      logger: pino({ level: "error" }),
      env: { POOL_PAYOUT_SCHEME: "pps", POOL_PAYOUT_INTERVAL_SECONDS: "60", POOL_FUND_EPOCHS: "false" },
      overrides: {
        dataDir,
        api: { host: "127.0.0.1", port: 0 },
        stratum: { host: "127.0.0.1", port: 0, startDifficulty: "0.0001" },
        evm: { embeddedHost: "127.0.0.1", embeddedPort: 0, challengeWindow: 1, embeddedState: "memory" },
        chain: { networkDifficulty: "0.0002" },
        committer: { pollSeconds: 0.5 },
      },
    });
    browser = await openBrowserPage();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await miner?.stop();
    await pool?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows the scheme, owed and reserve as the API gives them, covered; then a warning once the reserve is emptied", async () => {
    // Before any share: nothing owed, the embedded operator's test BTC as its reserve.
    const empty = await payout();
    expect(empty).to.include({ scheme: "pps", intervalSeconds: 60, owed: "0", covered: true });
    expect(BigInt(empty.reserve!) > 0n).to.equal(true);
    expect(empty.change).to.equal(null); // no payout.change configured
    expect(await shown()).to.deep.equal({ scheme: "PPS", interval: "every 1 min", owed: "0", accrued: "0", reserve: empty.reserve, covered: "true" });
    expect((await page.innerText("[data-testid=brand]")).trim()).to.equal("PPS pool");
    expect(await page.locator("[data-testid=payout-change]").count()).to.equal(0);

    // A few seconds of shares, then the scheduled epoch (60 s after the first share) is built; with
    // funding off it stays owed.
    miner = new Miner({ url: `stratum+tcp://${pool.stratumHost}:${pool.stratumPort}`, user: `${MINER_ADDRESS}.rig1`, password: "x" });
    await miner.start();
    await until("accepted shares", 60_000, async () => (await apiJson<{ shares: { accepted: number } }>(pool.apiUrl, "/api/stats")).shares.accepted >= 5);
    await miner.stop();
    miner = undefined;
    // Before the epoch is built, the shares' credits are owed as accrued.
    const accruing = await payout();
    expect(BigInt(accruing.accrued) > 0n).to.equal(true);
    expect(BigInt(accruing.owed) >= BigInt(accruing.accrued)).to.equal(true);
    const owing = await until("a built, unfunded PPS epoch", 150_000, async () => {
      const stats = await apiJson<{ currentEpoch: number | null; payout: Payout }>(pool.apiUrl, "/api/stats");
      // Built: its credits unfunded, nothing accrued since (the miner stopped before it).
      return stats.currentEpoch !== null && stats.payout.accrued === "0" && BigInt(stats.payout.owed) > 0n ? stats.payout : null;
    });
    expect(owing.covered).to.equal(true);
    expect(BigInt(owing.reserve!) >= BigInt(owing.owed)).to.equal(true);
    expect(await shown()).to.deep.equal({ scheme: "PPS", interval: "every 1 min", owed: owing.owed, accrued: "0", reserve: owing.reserve, covered: "true" });
    expect((await page.innerText("[data-testid=payout-covered]")).trim()).to.match(/^Covered: the operator's reserve holds what it owes \(/);

    // The operator moves its whole reserve away: the page warns that it no longer covers what is owed.
    const token = pool.asset.token as Address;
    const operator = createWalletClient({ account: privateKeyToAccount(hardhatDevKey(0)), transport: http(pool.rpcUrl) });
    const publicReserve = BigInt(owing.reserve!);
    const tx = await operator.writeContract({ address: token, abi: erc20Abi, functionName: "transfer", args: [SINK, publicReserve], chain: null });
    const receipt = await createPublicClient({ transport: http(pool.rpcUrl) }).waitForTransactionReceipt({ hash: tx });
    expect(receipt.status).to.equal("success");
    const drained = await payout();
    expect(drained).to.include({ scheme: "pps", owed: owing.owed, reserve: "0", covered: false });
    expect(await shown()).to.deep.equal({ scheme: "PPS", interval: "every 1 min", owed: drained.owed, accrued: drained.accrued, reserve: "0", covered: "false" });
    const warning = page.locator("[data-testid=payout-covered] [role=alert]");
    expect(await warning.innerText()).to.match(/^Not covered: the operator's reserve holds less than the credits it owes/);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "pool-reserve-not-covered.png"), fullPage: true });
  });

  it("a PPLNS pool announcing a switch to PPS (payout.change): no reserve needed yet, and the announced change as the API gives it", async () => {
    const changeDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-web-change-"));
    const announcing = await startPool({
      logger: pino({ level: "error" }),
      env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "4", POOL_PAYOUT_CHANGE_SCHEME: "pps", POOL_PAYOUT_CHANGE_FEE_BPS: "250" },
      overrides: { dataDir: changeDir, api: { host: "127.0.0.1", port: 0 }, stratum: { host: "127.0.0.1", port: 0 }, evm: { embeddedHost: "127.0.0.1", embeddedPort: 0, embeddedState: "memory" } },
    });
    try {
      const p = (await apiJson<{ payout: Payout }>(announcing.apiUrl, "/api/stats")).payout;
      expect(p).to.deep.include({ scheme: "pplns", change: { fromEpoch: 4, scheme: "pps", feeBps: 250 } });
      await openHash(page, announcing.apiUrl, "#/pool");
      await page.waitForSelector("[data-testid=operator-reserve] [data-testid=payout-change]");
      expect(await page.getAttribute("[data-testid=operator-reserve]", "data-scheme")).to.equal("pplns");
      expect((await page.innerText("[data-testid=reserve-not-needed]")).trim()).to.equal("No operator reserve is needed.");
      const shownChange = page.locator("[data-testid=payout-change]");
      expect(await shownChange.getAttribute("data-from-epoch")).to.equal("4");
      expect(await shownChange.getAttribute("data-scheme")).to.equal("pps");
      expect(await shownChange.getAttribute("data-fee-bps")).to.equal("250");
      expect(await shownChange.innerText()).to.match(/^Announced change: from epoch 4 on, this pool pays PPS with a fee of 2\.5%; from then the operator must hold a reserve/);
    } finally {
      // The page's event stream (/api/events) holds a connection the pool's stop would wait for.
      await page.goto("about:blank");
      await announcing.stop();
      fs.rmSync(changeDir, { recursive: true, force: true });
    }
  });
});
