import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { privateKeyToAccount } from "viem/accounts";
import { auditCommand } from "../src/cli/audit";
import { claimCommand } from "../src/cli/claim";
import { hardhatDevKey } from "../src/evm/clients";
import { erc20Abi } from "../src/evm/payoutPoolAbi";
import { epochFileName, shareLogFileName } from "../src/epochs";
import { Miner } from "../src/miner";
import { startPool, type RunningPool } from "../src/pool";
import { getJson, waitFor } from "./pool.helpers";

const MINERS = [
  { key: hardhatDevKey(2), worker: "slow", maxHashrate: 40_000 },
  { key: hardhatDevKey(3), worker: "medium", maxHashrate: 80_000 },
  { key: hardhatDevKey(4), worker: "fast", maxHashrate: 160_000 },
].map((m) => ({ ...m, address: privateKeyToAccount(m.key).address }));
const RELAYER_ENV = "E2E_RELAYER_KEY";
const RELAYER = privateKeyToAccount(hardhatDevKey(5)).address;



describe("end to end: mine, commit, claim, audit", function () {
  this.timeout(240_000);
  let pool: RunningPool;
  let dataDir: string;
  const miners: Miner[] = [];
  const lines: string[] = [];
  const capture = (line: string) => lines.push(line);
  /** Balance in the pool's asset (the embedded default's 8-decimal tBTC, or the native coin). */
  const assetBalance = async (address: `0x${string}`): Promise<bigint> =>
    pool.asset.token
      ? pool.evm.publicClient.readContract({ address: pool.asset.token, abi: erc20Abi, functionName: "balanceOf", args: [address] })
      : pool.evm.publicClient.getBalance({ address });

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-e2e-"));
    pool = await startPool({
      env: {},
      logger: pino({ level: "silent" }),
      overrides: {
        dataDir,
        // Two Stratum worker processes (issue 15): the whole flow runs through the cluster.
        stratum: { port: 0, startDifficulty: "0.00002", minDifficulty: "0.00001", targetShareSeconds: 2, processes: 2 },
        api: { port: 0 },
        evm: { embeddedPort: 0, challengeWindow: 1 },
        chain: { networkDifficulty: "0.0005", syntheticTxs: 2 },
        pplns: { feeBps: 100 },
        committer: { pollSeconds: 0.25 },
        // …and the shares written on the SQLite store's writer thread (store.writerThread).
        store: { writerThread: true },
      },
    });
    process.env[RELAYER_ENV] = hardhatDevKey(5);
  });

  after(async () => {
    for (const m of miners) await m.stop();
    await pool?.stop();
    delete process.env[RELAYER_ENV];
  });

  it("three miners of different speeds find two blocks, and the epochs go on chain", async () => {
    for (const m of MINERS) {
      const miner = new Miner({ url: pool.stratumUrl, user: `${m.address}.${m.worker}`, maxHashrate: m.maxHashrate });
      await miner.start();
      miners.push(miner);
    }
    // Every miner needs a share before the last block, so that each has an allocation; on a loaded
    // machine the slow one may not have one by the second block.
    await waitFor("a share accepted from every miner", 180_000, async () => miners.every((m) => m.accepted > 0));
    const blocksBefore = (await pool.store.blocks()).length;
    await waitFor("two blocks, one after every miner's first share", 180_000, async () => (await pool.store.blocks()).length >= Math.max(2, blocksBefore + 1));
    for (const m of miners) await m.stop();
    for (const m of miners) expect(m.accepted, "every miner had shares accepted").to.be.greaterThan(0);

    // A block submitted just before the miners stopped may still be on its way to the store.
    await new Promise((r) => setTimeout(r, 1000));
    await waitFor("every block paid in an active epoch", 60_000, async () => {
      const stats = await getJson(`${pool.apiUrl}/api/stats`);
      const epochs = await getJson(`${pool.apiUrl}/api/epochs`);
      const paid = (await pool.store.blocks()).every((b) => b.epoch !== null);
      return paid && epochs.length > 0 && stats.activeEpoch === epochs[0].epoch && stats.pendingEpoch === null;
    });
    const blocks = await pool.store.blocks();
    expect(blocks.every((b) => b.epoch !== null)).to.equal(true);
    const rewards = blocks.reduce((s, b) => s + b.reward, 0n);
    const stats = await getJson(`${pool.apiUrl}/api/stats`);
    expect(BigInt(stats.contract.activeTotalCumulative)).to.equal(rewards);
    expect(BigInt(stats.contract.totalFunded)).to.equal(rewards);
  });

  it("each miner claims with the CLI and receives exactly its allocation", async () => {
    let allocatedToMiners = 0n;
    for (const m of MINERS) {
      const miner = await getJson(`${pool.apiUrl}/api/miners/${m.address}`);
      const allocated = BigInt(miner.allocated);
      expect(allocated > 0n, `${m.worker} has an allocation`).to.equal(true);
      expect(miner.epochs.length, `${m.worker}'s per-epoch history`).to.be.greaterThan(0);
      expect(miner.epochs[miner.epochs.length - 1].cumulative).to.equal(miner.allocated);
      allocatedToMiners += allocated;
      const before = await assetBalance(m.address);

      lines.length = 0;
      const code = await claimCommand(["--address", m.address, "--api", pool.apiUrl, "--key-env", RELAYER_ENV], capture);
      expect(code, lines.join("\n")).to.equal(0);
      expect(lines.some((l) => l.startsWith("transaction:"))).to.equal(true);

      const after = await assetBalance(m.address);
      expect(after - before, `${m.worker} received its allocation to the unit (tBTC, the embedded default's asset)`).to.equal(allocated);
      const again = await getJson(`${pool.apiUrl}/api/miners/${m.address}`);
      expect(again.claimed).to.equal(allocated.toString());
      expect(again.claimable).to.equal("0");
      // The CLI claim (sent by the relayer key, not the pool) is in the miner's history, from the chain's events.
      const tx = lines.find((l) => l.startsWith("transaction:"))!.split(/\s+/)[1];
      expect(again.claims).to.deep.include({ txHash: tx, amount: allocated.toString(), cumulative: allocated.toString(), via: "claim", sender: RELAYER, blockNumber: again.claims[0].blockNumber, time: again.claims[0].time });
    }
    // The rest of the reward is the operator's 1 % fee leaf.
    const rewards = (await pool.store.blocks()).reduce((s, b) => s + b.reward, 0n);
    const fee = rewards - allocatedToMiners;
    expect(fee > 0n && fee <= rewards / 100n + 2n, `fee ${fee} of ${rewards}`).to.equal(true);
  });

  it("the audit of every epoch passes against the chain", async () => {
    const epochs = await getJson(`${pool.apiUrl}/api/epochs`);
    for (const e of epochs) {
      lines.length = 0;
      const code = await auditCommand(["--epoch", String(e.epoch), "--api", pool.apiUrl, "--rpc", pool.rpcUrl, "--contract", pool.contract], capture);
      expect(code, lines.join("\n")).to.equal(0);
      expect(lines.join("\n")).to.contain("AUDIT PASSED");
    }
  });

  it("a tampered share log and a tampered epoch file each fail the audit", async () => {
    const epoch = (await getJson(`${pool.apiUrl}/api/epochs`))[0].epoch as number;
    const source = path.join(dataDir, "epochs");
    const copy = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-e2e-audit-"));
      for (const f of fs.readdirSync(source)) fs.copyFileSync(path.join(source, f), path.join(dir, f));
      return dir;
    };
    const audit = async (dir: string) => {
      lines.length = 0;
      const code = await auditCommand(["--epoch", String(epoch), "--dir", dir, "--rpc", pool.rpcUrl, "--contract", pool.contract], capture);
      return { code, text: lines.join("\n") };
    };

    const untouched = await audit(copy());
    expect(untouched.code, untouched.text).to.equal(0);

    // Share log: credit the first share to another address (its proof of work names the real one).
    const logDir = copy();
    const logFile = path.join(logDir, shareLogFileName(epoch));
    const logLines = fs.readFileSync(logFile, "utf8").split("\n");
    // The first share of a miner in this epoch's window, credited to another miner.
    const victim = MINERS.findIndex((m) => logLines.some((l) => l.includes(m.address.toLowerCase().slice(2))));
    expect(victim, "some miner has a share in the epoch's log").to.be.greaterThan(-1);
    const from = MINERS[victim].address.toLowerCase();
    const to = MINERS[(victim + 1) % MINERS.length].address.toLowerCase();
    const i = logLines.findIndex((l) => l.includes(from.slice(2)));
    logLines[i] = logLines[i].split(from).join(to);
    fs.writeFileSync(logFile, logLines.join("\n"));
    const badLog = await audit(logDir);
    expect(badLog.code, badLog.text).to.equal(1);
    if (process.env.E2E_VERBOSE) console.log(badLog.text);
    expect(badLog.text).to.contain("AUDIT FAILED");

    // Epoch file: move one unit between two leaves (totals unchanged, root and digest differ).
    const fileDir = copy();
    const epochFile = path.join(fileDir, epochFileName(epoch));
    const text = fs.readFileSync(epochFile, "utf8");
    const a = MINERS[1].address.toLowerCase();
    const leaf = new RegExp(`\\["${a}","(\\d+)","(\\d+)"\\]`).exec(text);
    expect(leaf, "the epoch file has a leaf for the medium miner").to.not.equal(null);
    const tampered = text.replace(leaf![0], `["${a}","${BigInt(leaf![1]) + 1n}","${BigInt(leaf![2]) + 1n}"]`);
    fs.writeFileSync(epochFile, tampered);
    const badFile = await audit(fileDir);
    expect(badFile.code, badFile.text).to.equal(1);
    if (process.env.E2E_VERBOSE) console.log(badFile.text);
    expect(badFile.text).to.contain("AUDIT FAILED");
  });
});
