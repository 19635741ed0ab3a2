/**
 * Automatic payouts with accounts that cannot be paid (issue 13, items 7-9), on the real in-process
 * EVM over JSON-RPC with a real SQLite store (test/payouts.helpers.ts): a precompile, a contract that
 * reverts, the pool's own address and a gas burner among 30 honest miners. The relay must pay the 30,
 * set the others aside with their reason, keep them out of later runs until their retry is due, and
 * pay a fixed one on its retry. An account whose lone claim costs more than the per-account bound is
 * set aside too.
 */
import { expect } from "chai";
import hre from "hardhat";
import { getAddress, pad, type Address } from "viem";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { COIN, Fixture, randomAccounts, until } from "./payouts.helpers";

describe("automatic payouts isolate accounts that cannot be paid", function () {
  this.timeout(120_000);
  let evm: EmbeddedEvm;
  let operator: EvmClients;
  let guardian: EvmClients;
  let f: Fixture;

  before(async () => {
    evm = await startEmbeddedEvm({ port: 0 });
    operator = await connectEvm(evm.rpcUrl, hardhatDevKey(0));
    guardian = await connectEvm(evm.rpcUrl, hardhatDevKey(1));
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

  it("30 honest miners are paid despite a precompile, a reverting contract, the pool's own address and a gas burner; those four are set aside with their reason", async () => {
    const honest = randomAccounts(30);
    const precompile = getAddress(pad("0x0a", { size: 20 })); // KZG point evaluation: fails on empty input
    const reverting = (await hre.viem.deployContract("RejectingReceiver")).address;
    const burner = (await hre.viem.deployContract("GasBurner")).address;
    const bad = [precompile, reverting, f.contract, burner].map((a) => a.toLowerCase());
    const ledger = new Map<string, bigint>();
    // The bad ones spread through the due list, so that every batch of a naive relay would contain one.
    honest.forEach((a, i) => ledger.set(a, COIN + BigInt(i)));
    bad.forEach((a, i) => ledger.set(a, 2n * COIN + BigInt(i)));
    await f.publish(ledger);

    const s = f.service({ threshold: 1n });
    await s.runOnce();

    for (const a of honest) expect(await f.balance(a), a).to.equal(ledger.get(a));
    const aside = s.asideList();
    expect(aside.map((e) => e.account.toLowerCase()).sort()).to.deep.equal([...bad].sort());
    for (const e of aside) {
      expect(e.reason, e.account).to.match(/^NativeTransferFailed\(/);
      expect(e.attempts).to.equal(1);
      expect(e.epoch).to.equal(1);
      expect(e.nextRetryAt).to.be.greaterThan(Date.now() + 30 * 60_000); // 1 h by default
    }
    // Persisted: a restarted service still holds them aside and sends nothing for them.
    const again = f.service({ threshold: 1n });
    await again.open();
    expect(again.asideList().map((e) => e.account)).to.have.members(aside.map((e) => e.account));
    const sentBefore = f.journal().length;
    await again.runOnce();
    expect(f.journal().length).to.equal(sentBefore);
    for (const a of bad) expect(await f.pc.readContract({ address: f.contract, abi: payoutPoolAbi, functionName: "claimed", args: [a as Address] })).to.equal(0n);
  });

  it("a receiver flipped by a front-runner between the simulation and the send reverts the batch on chain: the relay bisects on chain, pays the 10 honest, sets the receiver aside", async () => {
    const honest = randomAccounts(10);
    const toggle = await hre.viem.deployContract("ToggleReceiver");
    await toggle.write.setAccepting([true]);
    const ledger = new Map<string, bigint>(honest.map((a, i) => [a, COIN + BigInt(i)]));
    ledger.set(toggle.address.toLowerCase(), 2n * COIN);
    await f.publish(ledger);
    // The front-runner: its flip lands right before the relay's first batch (every estimate passed).
    let flipped = false;
    const wallet = operator.walletClient!;
    const frontRun = new Proxy(wallet, {
      get(target, prop, receiver) {
        if (prop !== "writeContract") return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<typeof wallet.writeContract>) => {
          if (!flipped) {
            flipped = true;
            await toggle.write.setAccepting([false]);
          }
          return target.writeContract(...args);
        };
      },
    });
    const s = f.service({ threshold: 1n, evm: { ...operator, walletClient: frontRun } });
    await s.runOnce();
    expect(flipped).to.equal(true);
    for (const a of honest) expect(await f.balance(a), a).to.equal(ledger.get(a));
    expect(s.asideList().map((e) => e.account.toLowerCase())).to.deep.equal([toggle.address.toLowerCase()]);
    // The first batch reverted when sent (Hardhat refuses a reverting transaction; a public node
    // mines it as failed: both are "not paid"); bisecting then found the receiver by simulation.
    expect((await s.list()).filter((b) => b.status === "confirmed").flatMap((b) => b.accounts.map((a) => a.account.toLowerCase()))).to.have.members(honest.map((a) => a.toLowerCase()));
  });

  it("a set-aside account is retried alone once its delay is due, and paid when it can receive again", async () => {
    const honest = randomAccounts(5);
    const toggle = await hre.viem.deployContract("ToggleReceiver");
    const ledger = new Map<string, bigint>(honest.map((a) => [a, COIN]));
    ledger.set(toggle.address.toLowerCase(), 3n * COIN);
    await f.publish(ledger);
    const s = f.service({ threshold: 1n, aside: { retryBaseMs: 300, retryMaxMs: 1_000 } });
    const asideEvents: string[] = [];
    s.on("aside", (a: string) => asideEvents.push(a.toLowerCase()));
    await s.runOnce();
    expect(s.asideFor(toggle.address)?.reason).to.match(/^NativeTransferFailed\(/);
    // Due again after 300 ms, still failing: attempts 2, the delay doubles.
    await new Promise((r) => setTimeout(r, 350));
    await s.runOnce();
    expect(s.asideFor(toggle.address)?.attempts).to.equal(2);
    await toggle.write.setAccepting([true]);
    s.start(); // from now on the service's own timer retries it
    await until("the fixed account is paid", async () => (await f.balance(toggle.address)) === 3n * COIN, 10_000);
    await until("it is no longer set aside", () => s.asideFor(toggle.address) === undefined);
    for (const a of honest) expect(await f.balance(a)).to.equal(COIN);
    expect(asideEvents.filter((a) => a === toggle.address.toLowerCase()).length).to.equal(3); // set aside, again, cleared
  });

  it("an account whose lone claim costs more gas than the per-account bound is set aside, the others paid", async () => {
    const honest = randomAccounts(6);
    const heavy = await hre.viem.deployContract("GasUser", [25_000n]); // a costly receive (~48 000 with its storage write), within the 50 000 a batch forwards
    const ledger = new Map<string, bigint>(honest.map((a) => [a, COIN]));
    ledger.set(heavy.address.toLowerCase(), COIN);
    await f.publish(ledger);
    // Bound between an honest first claim alone (~87 000 here, to a fresh account) and the heavy one's (~110 000).
    const s = f.service({ threshold: 1n, maxGasPerAccount: 100_000, maxGasPerBatch: 100_000 });
    await s.runOnce();
    for (const a of honest) expect(await f.balance(a)).to.equal(COIN);
    const entry = s.asideFor(heavy.address);
    expect(entry?.reason).to.match(/^gas \d+ > 100000 for one account$/);
    expect(await heavy.read.received()).to.equal(0n);
  });
});
