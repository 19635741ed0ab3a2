import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { privateKeyToAccount } from "viem/accounts";
import { auditCommand } from "../src/cli/audit";
import { claimCommand } from "../src/cli/claim";
import { hardhatDevKey } from "../src/evm/clients";
import { epochFileName, parseEpochFile } from "../src/epochs";
import { Miner } from "../src/miner";
import { startPool, type RunningPool } from "../src/pool";
import { getJson, waitFor } from "./pool.helpers";

const MINER = privateKeyToAccount(hardhatDevKey(7)).address;
const RELAYER_ENV = "UNITS_RELAYER_KEY";
const WEI_PER_SATOSHI = 10_000_000_000n;

/**
 * Issue 17, units: a pool paying the chain's native 18-decimal coin at evm.unitsPerSatoshi = 10^10
 * (one satoshi of block reward = 10^10 wei, so a 50 BTC block pays 50 ETH), end to end on the
 * embedded EVM: mined block, epoch file stating the asset, root accepted, claim to the wei, audit.
 */
describe("units: a pool on the native 18-decimal coin at 10^10 wei per satoshi", function () {
  this.timeout(240_000);
  let pool: RunningPool | undefined;
  let dataDir: string;
  const lines: string[] = [];
  const capture = (line: string) => lines.push(line);
  const settings = (unitsPerSatoshi?: string) => ({
    dataDir,
    stratum: { port: 0, startDifficulty: "0.00002", minDifficulty: "0.00001", targetShareSeconds: 2 },
    api: { port: 0 },
    evm: { embeddedPort: 0, challengeWindow: 1, token: "native", ...(unitsPerSatoshi ? { unitsPerSatoshi } : {}) },
    chain: { networkDifficulty: "0.0005" },
    committer: { pollSeconds: 0.25 },
    pplns: { feeBps: 0 },
  });

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-units-"));
    pool = await startPool({ env: {}, logger: pino({ level: "silent" }), overrides: settings("10000000000") });
    process.env[RELAYER_ENV] = hardhatDevKey(5);
  });

  after(async () => {
    await pool?.stop();
    delete process.env[RELAYER_ENV];
  });

  it("mines a block, states the asset in the epoch file, gets the root accepted and pays a claim to the wei", async () => {
    const p = pool!;
    expect(p.asset).to.deep.equal({ token: null, symbol: "ETH", decimals: 18, unitsPerSatoshi: "10000000000" });
    const config = await getJson(`${p.apiUrl}/api/config`);
    expect(config).to.include({ assetSymbol: "ETH", assetDecimals: 18, unitsPerSatoshi: "10000000000" });

    const miner = new Miner({ url: p.stratumUrl, user: `${MINER}.rig` });
    await miner.start();
    try {
      await waitFor("a block", 180_000, async () => (await p.store.blocks()).length >= 1);
    } finally {
      await miner.stop();
    }
    await new Promise((r) => setTimeout(r, 500)); // a block submitted as the miner stopped
    await waitFor("every block paid in an active epoch", 90_000, async () => {
      const stats = await getJson(`${p.apiUrl}/api/stats`);
      const paid = (await p.store.blocks()).every((b) => b.epoch !== null);
      return paid && stats.activeEpoch !== null && stats.activeEpoch >= 1 && stats.pendingEpoch === null;
    });

    const blocks = await p.store.blocks();
    const satoshis = blocks.reduce((s, b) => s + b.reward, 0n);
    expect(satoshis > 0n).to.equal(true);
    const file = parseEpochFile(fs.readFileSync(path.join(dataDir, "epochs", epochFileName(1))));
    expect(file.asset).to.deep.equal({ symbol: "ETH", decimals: 18, unitsPerSatoshi: "10000000000" });
    const inFile = new Map(file.blocks.map((b) => [b.hash, BigInt(b.reward)]));
    for (const b of blocks.filter((x) => x.epoch === 1)) expect(inFile.get(b.hash), `block ${b.height}: coinbase satoshis × 10^10`).to.equal(b.reward * WEI_PER_SATOSHI);
    // The API's block rewards are in wei too.
    const apiBlocks = await getJson(`${p.apiUrl}/api/blocks`);
    for (const b of apiBlocks) expect(BigInt(b.reward)).to.equal(blocks.find((x) => x.hash === b.hash)!.reward * WEI_PER_SATOSHI);

    // One miner, no fee: its whole allocation is every block's satoshis × 10^10, funded and claimable.
    const stats = await getJson(`${p.apiUrl}/api/stats`);
    expect(BigInt(stats.contract.activeTotalCumulative)).to.equal(satoshis * WEI_PER_SATOSHI);
    expect(BigInt(stats.contract.totalFunded)).to.equal(satoshis * WEI_PER_SATOSHI);
    const before = await p.evm.publicClient.getBalance({ address: MINER });
    lines.length = 0;
    const code = await claimCommand(["--address", MINER, "--api", p.apiUrl, "--key-env", RELAYER_ENV], capture);
    expect(code, lines.join("\n")).to.equal(0);
    const received = (await p.evm.publicClient.getBalance({ address: MINER })) - before;
    expect(received, "the claim pays the reward share × 10^10 wei, exactly").to.equal(satoshis * WEI_PER_SATOSHI);
    expect(lines.join("\n"), "the CLI prints ETH amounts with 18 decimals").to.contain(" ETH (");
  });

  it("the audit passes against the chain; a forged unitsPerSatoshi fails it with the cause named", async () => {
    const p = pool!;
    lines.length = 0;
    let code = await auditCommand(["--epoch", "1", "--api", p.apiUrl, "--rpc", p.rpcUrl, "--contract", p.contract], capture);
    expect(code, lines.join("\n")).to.equal(0);
    expect(lines.join("\n")).to.contain("AUDIT PASSED");

    // The same epoch, stated as 10^11 units per satoshi of a 19-decimal asset (self-consistent), rewards untouched.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-units-forged-"));
    const source = path.join(dataDir, "epochs");
    for (const f of fs.readdirSync(source)) fs.copyFileSync(path.join(source, f), path.join(dir, f));
    const file = path.join(dir, epochFileName(1));
    const text = fs.readFileSync(file, "utf8");
    const forged = text.replace('"decimals": 18', '"decimals": 19').replace('"unitsPerSatoshi": "10000000000"', '"unitsPerSatoshi": "100000000000"');
    expect(forged).to.not.equal(text);
    fs.writeFileSync(file, forged);
    lines.length = 0;
    code = await auditCommand(["--epoch", "1", "--dir", dir, "--rpc", p.rpcUrl, "--contract", p.contract], capture);
    const report = lines.join("\n");
    expect(code, report).to.equal(1);
    expect(report).to.contain("AUDIT FAILED");
    expect(report).to.match(/reward \d+ differs from the \d+ \(\d+ satoshis × asset\.unitsPerSatoshi 100000000000\) its coinbase pays/);
  });

  it("refuses a restart of this store with another unitsPerSatoshi, naming the setting", async () => {
    await pool!.stop();
    pool = undefined;
    const err = await startPool({ env: {}, logger: pino({ level: "silent" }), overrides: settings(undefined) }).then(
      async (p) => {
        await p.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err, "the pool refused to start").to.be.instanceOf(Error);
    expect(err!.message).to.contain("evm.unitsPerSatoshi").and.to.contain("is 1").and.to.contain("10000000000").and.to.contain("mix units");
  });
});
