/**
 * Automatic payouts (src/payouts) on the real in-process Hardhat EVM, served over JSON-RPC exactly as
 * the pool serves it (startEmbeddedEvm + connectEvm with the operator's key), with a real SQLite
 * share store, epoch files written in the published format and roots proposed and accepted on a
 * freshly deployed PayoutPool (native coin). Miners are fresh random addresses that never send a
 * transaction: every coin they hold came from a claim.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { getAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { PayoutService, type PayoutBatch } from "../src/payouts";
import { COIN, Fixture, MAX_PAUSE, randomAccounts, until } from "./payouts.helpers";

/** Checks a confirmed batch on chain: sent by the operator to the pool's claimMany, within `maxGas`. */
async function expectOperatorBatch(f: Fixture, batch: PayoutBatch, maxGas?: number): Promise<void> {
  expect(batch.status).to.equal("confirmed");
  const [tx, receipt] = await Promise.all([
    f.pc.getTransaction({ hash: batch.txHash as Hex }),
    f.pc.getTransactionReceipt({ hash: batch.txHash as Hex }),
  ]);
  expect(receipt.status).to.equal("success");
  expect(tx.from.toLowerCase()).to.equal(f.operator.account!.address.toLowerCase());
  expect(tx.to!.toLowerCase()).to.equal(f.contract.toLowerCase());
  expect(tx.input.slice(0, 10)).to.equal("0x" + (await selectorOfClaimMany()));
  expect(batch.gasUsed).to.equal(receipt.gasUsed.toString());
  if (maxGas !== undefined) {
    expect(Number(tx.gas)).to.be.at.most(maxGas);
    expect(Number(receipt.gasUsed)).to.be.at.most(maxGas);
  }
}

async function selectorOfClaimMany(): Promise<string> {
  const { toFunctionSelector } = await import("viem");
  return toFunctionSelector("function claimMany(address[] accounts, uint256[] cumulativeAmounts, bytes32[][] proofs)").slice(2);
}

