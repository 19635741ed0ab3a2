/**
 * Shared by the automatic-payout tests (payouts.test.ts, payouts.isolation.test.ts): a fresh
 * PayoutPool on the real in-process Hardhat EVM served over JSON-RPC, a real SQLite store, epoch files
 * in the published format, and PayoutService instances wired to them.
 */
import { expect } from "chai";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { zeroAddress, type Address, type Hex } from "viem";
import type { EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { EPOCH_FILE_FORMAT, EPOCH_FILE_VERSION, LEAF_FIELDS, ROUNDING_RULE, epochFileName, writeEpochFile, type EpochHeader } from "../src/epochs/format";
import { PayoutTree, TREE_OPTIONS } from "../src/merkle";
import { PayoutService, type PayoutBatch, type PayoutLogger, type PayoutServiceOptions } from "../src/payouts";
import { openShareStore, type ShareStore } from "../src/shares";
import type { AcceptedShare } from "../src/stratum/events";

export const MAX_PAUSE = 60;
export const COIN = 10n ** 18n;

export interface LogLine {
  level: "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg?: string;
}

export function captureLogger(): PayoutLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

/** Fresh random accounts (lower-case): zero balance, never seen by this chain. */
export function randomAccounts(n: number): string[] {
  return Array.from({ length: n }, () => "0x" + crypto.randomBytes(20).toString("hex"));
}

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function blockShare(epoch: number, account: string): AcceptedShare {
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
export class Fixture {
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
      challengeWindow: 1,
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
      shareLog: { file: `epoch-${number}.shares.jsonl`, hash: "sha256", digest: `0x${"00".repeat(32)}`, lines: 0 },
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

  service(opts: { threshold: bigint; maxGasPerBatch?: number; retryBaseMs?: number; evm?: EvmClients } & Partial<Pick<PayoutServiceOptions, "maxGasPerAccount" | "aside">>): PayoutService {
    const s = new PayoutService({
      store: this.store,
      evm: opts.evm ?? this.operator,
      contract: this.contract,
      dataDir: this.dataDir,
      threshold: opts.threshold,
      maxGasPerBatch: opts.maxGasPerBatch ?? 10_000_000,
      logger: this.logger,
      retryBaseMs: opts.retryBaseMs,
      maxGasPerAccount: opts.maxGasPerAccount,
      aside: opts.aside,
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

