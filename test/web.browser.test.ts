import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { Page } from "playwright-core";
import { createPublicClient, formatUnits, getAddress, http, type Address, type Hex } from "viem";
import { erc20Abi, payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { Miner } from "../src/miner/miner";
import { startPool } from "../src/pool";
import { apiJson, buildWebBundle, isLoopback, openBrowserPage, openHash, ROOT, settledActiveRoot, SCREENSHOTS, until, type EpochRow } from "./browser.helpers";

/**
 * The web page in a real browser (Debian's Chromium driven by playwright-core) against a real
 * pool: `pool start` in-process on ephemeral ports, our own miner until a root is active, then
 * the pool, miner, claim and audit pages, with an EIP-1193 wallet injected into the page.
 */

/** The miner's payout address: not a node account, so its balance moves only by what is paid to it. */
const MINER_ADDRESS = getAddress("0x0000000000000000000000000000000000c0ffee");
/** Hardhat development account #1: funded and unlocked on the embedded EVM; sends the claim and pays its gas. */
const SENDER = getAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

type Pool = Awaited<ReturnType<typeof startPool>>;

/**
 * An injected EIP-1193 wallet: holds `account`, starts on chain 1 (so the page must switch, and
 * add the pool's chain on 4902), and forwards everything else to the node's JSON-RPC, which
 * signs eth_sendTransaction for its unlocked accounts. Runs inside the page.
 */
function injectedWallet({ rpcUrl, account }: { rpcUrl: string; account: string }): void {
  const state = { calls: [] as string[], rejectNext: false, refuseSwitch: false, added: null as unknown, watched: null as unknown, chainId: 1, known: [1] };
  const fail = (message: string, code: number, data?: unknown) => Object.assign(new Error(message), { code, data });
  // (globalThis is the page's window: this function is serialised into the page)
  const page = globalThis as unknown as { __wallet: typeof state; ethereum: unknown };
  page.__wallet = state;
  page.ethereum = {
    async request({ method, params }: { method: string; params?: any[] }) {
      state.calls.push(method);
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [account];
        case "eth_chainId":
          return "0x" + state.chainId.toString(16);
        case "wallet_switchEthereumChain": {
          if (state.refuseSwitch) throw fail("User rejected the request.", 4001);
          const id = parseInt(params![0].chainId, 16);
          if (!state.known.includes(id)) throw fail("Unrecognized chain ID", 4902);
          state.chainId = id;
          return null;
        }
        case "wallet_addEthereumChain":
          state.known.push(parseInt(params![0].chainId, 16));
          state.added = params![0];
          return null;
        case "wallet_watchAsset": // EIP-747: params is an object
          state.watched = params;
          return true;
        case "eth_sendTransaction":
          if (state.rejectNext) {
            state.rejectNext = false;
            throw fail("User rejected the request.", 4001);
          }
      }
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params ?? [] }),
      });
      const body = (await res.json()) as { result?: unknown; error?: { message: string; code: number; data?: unknown } };
      if (body.error) throw fail(body.error.message, body.error.code, body.error.data);
      return body.result;
    },
    on() {},
    removeListener() {},
  };
}