describe("automatic payouts (PayoutService on the real EVM and SQLite)", function () {
  this.timeout(120_000);
  let evm: EmbeddedEvm;
  let operator: EvmClients;
  let guardian: EvmClients;
  let relayer: EvmClients;
  let f: Fixture;

  before(async () => {
    evm = await startEmbeddedEvm({ port: 0 });
    operator = await connectEvm(evm.rpcUrl, hardhatDevKey(0));
    guardian = await connectEvm(evm.rpcUrl, hardhatDevKey(1));
    relayer = await connectEvm(evm.rpcUrl, hardhatDevKey(2));
  });
  after(async () => {
    await evm?.close();
  });
  beforeEach(async () => {
    f = await new Fixture(operator, guardian).open();
  });
  afterEach(async () => {
    await f.close();
  });

  it("pays every account at or above the threshold with no action of theirs, from the operator's key, and no one below", async () => {
    const threshold = COIN / 100n;
    const above = randomAccounts(8);
    const below = randomAccounts(4);
    const ledger = new Map<string, bigint>();
    above.forEach((a, i) => ledger.set(a, i === 0 ? threshold : threshold + BigInt(i) * 123_456_789n)); // the first exactly at it
    below.forEach((a, i) => ledger.set(a, threshold - 1n - BigInt(i) * 1_000n));
    await f.publish(ledger);

    const svc = f.service({ threshold });
    await svc.open();
    const events: PayoutBatch[] = [];
    svc.on("batch", (b) => events.push(b));
    svc.start();
    await svc.idle();

    for (const a of above) expect(await f.balance(a), a).to.equal(ledger.get(a));
    for (const a of below) {
      expect(await f.balance(a), a).to.equal(0n);
      expect(await f.pc.readContract({ address: f.contract, abi: payoutPoolAbi, functionName: "claimed", args: [a as Address] })).to.equal(0n);
    }
    const batches = await svc.list();
    expect(batches).to.have.length(1);
    await expectOperatorBatch(f, batches[0]);
    expect(batches[0].epoch).to.equal(1);
    expect(events.map((e) => e.txHash)).to.deep.equal([batches[0].txHash]);
    expect(batches[0].accounts.map((x) => x.account.toLowerCase()).sort()).to.deep.equal([...above].sort());
    for (const x of batches[0].accounts) expect(BigInt(x.amount)).to.equal(ledger.get(x.account.toLowerCase()));
    const claims = await f.claims();
    expect(claims.map((c) => c.account).sort()).to.deep.equal([...above].sort());
    expect(new Set(claims.map((c) => c.tx))).to.deep.equal(new Set([batches[0].txHash]));

    // Journal: one "sent" and one "confirmed" line for the transaction.
    expect(f.journal().map((b) => [b.txHash, b.status])).to.deep.equal([
      [batches[0].txHash, "sent"],
      [batches[0].txHash, "confirmed"],
    ]);

    // Another run (e.g. the next trigger) has nothing to send.
    await svc.runOnce();
    expect(await svc.list()).to.have.length(1);
    expect(await f.claims()).to.have.length(above.length);
    expect(f.logger.lines.filter((l) => l.level !== "info")).to.deep.equal([]);
  });

  it("sizes batches to maxGasPerBatch, and a restart in the middle of a run pays only the rest: each account exactly once", async () => {
    const threshold = 1n;
    const miners = randomAccounts(40);
    const ledger = new Map(miners.map((a, i) => [a, COIN / 1000n + BigInt(i) * 1_000_000_007n] as const));
    const tree = await f.publish(ledger);

    // A limit that fits about 40 % of the accounts per transaction: at least 3 batches.
    const all = miners.map((a) => tree.proofFor(a)!);
    const gasAll = await f.pc.estimateContractGas({
      address: f.contract,
      abi: payoutPoolAbi,
      functionName: "claimMany",
      args: [all.map((l) => l.account), all.map((l) => l.cumulative), all.map((l) => l.proof)],
      account: operator.account!,
    });
    const maxGasPerBatch = Math.floor(Number(gasAll) * 0.4);

    // First process: stopped as soon as its first batch is mined (the stop of a shutdown or crash).
    const first = f.service({ threshold, maxGasPerBatch });
    await first.open();
    first.on("batch", () => void first.stop());
    first.start();
    await first.idle();
    const firstBatches = await first.list();
    expect(firstBatches).to.have.length(1);
    const firstPaid = firstBatches[0].accounts.map((x) => x.account.toLowerCase());
    expect(firstPaid.length).to.be.within(1, 20);
    expect((await f.claims()).length).to.equal(firstPaid.length);

    // The worst moment to die: the transaction was mined, but only its "sent" line reached the
    // journal. Drop the "confirmed" line the first process wrote.
    const journal = path.join(f.dataDir, "payouts.jsonl");
    const lines = fs.readFileSync(journal, "utf8").trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).status)).to.deep.equal(["sent", "confirmed"]);
    fs.writeFileSync(journal, lines[0] + "\n");

    // Second process on the same data directory.
    const second = f.service({ threshold, maxGasPerBatch });
    await second.open();
    expect((await second.list()).map((b) => b.status)).to.deep.equal(["sent"]);
    await second.runOnce();

    const batches = await second.list();
    expect(batches.length).to.be.at.least(3);
    for (const b of batches) await expectOperatorBatch(f, b, maxGasPerBatch);
    expect(batches.find((b) => b.txHash === firstBatches[0].txHash)!.status).to.equal("confirmed"); // settled from the chain
    const paidByBatches = batches.flatMap((b) => b.accounts.map((x) => x.account.toLowerCase()));
    expect(paidByBatches.sort()).to.deep.equal([...miners].sort()); // each account in exactly one batch

    // On chain: one payment per account, all from these transactions, the total is the ledger's.
    const claims = await f.claims();
    const perAccount = new Map<string, number>();
    for (const c of claims) perAccount.set(c.account, (perAccount.get(c.account) ?? 0) + 1);
    expect([...perAccount.keys()].sort()).to.deep.equal([...miners].sort());
    expect([...perAccount.values()].every((n) => n === 1)).to.equal(true);
    expect(new Set(claims.map((c) => c.tx))).to.deep.equal(new Set(batches.map((b) => b.txHash)));
    const total = [...ledger.values()].reduce((s, v) => s + v, 0n);
    expect(claims.reduce((s, c) => s + c.amount, 0n)).to.equal(total);
    for (const a of miners) expect(await f.balance(a)).to.equal(ledger.get(a));

    // The journal holds every transaction's final state; a third process starting now sends nothing.
    const finalByTx = new Map(f.journal().map((b) => [b.txHash, b.status]));
    expect([...finalByTx.keys()].sort()).to.deep.equal(batches.map((b) => b.txHash).sort());
    expect([...finalByTx.values()].every((s) => s === "confirmed")).to.equal(true);
    const third = f.service({ threshold, maxGasPerBatch });
    await third.open();
    await third.runOnce();
    expect((await third.list()).length).to.equal(batches.length);
    expect((await f.claims()).length).to.equal(miners.length);
  });

  it("after a restart, waits for a batch still pending from the previous process instead of sending it again", async () => {
    const threshold = 1n;
    const miners = randomAccounts(6);
    const ledger = new Map(miners.map((a, i) => [a, COIN / 1000n + BigInt(i)] as const));
    await f.publish(ledger);
    const provider = (await import("hardhat")).default.network.provider;
    const first = f.service({ threshold });
    await first.open();
    try {
      // The first process sends its batch, which stays in the mempool; then it dies (stops
      // without ever seeing the receipt: its shutdown waits, but it sends nothing more).
      await provider.request({ method: "evm_setAutomine", params: [false] });
      first.start();
      await until("the batch to be sent", () => f.journal().length === 1);
      const [pending] = f.journal();
      expect(pending.status).to.equal("sent");
      expect((await f.pc.getTransaction({ hash: pending.txHash as Hex })).blockNumber).to.equal(null);
      const firstStopped = first.stop();

      // The second process must not pay these accounts again while that transaction is pending.
      const second = f.service({ threshold });
      await second.open();
      let failed: unknown;
      const run = second.runOnce().catch((err) => (failed = err));
      const waiting = () => f.logger.lines.some((l) => l.msg === "waiting for a payout transaction sent before a restart");
      await until("the new process to wait for the pending batch (or to act otherwise)", () => waiting() || failed !== undefined || new Set(f.journal().map((b) => b.txHash)).size > 1);
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await provider.request({ method: "evm_mine", params: [] });
      await run;
      await firstStopped;
      expect(failed).to.equal(undefined);
      expect(waiting()).to.equal(true);

      expect((await second.list()).map((b) => [b.txHash, b.status])).to.deep.equal([[pending.txHash, "confirmed"]]);
      const claims = await f.claims();
      expect(claims.map((c) => c.account).sort()).to.deep.equal([...miners].sort());
      expect(new Set(claims.map((c) => c.tx))).to.deep.equal(new Set([pending.txHash]));
      for (const a of miners) expect(await f.balance(a)).to.equal(ledger.get(a));
      const operatorTxs = await f.pc.getTransactionCount({ address: operator.account!.address, blockTag: "pending" });
      expect(await f.pc.getTransactionCount({ address: operator.account!.address })).to.equal(operatorTxs); // nothing else in flight
    } finally {
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await provider.request({ method: "evm_mine", params: [] }); // whatever is still pending, so that no receipt wait hangs
    }
  });

  it("retries a failed run with backoff without throwing out of trigger(), and pays once claims are open again", async () => {
    const threshold = COIN / 1000n;
    const miners = randomAccounts(5);
    const ledger = new Map(miners.map((a, i) => [a, threshold + BigInt(i)] as const));
    await f.publish(ledger);
    const pause = await guardian.walletClient!.writeContract({
      address: f.contract,
      abi: [{ type: "function", name: "pause", inputs: [], outputs: [], stateMutability: "nonpayable" }] as const,
      functionName: "pause",
    });
    expect((await f.pc.waitForTransactionReceipt({ hash: pause })).status).to.equal("success");

    const svc = f.service({ threshold, retryBaseMs: 100 });
    await svc.open();
    const confirmed = new Promise<PayoutBatch>((resolve) => svc.on("batch", (b: PayoutBatch) => b.status === "confirmed" && resolve(b)));
    expect(() => svc.start()).to.not.throw();
    const failures = () => f.logger.lines.filter((l) => l.level === "error" && l.msg === "payout run failed; will retry");
    await until("two failed attempts", () => failures().length >= 2);
    expect(String(failures()[0].obj.err)).to.match(/paused until/);
    expect(Number(failures()[1].obj.retryInMs)).to.equal(2 * Number(failures()[0].obj.retryInMs)); // backoff doubles
    expect(await svc.list()).to.deep.equal([]); // nothing was sent while paused
    for (const a of miners) expect(await f.balance(a)).to.equal(0n);

    await time.increase(MAX_PAUSE + 1); // the pause runs out by itself
    const batch = await Promise.race([confirmed, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no payout after the pause")), 15_000))]);
    await svc.idle();
    await expectOperatorBatch(f, batch);
    for (const a of miners) expect(await f.balance(a)).to.equal(ledger.get(a));
    expect((await f.claims()).length).to.equal(miners.length);
  });

  it("leaves out an account that claimed by itself between runs (no revert of the batch), and pays the others their increase", async () => {
    const threshold = 1_000n;
    const miners = randomAccounts(6);
    const epoch1 = new Map(miners.map((a, i) => [a, COIN / 100n + BigInt(i) * 7n] as const));
    await f.publish(epoch1);
    const svc = f.service({ threshold });
    await svc.open();
    svc.start();
    await svc.idle();
    expect((await f.claims()).length).to.equal(miners.length);

    // Epoch 2: everyone's cumulative amount grows, two new miners join.
    const joined = randomAccounts(2);
    const epoch2 = new Map([...epoch1].map(([a, c]) => [a, c + COIN / 200n] as const));
    for (const a of joined) epoch2.set(a, COIN / 300n);
    const tree2 = await f.publish(epoch2);

    // One miner claims by itself (through a relayer that is not the operator) before the pool's run.
    const self = miners[2];
    const leaf = tree2.proofFor(self)!;
    const own = await relayer.walletClient!.writeContract({ address: f.contract, abi: payoutPoolAbi, functionName: "claim", args: [leaf.account, leaf.cumulative, leaf.proof] });
    expect((await f.pc.waitForTransactionReceipt({ hash: own })).status).to.equal("success");

    svc.trigger();
    await svc.idle();
    const batches = await svc.list();
    expect(batches).to.have.length(2);
    const latest = batches[0];
    expect(latest.epoch).to.equal(2);
    await expectOperatorBatch(f, latest);
    const others = [...miners.filter((a) => a !== self), ...joined];
    expect(latest.accounts.map((x) => x.account.toLowerCase()).sort()).to.deep.equal(others.sort());
    for (const x of latest.accounts) {
      const a = x.account.toLowerCase();
      expect(BigInt(x.amount)).to.equal(epoch2.get(a)! - (epoch1.get(a) ?? 0n));
    }
    for (const a of [...miners, ...joined]) expect(await f.balance(a), a).to.equal(epoch2.get(a));
    const claims = await f.claims();
    expect(claims.filter((c) => c.account === self).map((c) => c.tx)).to.deep.equal([batches[1].txHash, own]);
    expect(claims.length).to.equal(miners.length * 2 + joined.length);
    expect(f.logger.lines.filter((l) => l.level !== "info")).to.deep.equal([]);
    expect(getAddress(leaf.account)).to.equal(getAddress(self));
  });
});
