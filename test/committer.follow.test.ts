import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import hre from "hardhat";
import { createWalletClient, getAddress, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { Miner } from "../src/miner";
import { startPool, type RunningPool } from "../src/pool";
import { getJson, waitFor } from "./pool.helpers";

const CHALLENGE_WINDOW = 3600;
const MINER = privateKeyToAccount(hardhatDevKey(6)).address;

/**
 * acceptRoot is public: a root of ours made active by someone else (here a keeper with dev key 7)
 * must start the same things as our own accept (issue 13, item 10): the store records the epoch as
 * accepted with that transaction, the web page gets its update, the metric counts it, and the
 * automatic payouts for the epoch are sent. The outsider's transaction is the one that crosses the
 * challenge window (mined at exactly validAt), so the pool never had a chance to accept it first.
 * The pool's fee goes to a contract that refuses the coin: the relay must set that account aside
 * (API, miner data, metric) and still pay the miner.
 */
describe("committer: follows a RootAccepted sent by anyone", function () {
  this.timeout(180_000);
  let evm: EmbeddedEvm;
  let clients: EvmClients;
  let contract: `0x${string}`;
  let pool: RunningPool | undefined;
  let miner: Miner | undefined;

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
  });
  after(async () => {
    await miner?.stop();
    await pool?.stop();
    await evm?.close();
  });

  it("an outside acceptRoot starts payouts, the web update and the metric, and is recorded with its transaction; an unpayable fee address is set aside", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-follow-"));
    const rejecting = getAddress((await hre.viem.deployContract("RejectingReceiver")).address);
    pool = await startPool({
      env: {},
      logger: pino({ level: "silent" }),
      overrides: {
        dataDir,
        stratum: { port: 0, startDifficulty: "0.00005", minDifficulty: "0.00001", targetShareSeconds: 2 },
        api: { port: 0 },
        evm: { rpcUrl: evm.rpcUrl, contract, operatorKey: hardhatDevKey(0), challengeWindow: CHALLENGE_WINDOW },
        chain: { networkDifficulty: "0.0002" },
        committer: { pollSeconds: 0.2 },
        payouts: { threshold: "0" },
        pplns: { feeBps: 100, feeAddress: rejecting },
      },
    });
    const updates: { kind: string; epoch?: number; state?: string }[] = [];
    pool.events.on("update", (u) => updates.push(u));
    miner = new Miner({ url: pool.stratumUrl, user: `${MINER}.rig` });
    await miner.start();
    const pendingNow = async () => clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" });
    await waitFor("epoch 1 pending on chain", 90_000, async () => (await pendingNow())[1] === 1n);
    await miner.stop();
    miner = undefined;
    const [, , , validAt] = await pendingNow();

    // The keeper's acceptRoot is the first block at validAt.
    await clients.publicClient.request({ method: "evm_setNextBlockTimestamp" as any, params: [Number(validAt)] as any });
    const keeper = createWalletClient({ chain: clients.chain, transport: http(evm.rpcUrl), account: privateKeyToAccount(hardhatDevKey(7)) });
    const acceptTx = await keeper.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "acceptRoot" });
    expect((await clients.publicClient.waitForTransactionReceipt({ hash: acceptTx })).status).to.equal("success");

    await waitFor("store marks epoch 1 accepted", 10_000, async () => (await pool!.store.epoch(1))?.state === "accepted");
    expect((await pool.store.epoch(1))!.acceptTx).to.equal(acceptTx);
    const epochs = await getJson(`${pool.apiUrl}/api/epochs`);
    expect(epochs.find((e: any) => e.epoch === 1)).to.deep.include({ state: "active", acceptTx });
    // The web page's update, the metric, and the payout.
    await waitFor("the web update", 5_000, async () => updates.some((u) => u.kind === "epoch" && u.epoch === 1 && u.state === "active"));
    const metrics = await (await fetch(`${pool.apiUrl}/metrics`)).text();
    expect(metrics).to.match(/^pool_epochs_committed_total 1$/m);
    const payouts = await waitFor("a confirmed payout for epoch 1", 20_000, async () => {
      const list = await getJson(`${pool!.apiUrl}/api/payouts`);
      return list.find((b: any) => b.epoch === 1 && b.status === "confirmed");
    });
    expect(payouts.accounts.map((a: any) => a.account.toLowerCase())).to.include(MINER.toLowerCase());
    // Our committer sent no acceptRoot of its own.
    const accepts = await clients.publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootAccepted", fromBlock: 0n });
    expect(accepts.map((l) => l.transactionHash)).to.deep.equal([acceptTx]);
    // The fee address refuses the coin: set aside with its reason, everywhere the operator and the miner look.
    expect(payouts.accounts.map((a: any) => a.account.toLowerCase())).to.not.include(rejecting.toLowerCase());
    const aside = await waitFor("the fee address set aside", 10_000, async () => {
      const list = await getJson(`${pool!.apiUrl}/api/payouts/aside`);
      return list.length > 0 && list;
    });
    expect(aside.map((e: any) => e.account)).to.deep.equal([rejecting]);
    expect(aside[0].reason).to.match(/^NativeTransferFailed\(/);
    const page = await getJson(`${pool.apiUrl}/api/miners/${rejecting}`);
    expect(page.payoutAside).to.include({ epoch: 1, attempts: 1 });
    expect((await getJson(`${pool.apiUrl}/api/miners/${MINER}`)).payoutAside).to.equal(null);
    expect(await (await fetch(`${pool.apiUrl}/metrics`)).text()).to.match(/^pool_payout_accounts_aside 1$/m);
  });
});
