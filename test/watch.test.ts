/**
 * The watchtower beside a running pool (embedded chain, CPU miner, a PayoutPool deployed with a
 * real challenge window, files published over HTTP at `publish.baseUrl`): it audits every honest
 * root and revokes none; a forged root (proposed by the operator's key, its files published next
 * to the real ones) is revoked by a watchtower restarted in the middle of the window, before
 * `validAt`; miners' claims under the previous root keep working throughout; the honest next root
 * is accepted. Metrics are served over HTTP.
 */
import { expect } from "chai";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { keccak256Hex, parseEpochFile, serializeEpochFile } from "../src/epochs";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { PayoutTree } from "../src/merkle";
import { Miner } from "../src/miner";
import { startPool, type RunningPool } from "../src/pool";
import { WatchMetrics } from "../src/watch/metrics";
import { Watchtower, type WatchResult } from "../src/watch/watchtower";
import { getJson, waitFor } from "./pool.helpers";

// Long enough for the restarted watchtower to fetch, audit and revoke on a loaded machine (it takes ~1-2 s).
const CHALLENGE_WINDOW = 12;
const MINER = privateKeyToAccount(hardhatDevKey(6)).address;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe("watchtower: beside a running pool, revokes a forged root inside the window", function () {
  this.timeout(300_000);
  let evm: EmbeddedEvm;
  let clients: EvmClients;
  let contract: Address;
  let dir: string;
  let pool: RunningPool | undefined;
  let miner: Miner | undefined;
  let tower: Watchtower | undefined;
  let metrics: WatchMetrics;
  const results: WatchResult[] = [];
  const silent = pino({ level: "silent" });

  const state = async () => {
    const [active, pending] = await Promise.all([
      clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" }),
      clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" }),
    ]);
    return { active: Number(active[1]), pending: Number(pending[1]), pendingRoot: pending[0], validAt: Number(pending[3]) };
  };
  const startTower = () => {
    const guardian = createWalletClient({ chain: clients.chain, transport: http(evm.rpcUrl), account: privateKeyToAccount(hardhatDevKey(1)) });
    tower = new Watchtower({ publicClient: clients.publicClient, guardian, contract, workDir: path.join(dir, "watch"), pollMs: 300, metrics, logger: silent });
    tower.on("audited", (r: WatchResult) => results.push(r));
    tower.start();
  };

  before(async () => {
    evm = await startEmbeddedEvm({ port: 0 });
    clients = await connectEvm(evm.rpcUrl, hardhatDevKey(0));
    contract = (
      await deployPayoutPool(clients, {
        token: "0x0000000000000000000000000000000000000000",
        admin: clients.account!.address,
        operator: clients.account!.address,
        guardian: privateKeyToAccount(hardhatDevKey(1)).address,
        challengeWindow: CHALLENGE_WINDOW,
        maxPause: 3600,
      })
    ).address;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-watch-"));
    const apiPort = await freePort();
    const configFile = path.join(dir, "pool.json");
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: path.join(dir, "data"),
        stratum: { port: 0, startDifficulty: "0.00005", minDifficulty: "0.00001", targetShareSeconds: 2 },
        api: { port: apiPort },
        evm: { rpcUrl: evm.rpcUrl, contract, operatorKey: hardhatDevKey(0), challengeWindow: CHALLENGE_WINDOW },
        chain: { networkDifficulty: "0.0002" },
        committer: { pollSeconds: 0.2 },
        publish: { baseUrl: `http://127.0.0.1:${apiPort}/epochs` },
      }),
    );
    pool = await startPool({ configFile, env: {}, logger: silent });
    metrics = new WatchMetrics();
  });

  after(async () => {
    await tower?.stop();
    await miner?.stop();
    await pool?.stop();
    await evm?.close();
  });

  it("audits the honest pool's roots (fetched from the public uri) and revokes none", async () => {
    startTower();
    miner = new Miner({ url: pool!.stratumUrl, user: `${MINER}.rig` });
    await miner.start();
    await waitFor("epoch 2 active", 200_000, async () => (await state()).active >= 2, 500);
    await miner.stop();
    miner = undefined;
    const proposed = await clients.publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootProposed", fromBlock: 0n });
    expect(proposed[0].args.uri).to.match(/^http:\/\/127\.0\.0\.1:\d+\/epochs\/epoch-000001\.json$/);
    const audited = results.filter((r) => r.epoch <= 2);
    expect(audited.map((r) => r.epoch)).to.include.members([1, 2]);
    for (const r of audited) expect(r.findings, `epoch ${r.epoch}`).to.deep.equal([]);
    expect(results.some((r) => r.revokeTx)).to.equal(false);
    expect(await clients.publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootRevoked", fromBlock: 0n })).to.have.length(0);
  });

  it("a forged root proposed while the watchtower is down is revoked by it after a restart, before validAt; claims keep working; the honest next root is accepted", async () => {
    // Every block the miner found is paid and active, nothing is pending: the pool is idle.
    await waitFor("the pool idle (no pending root, no unpaid block)", 120_000, async () => {
      const unpaid = (await pool!.store.blocks()).filter((b) => b.status !== "orphaned" && b.epoch == null);
      const latest = (await pool!.store.epochs()).filter((e) => e.state !== "revoked").pop()?.number;
      const st = await state();
      return st.pending === 0 && unpaid.length === 0 && latest === st.active;
    });
    await tower!.stop(); // the watchtower goes down
    const s = await state();
    const n = s.active;
    const record = (await pool!.store.epoch(n))!;
    // The dishonest operator pays epoch n's blocks a second time in a forged epoch n+1 that chains
    // onto n (consistent: new cumulatives, root, total and digest), and publishes it.
    const f = parseEpochFile(fs.readFileSync(record.filePath));
    f.previous = { epoch: n, root: f.root, dataHash: record.dataHash as Hex };
    f.epoch = n + 1;
    for (let i = 0; i < f.leaves.accounts.length; i++) f.leaves.cumulative[i] += f.leaves.delta[i];
    const tree = PayoutTree.fromSorted(f.leaves.accounts, f.leaves.cumulative);
    f.root = tree.root;
    f.totalCumulative = tree.total.toString();
    const forgedDir = path.join(dir, "forged");
    fs.mkdirSync(forgedDir);
    const bytes = serializeEpochFile(f);
    const forgedFile = path.join(forgedDir, `epoch-${String(n + 1).padStart(6, "0")}.json`);
    fs.writeFileSync(forgedFile, bytes);
    fs.copyFileSync(record.shareLogPath, path.join(forgedDir, path.basename(f.shareLog.file)));
    fs.copyFileSync(path.join(path.dirname(record.filePath), "headers.txt"), path.join(forgedDir, "headers.txt"));
    const w = clients.walletClient!;
    const funded = await clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "totalFunded" });
    if (tree.total > funded) await clients.publicClient.waitForTransactionReceipt({ hash: await w.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "fund", args: [tree.total - funded], value: tree.total - funded }) });
    await clients.publicClient.waitForTransactionReceipt({
      hash: await w.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "proposeRoot", args: [BigInt(n + 1), tree.root, tree.total, keccak256Hex(bytes), `file://${forgedFile}`] }),
    });
    const forged = await state();
    expect(forged.pending).to.equal(n + 1);

    // A miner claims under the active root while the forged one is pending.
    const proof = await getJson(`${pool!.apiUrl}/api/proof/${MINER}`);
    const relayer = createWalletClient({ chain: clients.chain, transport: http(evm.rpcUrl), account: privateKeyToAccount(hardhatDevKey(5)) });
    const before = await clients.publicClient.getBalance({ address: MINER });
    await clients.publicClient.waitForTransactionReceipt({ hash: await relayer.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "claim", args: [MINER, BigInt(proof.cumulative), proof.proof] }) });
    expect((await clients.publicClient.getBalance({ address: MINER })) > before, "the claim paid the miner").to.equal(true);

    startTower(); // restarted in the middle of the window
    const revoked = await waitFor("the forged root revoked", 30_000, async () => results.find((r) => r.epoch === n + 1 && r.revokeTx));
    expect(revoked.findings.join("\n")).to.match(new RegExp(`continuity: block 0 \\([0-9a-f]{64}\\) was already paid in epoch ${n}`));
    const receipt = await clients.publicClient.getTransactionReceipt({ hash: revoked.revokeTx! });
    const block = await clients.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    expect(Number(block.timestamp), "revoked before validAt").to.be.lessThan(forged.validAt);
    expect(revoked.windowLeftSeconds).to.be.greaterThan(0);
    expect((await state()).pending).to.equal(0);

    // The honest next root: the pool builds epoch n+1 from new blocks, the watchtower passes it, it becomes active.
    miner = new Miner({ url: pool!.stratumUrl, user: `${MINER}.rig` });
    await miner.start();
    await waitFor(`epoch ${n + 1} active`, 200_000, async () => (await state()).active >= n + 1, 500);
    await miner.stop();
    miner = undefined;
    const honest = results.filter((r) => r.epoch === n + 1 && !r.revokeTx);
    expect(honest.length).to.be.greaterThan(0);
    expect(honest[0].findings).to.deep.equal([]);

    const served = await metrics.serve(0);
    const text = await (await fetch(`http://127.0.0.1:${served.port}/metrics`)).text();
    await served.close();
    expect(text).to.match(/watch_revokes_sent_total\{status="success"\} 1/);
    expect(text).to.match(/watch_epochs_audited_total\{result="fail"\} 1/);
    expect(text).to.match(/watch_epochs_audited_total\{result="pass"\} [3-9]/);
  });
});
