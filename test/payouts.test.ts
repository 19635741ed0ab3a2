/**
 * Automatic payouts (src/payouts) on the real in-process Hardhat EVM, served over JSON-RPC exactly as
 * the pool serves it (startEmbeddedEvm + connectEvm with the operator's key), with a real SQLite
 * share store, epoch files written in the published format and roots proposed and accepted on a
 * freshly deployed PayoutPool (native coin). Miners are fresh random addresses that never send a
 * transaction: every coin they hold came from a claim.
 */
import { expect } from "chai";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { getAddress, zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { EPOCH_FILE_FORMAT, EPOCH_FILE_VERSION, LEAF_FIELDS, ROUNDING_RULE, epochFileName, writeEpochFile, type EpochHeader } from "../src/epochs/format";
import { PayoutTree, TREE_OPTIONS } from "../src/merkle";
import { PayoutService, type PayoutBatch, type PayoutLogger } from "../src/payouts";
import { openShareStore, type ShareStore } from "../src/shares";
import type { AcceptedShare } from "../src/stratum/events";

const MAX_PAUSE = 60;
const COIN = 10n ** 18n;

interface LogLine {
  level: "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg?: string;
}

function captureLogger(): PayoutLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

/** Fresh random accounts (lower-case): zero balance, never seen by this chain. */
function randomAccounts(n: number): string[] {
  return Array.from({ length: n }, () => "0x" + crypto.randomBytes(20).toString("hex"));
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function blockShare(epoch: number, account: string): AcceptedShare {
  const hash = crypto.randomBytes(32).toString("hex");
  return {
    address: account,
    worker: "rig",
    difficulty: "1",
    jobId: `j${epoch}`,
    height: 100 + epoch,
    prevhash: "ab".repeat(32),
    coinb1: "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1f0164" + "14" + account.slice(2) + "08",
    coinb2: "ffffffff0100f2052a01000000015100000000",
    extranonce1: "00000001",
    extranonce2: "00000000",
    merkleBranch: [],
    version: "20000000",
    nbits: "207fffff",
    ntime: "66000000",
    nonce: "00000000",
    hash,
    isBlock: true,
    time: Date.now(),
  };
}

/**
 * One pool for one test: a fresh PayoutPool (operator = dev account 0, guardian = dev account 1,
 * no challenge window, pauses of MAX_PAUSE s), a SQLite store in a temp data directory, and
 * `publish(ledger)`, which writes the next epoch's file, records the epoch (and its block) in the
 * store, funds the pool, proposes the root and accepts it on chain.
 */
class Fixture {
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "payouts-test-"));
  readonly logger = captureLogger();
  store!: ShareStore;
  contract!: Address;
  trees: PayoutTree[] = [];
  private ledger = new Map<string, bigint>();
  private services: PayoutService[] = [];

  constructor(readonly operator: EvmClients, readonly guardian: EvmClients) {}

  async open(): Promise<this> {
    this.store = await openShareStore({ kind: "sqlite", dataDir: this.dataDir });
    const op = this.operator.account!.address;
    const deployed = await deployPayoutPool(this.operator, {
      token: zeroAddress,
      admin: op,
      operator: op,
      guardian: this.guardian.account!.address,
      challengeWindow: 0,
      maxPause: MAX_PAUSE,
    });
    this.contract = deployed.address;
    return this;
  }

  get pc() {
    return this.operator.publicClient;
  }

  /** The next epoch: every account in `cumulative` gets that cumulative amount (never lower than before). */
  async publish(cumulative: Map<string, bigint>): Promise<PayoutTree> {
    const number = this.trees.length + 1;
    const next = new Map(this.ledger);
    for (const [a, c] of cumulative) next.set(a, c);
    const accounts = [...next.keys()].sort();
    const amounts = accounts.map((a) => next.get(a)!);
    const delta = accounts.map((a) => next.get(a)! - (this.ledger.get(a) ?? 0n));
    const tree = PayoutTree.fromSorted(accounts, amounts, this.trees.at(-1));
    const reward = delta.reduce((s, d) => s + d, 0n);

    const share = blockShare(number, accounts[0]);
    await this.store.recordBlock(
      { height: share.height, hash: share.hash, reward: reward.toString(), address: share.address, worker: share.worker, submitted: true, time: share.time },
      share,
    );
    const previous = this.trees.length ? await this.store.epoch(number - 1) : undefined;
    const header: EpochHeader = {
      format: EPOCH_FILE_FORMAT,
      version: EPOCH_FILE_VERSION,
      chain: { pow: "embedded", evmChainId: this.operator.chain.id },
      contract: this.contract.toLowerCase(),
      epoch: number,
      previous: previous ? { epoch: previous.number, root: previous.root as Hex, dataHash: previous.dataHash as Hex } : null,
      pplns: { factor: "2", unitsPerDifficulty: "1000000000000", rounding: ROUNDING_RULE },
      fee: { bps: 0, address: null },
      blocks: [
        {
          height: share.height,
          hash: share.hash,
          reward: reward.toString(),
          finder: share.address,
          shareId: 1,
          nbits: share.nbits,
          window: { units: "1", coveredUnits: "1", complete: true, firstShareId: 1, lastShareId: 1, shareCount: 1, firstShareCredit: "1" },
          fee: "0",
        },
      ],
      shareLog: { file: `epoch-${number}.shares.jsonl`, hash: "keccak256", digest: `0x${"00".repeat(32)}`, lines: 0 },
      reward: reward.toString(),
      totalCumulative: tree.total.toString(),
      root: tree.root,
      tree: TREE_OPTIONS,
      leafFields: LEAF_FIELDS,
    };
    const filePath = path.join(this.dataDir, "epochs", epochFileName(number));
    const { dataHash } = writeEpochFile(filePath, header, { accounts, cumulative: amounts, delta });
    await this.store.recordEpoch(
      {
        number,
        blocks: [share.hash],
        root: tree.root,
        totalCumulative: tree.total,
        reward,
        accounts: accounts.length,
        filePath,
        dataHash,
        shareLogPath: path.join(this.dataDir, "epochs", header.shareLog.file),
        shareLogDigest: header.shareLog.digest,
      },
      accounts.flatMap((a, i) => (delta[i] > 0n ? [{ address: a, delta: delta[i], cumulative: amounts[i] }] : [])),
    );

    const w = this.operator.walletClient!;
    const send = async (hash: Hex) => expect((await this.pc.waitForTransactionReceipt({ hash })).status).to.equal("success");
    await send(await w.writeContract({ address: this.contract, abi: payoutPoolAbi, functionName: "fund", args: [reward], value: reward }));
    await send(await w.writeContract({ address: this.contract, abi: payoutPoolAbi, functionName: "proposeRoot", args: [BigInt(number), tree.root, tree.total, dataHash, filePath] }));
    await send(await w.writeContract({ address: this.contract, abi: payoutPoolAbi, functionName: "acceptRoot" }));
    await this.store.updateEpochState(number, { state: "accepted" });
    const [activeRoot, activeEpoch] = await this.pc.readContract({ address: this.contract, abi: payoutPoolAbi, functionName: "activeRoot" });
    expect([activeRoot, Number(activeEpoch)]).to.deep.equal([tree.root, number]);

    this.ledger = next;
    this.trees.push(tree);
    return tree;
  }

  service(opts: { threshold: bigint; maxGasPerBatch?: number; retryBaseMs?: number }): PayoutService {
    const s = new PayoutService({
      store: this.store,
      evm: this.operator,
      contract: this.contract,
      dataDir: this.dataDir,
      threshold: opts.threshold,
      maxGasPerBatch: opts.maxGasPerBatch ?? 10_000_000,
      logger: this.logger,
      retryBaseMs: opts.retryBaseMs,
    });
    this.services.push(s);
    return s;
  }

  /** Every payment this pool's events record (Claimed and ClaimedMany), in chain order: account (lower-case), amount, cumulative, transaction. */
  async claims(): Promise<{ account: string; amount: bigint; cumulative: bigint; tx: Hex }[]> {
    const single = await this.pc.getContractEvents({ address: this.contract, abi: payoutPoolAbi, eventName: "Claimed", fromBlock: 0n });
    const batches = await this.pc.getContractEvents({ address: this.contract, abi: payoutPoolAbi, eventName: "ClaimedMany", fromBlock: 0n });
    const at = (l: { blockNumber: bigint | null; logIndex: number | null }) => Number(l.blockNumber!) * 1e6 + l.logIndex!;
    return [
      ...single.map((l) => ({ at: at(l), payments: [{ account: l.args.account!, amount: l.args.amount!, cumulativeAmount: l.args.cumulativeAmount! }], tx: l.transactionHash! })),
      ...batches.map((l) => ({ at: at(l), payments: l.args.payments!, tx: l.transactionHash! })),
    ]
      .sort((a, b) => a.at - b.at)
      .flatMap((l) => l.payments.map((p) => ({ account: p.account.toLowerCase(), amount: p.amount, cumulative: p.cumulativeAmount, tx: l.tx })));
  }

  async balance(account: string): Promise<bigint> {
    return this.pc.getBalance({ address: account as Address });
  }

  /** payouts.jsonl, line by line. */
  journal(): PayoutBatch[] {
    const file = path.join(this.dataDir, "payouts.jsonl");
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as PayoutBatch);
  }

  async close(): Promise<void> {
    for (const s of this.services) await s.stop();
    await this.store?.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

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
