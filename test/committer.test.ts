import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { rebuildEpochCommand } from "../src/cli/rebuild";
import { auditEpoch, parseEpochFile } from "../src/epochs";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { Miner } from "../src/miner";
import { startPool, type RunningPool } from "../src/pool";
import { waitFor } from "./pool.helpers";

const CHALLENGE_WINDOW = 3600;
const MINER = privateKeyToAccount(hardhatDevKey(6)).address;


/**
 * The committer against a contract deployed beforehand (the "real deployment" configuration: EVM
 * RPC URL, contract address and operator key), with a challenge window, a restart while a root is
 * pending, and a guardian revocation that only an operator command lets it rebuild.
 */
describe("committer: restart while pending, revocation and explicit rebuild", function () {
  this.timeout(180_000);
  let evm: EmbeddedEvm;
  let clients: EvmClients;
  let contract: `0x${string}`;
  let dataDir: string;
  let configFile: string;
  let pool: RunningPool | undefined;
  let miner: Miner | undefined;

  const proposals = async (epoch: number) =>
    (await clients.publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootProposed", args: { epoch: BigInt(epoch) }, fromBlock: 0n })).length;
  const chainState = async () => {
    const [active, pending] = await Promise.all([
      clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" }),
      clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" }),
    ]);
    return { active: Number(active[1]), pending: Number(pending[1]) };
  };
  const start = async () =>
    startPool({ configFile, env: {}, logger: pino({ level: "silent" }) });
  const mine = async (p: RunningPool) => {
    miner = new Miner({ url: p.stratumUrl, user: `${MINER}.rig` });
    await miner.start();
  };
  const stopMining = async () => {
    await miner?.stop();
    miner = undefined;
  };

  before(async () => {
    evm = await startEmbeddedEvm({ port: 0 });
    clients = await connectEvm(evm.rpcUrl, hardhatDevKey(0));
    const deployed = await deployPayoutPool(clients, {
      token: "0x0000000000000000000000000000000000000000",
      admin: clients.account!.address,
      operator: clients.account!.address,
      guardian: privateKeyToAccount(hardhatDevKey(1)).address,
      challengeWindow: CHALLENGE_WINDOW,
      maxPause: 3600,
    });
    contract = deployed.address;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-committer-"));
    configFile = path.join(dataDir, "pool.json");
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        dataDir,
        stratum: { port: 0, startDifficulty: "0.00005", minDifficulty: "0.00001", targetShareSeconds: 2 },
        api: { port: 0 },
        evm: { rpcUrl: evm.rpcUrl, contract, operatorKey: hardhatDevKey(0), challengeWindow: CHALLENGE_WINDOW },
        chain: { networkDifficulty: "0.0002" },
        committer: { pollSeconds: 0.2 },
      }),
    );
  });

  after(async () => {
    await stopMining();
    await pool?.stop();
    await evm?.close();
  });

  it("proposes once, survives a restart while the root is pending, and accepts after the window", async () => {
    pool = await start();
    await mine(pool);
    await waitFor("epoch 1 pending on chain", 90_000, async () => (await chainState()).pending === 1);
    await stopMining();
    await pool.stop(); // as if the process died with the root pending

    pool = await start();
    await new Promise((r) => setTimeout(r, 1500)); // several committer passes
    expect(await proposals(1), "no second proposal after the restart").to.equal(1);
    expect(await chainState()).to.deep.equal({ active: 0, pending: 1 });
    expect((await pool.store.epoch(1))?.state).to.equal("proposed");

    await clients.publicClient.request({ method: "evm_increaseTime" as any, params: [CHALLENGE_WINDOW + 1] as any });
    await clients.publicClient.request({ method: "evm_mine" as any, params: [] as any });
    await waitFor("epoch 1 active", 20_000, async () => (await chainState()).active === 1);
    await waitFor("store marks epoch 1 accepted", 5_000, async () => (await pool!.store.epoch(1))?.state === "accepted");
    expect(await proposals(1)).to.equal(1);
  });

  it("after a guardian revokes a root, rebuilds it only on the operator's command", async () => {
    await mine(pool!);
    await waitFor("epoch 2 pending on chain", 90_000, async () => (await chainState()).pending === 2);
    await stopMining();
    // The miner may find more blocks between epoch 2's build and its stop; let them all settle.
    await waitFor("no block awaiting confirmation", 10_000, async () => (await pool!.store.blocks({ status: "pending" })).length === 0);
    const revoked = (await pool!.store.epoch(2))!;

    const guardian = createWalletClient({ chain: clients.chain, transport: http(evm.rpcUrl), account: privateKeyToAccount(hardhatDevKey(1)) });
    const hash = await guardian.writeContract({
      address: contract,
      abi: payoutPoolAbi,
      functionName: "revokeRoot",
      args: [2n, revoked.root as `0x${string}`],
    });
    await clients.publicClient.waitForTransactionReceipt({ hash });

    await waitFor("store marks epoch 2 revoked", 10_000, async () => (await pool!.store.epoch(2))?.state === "revoked");
    const paidBlocks = (await pool!.store.blocks()).filter((b) => b.epoch === 2);
    expect(paidBlocks, "the revoked epoch's blocks are unpaid again").to.have.length(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await proposals(2), "nothing re-proposed without the operator").to.equal(1);
    expect(await chainState()).to.deep.equal({ active: 1, pending: 0 });
    const payable = (await pool!.store.blocks({ status: "confirmed", unpaid: true }))
      .sort((a, b) => a.height - b.height || (a.hash < b.hash ? -1 : 1))
      .map((b) => b.hash);
    expect(payable, "every block of the revoked epoch is payable again").to.include.members(revoked.blocks);

    const out: string[] = [];
    expect(await rebuildEpochCommand(["--config", configFile], (l) => out.push(l))).to.equal(0);
    expect(out.join("\n")).to.contain("epoch 2 will be rebuilt");

    await waitFor("epoch 2 proposed again", 20_000, async () => (await proposals(2)) === 2);
    // The event can be seen before the committer has recorded its own receipt in the store.
    await waitFor("store marks epoch 2 proposed", 10_000, async () => (await pool!.store.epoch(2))?.state === "proposed");
    const rebuilt = (await pool!.store.epoch(2))!;
    expect(rebuilt.state).to.equal("proposed");
    expect(rebuilt.blocks, "the rebuilt epoch pays every payable block").to.deep.equal(payable);

    // The revoked files are kept aside, and the rebuild is deterministic: each block it paid before
    // gets the same window and split again, and with no block added the root is the revoked one.
    const tag = `.revoked-${revoked.dataHash.slice(2, 10)}`;
    const keptFile = revoked.filePath.replace(/\.json$/, `${tag}.json`);
    const keptLog = revoked.shareLogPath.replace(/\.shares\.jsonl$/, `${tag}.shares.jsonl`);
    expect(fs.existsSync(keptFile) && fs.existsSync(keptLog), "revoked files kept aside").to.equal(true);
    const before = parseEpochFile(fs.readFileSync(keptFile));
    const after = parseEpochFile(fs.readFileSync(rebuilt.filePath));
    for (const block of before.blocks) expect(after.blocks.find((b) => b.hash === block.hash), `block ${block.height}`).to.deep.equal(block);
    if (payable.length === revoked.blocks.length) expect(rebuilt.root).to.equal(revoked.root);
    else expect(rebuilt.root).to.not.equal(revoked.root);

    const epoch1 = (await pool!.store.epoch(1))!;
    const report = await auditEpoch({ epochFile: rebuilt.filePath, previousEpochFile: epoch1.filePath });
    expect(report.findings).to.deep.equal([]);
    expect(report.root).to.equal(rebuilt.root);
    expect((await clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" }))[0]).to.equal(rebuilt.root);
  });
});
