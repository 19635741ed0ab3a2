/**
 * The browser audit in Chromium against a running pool: the page runs the whole audit of
 * src/audit/epochaudit.ts (shares included: each share's work rebuilt, the published header chain
 * verified and every share checked against it, PPLNS and allocations recomputed, the tree, the
 * contract's records read from the chain), with a progress bar. An honest epoch passes with every
 * check; the same epoch with its published share log forged on disk (a share replaced by a copy of
 * another, credited twice, the digest in the epoch file re-derived) fails with the cause named.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { Page } from "playwright-core";
import { getAddress, type Hex } from "viem";
import { digestHex, keccak256Hex, parseEpochFile, serializeEpochFile } from "../src/epochs";
import { Miner } from "../src/miner/miner";
import { startPool } from "../src/pool";
import { apiJson, buildWebBundle, openBrowserPage, openHash, settledActiveRoot, SCREENSHOTS, until, type EpochRow } from "./browser.helpers";

const MINER_ADDRESS = getAddress("0x0000000000000000000000000000000000c0ffee");
const OTHER_MINER = getAddress("0x0000000000000000000000000000000000beef01");

describe("browser audit in Chromium: the CLI's checks, shares included, with a progress bar", function () {
  // Our CPU miners find a block of difficulty 0.0005 in seconds on an idle machine, minutes on a busy one.
  this.timeout(480_000);
  let pool: Awaited<ReturnType<typeof startPool>>;
  let dataDir: string;
  let browser: Awaited<ReturnType<typeof openBrowserPage>> | undefined;
  let page: Page;
  let epoch: EpochRow;
  const miners: Miner[] = [];
  const api = <T>(route: string): Promise<T> => apiJson<T>(pool.apiUrl, route);
  const shot = async (name: string) => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  const open = (hash: string) => openHash(page, pool.apiUrl, hash);
  const status = (id: string) => page.getAttribute(`[data-check=${id}]`, "data-status");

  before(async () => {
    buildWebBundle();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-web-audit-"));
    pool = await startPool({
      logger: pino({ level: "warn" }),
      env: {},
      overrides: {
        dataDir,
        api: { host: "127.0.0.1", port: 0 },
        // Shares far below the network difficulty: a window of ~100 shares from both miners.
        stratum: { host: "127.0.0.1", port: 0, startDifficulty: "0.00001", minDifficulty: "0.00001" },
        // Its own fresh anvil chain: the in-process Hardhat chain other test files share can be long and far ahead in time.
        evm: { embeddedHost: "127.0.0.1", embeddedPort: 0, challengeWindow: 1, embeddedState: "persistent" },
        chain: { networkDifficulty: "0.0005" },
        committer: { pollSeconds: 0.5 },
        payouts: { threshold: (10n ** 30n).toString() },
      },
    });
    // Two miners, so that a share credited twice moves value between them.
    for (const user of [`${MINER_ADDRESS}.rig1`, `${OTHER_MINER}.rig1`]) {
      const m = new Miner({ url: `stratum+tcp://${pool.stratumHost}:${pool.stratumPort}`, user, password: "x" });
      await m.start();
      miners.push(m);
    }
    await until("an active root", 300_000, async () => (await api<EpochRow[]>("/api/epochs")).find((e) => e.state === "active"));
    for (const m of miners.splice(0)) await m.stop();
    epoch = await settledActiveRoot(api, 90_000);
    browser = await openBrowserPage();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    for (const m of miners) await m.stop();
    await pool?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("an honest epoch passes every check, shares included, after a progress bar over its share lines", async () => {
    const n = epoch.epoch;
    // Hold the share log back a moment, so the bar is seen while the audit waits for it.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route(`${pool.apiUrl}/api/epochs/${n}/shares`, async (route) => {
      await held;
      await route.continue();
    });
    const report = page.locator("[data-testid=audit-report]");
    try {
      await open(`#/audit/${n}`);
      const bar = page.locator("[data-testid=audit-progress]");
      await bar.waitFor();
      // The bar starts at "Starting…" and moves on once the epoch file and headers are read.
      const phases = /Checking every share|Reading|Downloading/;
      const text = await until("the progress bar to reach the share log", 60_000, async () => {
        const t = await bar.innerText();
        return phases.test(t) ? t : null;
      });
      expect(text).to.match(phases);
    } finally {
      release();
    }
    await report.waitFor({ timeout: 120_000 });
    await page.unroute(`${pool.apiUrl}/api/epochs/${n}/shares`);
    expect(await report.getAttribute("data-verdict"), await report.innerText()).to.equal("pass");
    for (const id of ["parse", "rebuild", "continuity", "chain", "pow", "work", "shares", "pplns", "consistency"]) expect(await status(id), id).to.equal("pass");
    const file = parseEpochFile(fs.readFileSync(path.join(dataDir, "epochs", `epoch-${String(n).padStart(6, "0")}.json`)));
    expect(await page.locator("[data-check=work]").innerText()).to.contain(`${file.shareLog.lines.toLocaleString("en-US")} shares`);
    expect(file.shareLog.lines).to.be.greaterThan(1);
    await shot("audit-browser-pass");
  });

  it("a share log forged on disk (a share replaced by a copy of another, digest re-derived) fails, naming the share credited twice", async () => {
    const n = epoch.epoch;
    const epochPath = path.join(dataDir, "epochs", `epoch-${String(n).padStart(6, "0")}.json`);
    const file = parseEpochFile(fs.readFileSync(epochPath));
    const logPath = path.join(dataDir, "epochs", path.basename(file.shareLog.file));
    const original = { file: fs.readFileSync(epochPath), log: fs.readFileSync(logPath) };
    try {
      const lines = original.log.toString("utf8").split("\n");
      // Share lines are 1..; the window's newest (the block share) stays: replace an older share by a
      // copy of a share of the other miner (same everything from "address" on, its own id kept).
      const entries = lines.map((l, i) => ({ i, v: i > 0 && l ? (JSON.parse(l) as { id: number; address: string; isBlock: boolean }) : null }));
      const victim = entries.find((e) => e.v && !e.v.isBlock && e.v.address === MINER_ADDRESS.toLowerCase());
      const source = entries.find((e) => e.v && !e.v.isBlock && e.v.address !== MINER_ADDRESS.toLowerCase()) ?? entries.find((e) => e.v && !e.v.isBlock && e.i !== victim?.i);
      expect(victim, "a share of the first miner").to.not.equal(undefined);
      expect(source, "another share").to.not.equal(undefined);
      const head = lines[victim!.i].slice(0, lines[victim!.i].indexOf('"address":'));
      lines[victim!.i] = head + lines[source!.i].slice(lines[source!.i].indexOf('"address":'));
      const forgedLog = lines.join("\n");
      fs.writeFileSync(logPath, forgedLog);
      // The forger re-derives the digest the epoch file names (as test/audit.tamper.test.ts does).
      file.shareLog.digest = digestHex(file.shareLog.hash, forgedLog);
      fs.writeFileSync(epochPath, serializeEpochFile(file));

      await open(`#/audit/${n}`);
      const report = page.locator("[data-testid=audit-report]");
      await report.waitFor({ timeout: 120_000 });
      expect(await report.getAttribute("data-verdict")).to.equal("fail");
      expect(await status("work")).to.equal("fail");
      const work = await page.locator("[data-check=work]").innerText();
      // Whichever of the two comes later in the logs (this epoch's, or the previous one's) is named as the repeat.
      const [a, b] = [victim!.v!.id, source!.v!.id];
      expect(work).to.match(new RegExp(`share (${a} \\(epoch \\d+\\) repeats the header of share ${b}|${b} \\(epoch \\d+\\) repeats the header of share ${a}): hash [0-9a-f]{64} credited twice`));
      // The file's bytes are no longer what the contract recorded: named too.
      expect(await status("chain")).to.equal("fail");
      expect(await page.locator("[data-check=chain]").innerText()).to.match(/dataHash on chain 0x[0-9a-f]{64} differs from keccak256 of the file/);
      expect(await page.locator("[data-testid=audit-verdict]").innerText()).to.match(/Audit failed/);
      await shot("audit-browser-forged");
    } finally {
      fs.writeFileSync(epochPath, original.file);
      fs.writeFileSync(logPath, original.log);
    }
  });
});