describe("web page in Chromium: pool, miner, claim and audit against a running pool", function () {
  this.timeout(240_000);

  let pool: Pool;
  let dataDir: string | undefined;
  let miner: Miner | undefined;
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;
  let activeEpoch: EpochRow;
  const api = <T>(route: string): Promise<T> => apiJson<T>(pool.apiUrl, route);
  const chain = () => createPublicClient({ transport: http(pool.rpcUrl) });
  /** Balance in the pool's asset: the embedded default pays in its 8-decimal tBTC. */
  const assetBalance = (address: Address): Promise<bigint> =>
    pool.asset.token
      ? chain().readContract({ address: pool.asset.token, abi: erc20Abi, functionName: "balanceOf", args: [address] })
      : chain().getBalance({ address });
  const shot = async (name: string) => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
  /** A fresh page load (not a same-document hash change), so init scripts and cold start are exercised. */
  const open = (hash: string) => openHash(page, pool.apiUrl, hash);
  const text = async (selector: string) => (await page.locator(selector).first().innerText()).trim();

  before(async function () {
    buildWebBundle();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-web-data-"));
    pool = await startPool({
      logger: pino({ level: "warn" }),
      env: {},
      overrides: {
        dataDir,
        api: { host: "127.0.0.1", port: 0 },
        stratum: { host: "127.0.0.1", port: 0, startDifficulty: "0.0001" },
        evm: { embeddedHost: "127.0.0.1", embeddedPort: 0, challengeWindow: 1 },
        // easy enough that our CPU miner finds a block within seconds
        chain: { networkDifficulty: "0.0002" },
        committer: { pollSeconds: 0.5 },
        // nothing is paid automatically: the claim below is the only payment the miner's address receives
        payouts: { threshold: (10n ** 30n).toString() },
      },
    });
    for (const url of [pool.apiUrl, pool.rpcUrl]) expect(isLoopback(new URL(url)), url).to.equal(true);

    miner = new Miner({ url: `stratum+tcp://${pool.stratumHost}:${pool.stratumPort}`, user: `${MINER_ADDRESS}.rig1`, password: "x" });
    await miner.start();
    await until("an active root", 120_000, async () => (await api<EpochRow[]>("/api/epochs")).find((e) => e.state === "active"));
    await miner.stop();
    miner = undefined;
    // A block found just before the miner stopped may still become a newer root: wait until every
    // block is in an epoch and the newest root is active, twice in a row.
    activeEpoch = await settledActiveRoot(api, 60_000);

    browser = await openBrowserPage();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await miner?.stop();
    await pool?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("pool page: shows the block found and the active root, with the Stratum URL", async () => {
    const blocks = await api<{ hash: string; height: number }[]>("/api/blocks");
    expect(blocks.length).to.be.greaterThan(0);
    await open("#/pool");
    await page.waitForSelector(`[data-testid=blocks] [data-hash="${blocks[0].hash}"]`);
    const row = page.locator(`[data-testid=roots] tr[data-epoch="${activeEpoch.epoch}"]`);
    await row.waitFor();
    expect(await row.getAttribute("data-state")).to.equal("active");
    expect(await row.locator("[data-root]").getAttribute("data-root")).to.equal(activeEpoch.root);
    expect(await text("[data-testid=stratum-url]")).to.equal(`stratum+tcp://${pool.stratumHost}:${pool.stratumPort}`);
    expect(await text("[data-testid=cpuminer-command]")).to.contain("cpuminer -a sha256d -o stratum+tcp://");
    expect(await text("[data-testid=solvency-verdict]")).to.match(/^Covered/);
    // PPLNS (the default): the page says so, and that the operator needs no reserve (issue 14).
    const stats = await api<{ payout: { scheme: string } }>("/api/stats");
    expect(stats.payout.scheme).to.equal("pplns");
    expect(await page.getAttribute("[data-testid=operator-reserve]", "data-scheme")).to.equal("pplns");
    expect(await text("[data-testid=payout-scheme]")).to.equal("PPLNS");
    expect(await text("[data-testid=reserve-not-needed]")).to.equal("No operator reserve is needed.");
    expect(await page.locator("[data-testid=payout-owed]").count()).to.equal(0);
    expect(await text("[data-testid=brand]")).to.equal("PPLNS pool");
    fs.copyFileSync(await shot("pool"), path.join(ROOT, "docs", "screenshot-pool.png"));
  });

  it("miner page: shows the same allocation as the API", async () => {
    const info = await api<{ allocated: string; claimable: string; epochs: unknown[] }>(`/api/miners/${MINER_ADDRESS}`);
    expect(BigInt(info.allocated) > 0n).to.equal(true);
    await open(`#/miner/${MINER_ADDRESS}`);
    await page.waitForSelector("[data-testid=miner-allocated] .amount");
    expect(await page.getAttribute("[data-testid=miner-allocated] .amount", "data-raw")).to.equal(info.allocated);
    expect(await page.getAttribute("[data-testid=miner-claimable] .amount", "data-raw")).to.equal(info.claimable);
    expect(await page.locator("[data-testid=miner-epochs] tbody tr").count()).to.equal(info.epochs.length);
    await shot("miner");
  });

  it("claim page: wrong chain and a rejected transaction are reported; the wallet adds the chain; the claim pays exactly the claimable amount", async () => {
    await page.addInitScript(injectedWallet, { rpcUrl: pool.rpcUrl, account: SENDER });
    const proof = await api<{ cumulative: string; proof: Hex[] }>(`/api/proof/${MINER_ADDRESS}`);
    const client = chain();
    const read = { address: pool.contract as Address, abi: payoutPoolAbi } as const;
    const claimable = await client.readContract({ ...read, functionName: "claimable", args: [MINER_ADDRESS, BigInt(proof.cumulative), proof.proof] });
    expect(claimable > 0n).to.equal(true);
    const before = await assetBalance(MINER_ADDRESS);

    await open(`#/claim/${MINER_ADDRESS}`);
    expect(await text("main")).to.contain("Anyone may claim for any address");
    await page.waitForSelector("[data-testid=claim-claimable]");
    expect(await page.getAttribute("[data-testid=claim-claimable]", "data-raw")).to.equal(claimable.toString());
    // Token amounts: in tBTC with its 8 decimals, every unit in the tooltip.
    expect(await text("[data-testid=claim-claimable]")).to.match(/ tBTC$/);
    expect(await page.getAttribute("[data-testid=claim-claimable]", "title")).to.equal(`${formatUnits(claimable, 8)} tBTC = ${claimable} units`);
    // "Add tBTC to my wallet" (EIP-747) hands the wallet the token, its symbol and decimals.
    await page.click("[data-testid=watch-asset]");
    await page.waitForSelector("[data-testid=watch-asset-result]");
    expect(await text("[data-testid=watch-asset-result]")).to.equal("tBTC added to the wallet.");
    const watched = await page.evaluate(() => (globalThis as any).__wallet.watched);
    expect(watched).to.deep.equal({ type: "ERC20", options: { address: pool.asset.token, symbol: "tBTC", decimals: 8 } });
    await page.evaluate(() => ((globalThis as any).__wallet.chainId = 1)); // back on chain 1 for the checks below

    await page.evaluate(() => ((globalThis as any).__wallet.refuseSwitch = true));
    await page.click("[data-testid=claim-button]");
    await page.waitForSelector(`text=Your wallet is on chain 1, but the pool pays on chain ${pool.chainId}`);

    await page.evaluate(() => Object.assign((globalThis as any).__wallet, { refuseSwitch: false, rejectNext: true }));
    await page.click("[data-testid=claim-button]");
    await page.waitForSelector("text=You rejected the request in your wallet");
    expect(await assetBalance(MINER_ADDRESS)).to.equal(before);
    const added = await page.evaluate(() => (globalThis as any).__wallet.added);
    expect(added).to.include({ chainId: "0x" + pool.chainId.toString(16) });
    expect(added.rpcUrls).to.deep.equal([pool.rpcUrl]);

    await page.click("[data-testid=claim-button]");
    await page.waitForSelector("[data-testid=claim-new-balance]", { timeout: 60_000 });
    const tx = await text("[data-testid=claim-tx]");
    expect(tx).to.match(/^0x[0-9a-f]{64}$/);
    const receipt = await client.getTransactionReceipt({ hash: tx as Hex });
    expect(getAddress(receipt.from)).to.equal(SENDER);
    const after = await assetBalance(MINER_ADDRESS);
    expect(after - before).to.equal(claimable);
    expect(await page.getAttribute("[data-testid=claim-new-balance]", "data-raw")).to.equal(after.toString());
    expect(await client.readContract({ ...read, functionName: "claimed", args: [MINER_ADDRESS] })).to.equal(BigInt(proof.cumulative));
    await shot("claim");

    // The miner's page lists this claim, sent from a browser wallet (not by the pool), from the chain's events.
    await open(`#/miner/${MINER_ADDRESS}`);
    const row = page.locator(`[data-testid=miner-claims] tr[data-tx="${tx}"]`);
    await row.waitFor();
    expect(await row.locator(".amount").getAttribute("data-raw")).to.equal(claimable.toString());
    expect(await row.getAttribute("data-via")).to.equal("claim");
    expect((await row.locator("[data-testid=claim-sender]").innerText()).trim()).to.equal(`${SENDER.slice(0, 6)}…${SENDER.slice(-4)} (claim for you)`);
    expect(await page.getAttribute("[data-testid=miner-claimed] .amount", "data-raw")).to.equal(proof.cumulative);
  });

  it("audit page: the published epoch passes; a tampered epoch file fails and names the leaf", async () => {
    const n = activeEpoch.epoch;
    await open(`#/audit/${n}`);
    const verdict = page.locator("[data-testid=audit-report]");
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.getAttribute("data-verdict"), await text("[data-testid=audit-report]")).to.equal("pass");
    expect(await page.getAttribute("[data-check=chain]", "data-status")).to.equal("pass");
    expect(await page.getAttribute("[data-testid=shares-link]", "href")).to.equal(`/api/epochs/${n}/shares`);
    expect(await text("[data-testid=audit-cli]")).to.equal(`npx pool audit --epoch ${n} --api ${pool.apiUrl} --rpc ${pool.rpcUrl} --contract ${pool.contract}`);
    await shot("audit-pass");

    // leaves are [account, cumulative, delta] (src/epochs/format.ts)
    const file = await api<{ leaves: [string, string, string][] }>(`/api/epochs/${n}`);
    const victim = file.leaves.findIndex(([account]) => account === MINER_ADDRESS.toLowerCase());
    expect(victim).to.be.at.least(0);
    await page.route(`${pool.apiUrl}/api/epochs/${n}`, async (route) => {
      const original = await route.fetch();
      const json = await original.json();
      json.leaves[victim][1] = (BigInt(json.leaves[victim][1]) + 1n).toString();
      await route.fulfill({ response: original, body: JSON.stringify(json, null, 2) });
    });
    await page.reload();
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.getAttribute("data-verdict")).to.equal("fail");
    expect(await page.getAttribute("[data-check=rebuild]", "data-status")).to.equal("fail");
    expect((await text("[data-testid=audit-bad-leaf]")).toLowerCase()).to.contain(MINER_ADDRESS.toLowerCase());
    await shot("audit-tampered");
    await page.unroute(`${pool.apiUrl}/api/epochs/${n}`);
  });

  it("live: the pool page updates without a reload, over server-sent events and, without them, by polling", async () => {
    const sharesShown = async () => Number((await text("[data-testid=stat-shares] .stat-value")).split(/\s/)[0]);
    const mineUntilShown = async (label: string, before: number) => {
      miner = new Miner({ url: `stratum+tcp://${pool.stratumHost}:${pool.stratumPort}`, user: `${MINER_ADDRESS}.rig2`, password: "x" });
      await miner.start();
      try {
        await until(`${label}: more accepted shares on the page`, 30_000, async () => (await sharesShown()) > before);
      } finally {
        await miner.stop();
        miner = undefined;
      }
    };

    await open("#/pool");
    await page.waitForSelector("[data-testid=live-mode].live-events");
    expect(await sharesShown()).to.be.a("number").and.not.NaN;
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    await mineUntilShown("events", await sharesShown());
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).to.equal(true);

    await page.route(`${pool.apiUrl}/api/events`, (route) => route.abort("connectionrefused"));
    await open("#/pool");
    await page.waitForSelector("[data-testid=live-mode].live-polling");
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    await mineUntilShown("polling", await sharesShown());
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).to.equal(true);
    await page.unroute(`${pool.apiUrl}/api/events`);
  });

  it("bad input and outages: clear messages, never a blank page", async () => {
    await open("#/miner/0x1234");
    expect(await text("[role=alert]")).to.contain("is not an EVM address");
    await open("#/miner/0x00000000000000000000000000000000000000AbCd"); // wrong length
    expect(await text("[role=alert]")).to.contain("is not an EVM address");
    await open("#/claim/0x0000000000000000000000000000000000000bad");
    await page.waitForSelector("text=Nothing to claim yet");
    await open("#/audit/999999");
    await page.waitForSelector("text=Could not audit epoch 999999");
    await shot("errors");

    await page.route(`${pool.apiUrl}/api/**`, (route) => route.abort("connectionrefused"));
    await page.goto(`${pool.apiUrl}/#/pool`);
    await page.reload();
    await page.waitForSelector("text=The pool's API is not reachable");
    await shot("api-down");
    await page.unroute(`${pool.apiUrl}/api/**`);

    await page.route(`${pool.rpcUrl}/**`, (route) => route.abort("connectionrefused"));
    await open(`#/claim/${MINER_ADDRESS}`);
    await page.waitForSelector("text=The chain's JSON-RPC node is not reachable");
    await page.unroute(`${pool.rpcUrl}/**`);
  });
});
