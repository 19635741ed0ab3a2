import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { getAddress, parseAbi, type Address, type Hex } from "viem";
import type { EvmClients } from "../evm/clients";
import { errorText, type ServiceLogger } from "../log";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";
import { loadEpochTree } from "../epochs/tree";
import type { PayoutTree } from "../merkle";
import type { ShareStore } from "../shares/types";

export type PayoutLogger = ServiceLogger;

export interface PayoutServiceOptions {
  store: ShareStore;
  evm: EvmClients;
  contract: Address;
  /** payouts.jsonl is kept here. */
  dataDir: string;
  /** Accounts whose claimable amount reaches this are paid automatically; undefined = off. */
  threshold: bigint | undefined;
  /** Gas limit of one claimMany transaction. */
  maxGasPerBatch: number;
  logger: PayoutLogger;
  /** First retry delay after a failed batch (doubles up to 5 min). */
  retryBaseMs?: number;
}

export interface PayoutBatch {
  txHash: string;
  time: number;
  status: "sent" | "confirmed" | "failed";
  gasUsed: string | null;
  epoch: number;
  accounts: { account: string; amount: string }[];
  error?: string;
}

/** Rough gas of one first claim inside claimMany at depth 20; only sizes the first try of a run. */
const GAS_PER_CLAIM_ESTIMATE = 75_000;
/** EIP-7825 (Osaka): no transaction may ask for more gas than 2^24. */
const MAX_TX_GAS = 16_777_216;
/** Share of the gas limit a batch is planned to fill (the estimate is exact; this is headroom). */
const FILL = 0.97;
/** Concurrent `claimed(account)` reads. */
const READ_CONCURRENCY = 32;
const MAX_RETRY_MS = 300_000;

/** The claim errors, so that a failed estimate or call names its reason (Paused, NothingToClaim, ...). */
const claimErrorsAbi = parseAbi([
  "error Paused(uint64 until)",
  "error InvalidProof(address account, uint256 cumulativeAmount)",
  "error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed)",
  "error NativeTransferFailed(address to, uint256 amount)",
  "error LengthMismatch()",
  "error ReentrancyGuardReentrantCall()",
  "error SafeERC20FailedOperation(address token)",
]);
const claimAbi = [...payoutPoolAbi, ...claimErrorsAbi];

interface Due {
  index: number;
  account: Address;
  cumulative: bigint;
  amount: bigint;
}

/**
 * Automatic relayed payouts: after a root becomes active, pays every account whose claimable amount
 * reaches the threshold with claimMany, the operator's key paying the gas; the contract pays each
 * account itself. What is claimable is read from the chain right before each batch is estimated and
 * sent (an account that claimed by itself meanwhile is left out, so it cannot revert the batch), and
 * batches that a crash left without an outcome in payouts.jsonl are settled first: a restart in the
 * middle of a run sends nothing twice, and the contract refuses to pay past a cumulative amount in
 * any case. A failed run is retried with backoff without blocking the pool.
 */
export class PayoutService extends EventEmitter {
  private readonly file: string;
  private batches: PayoutBatch[] = [];
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  /** The active epoch's tree (parsing a 1M-leaf epoch file takes seconds: once per epoch). */
  private cached?: { epoch: number; root: string; tree: PayoutTree };
  /**
   * A lower bound of claimed[account] (lower-case) learned from the chain or from our own confirmed
   * batches. claimed only grows, so an account whose bound reaches its cumulative amount needs no
   * read: each run reads only accounts whose amount changed or that were not paid yet.
   */
  private readonly claimedAtLeast = new Map<string, bigint>();

  constructor(private readonly opts: PayoutServiceOptions) {
    super();
    this.file = path.join(opts.dataDir, "payouts.jsonl");
  }

  get enabled(): boolean {
    return this.opts.threshold !== undefined;
  }

  /** Loads the payout history (the latest line per transaction wins). */
  async open(): Promise<void> {
    if (!fs.existsSync(this.file)) return;
    const byTx = new Map<string, PayoutBatch>();
    for (const line of fs.readFileSync(this.file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const b = JSON.parse(line) as PayoutBatch;
        byTx.set(b.txHash, b);
      } catch {
        // A torn last line after a crash: the chain, not this log, decides what is claimable.
      }
    }
    this.batches = [...byTx.values()];
  }

  start(): void {
    this.stopped = false;
    this.trigger();
  }

  /** Stops after the batch in flight (if any) has its receipt. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.running;
  }

  /** Newest first. */
  async list(): Promise<PayoutBatch[]> {
    return [...this.batches].sort((a, b) => b.time - a.time);
  }

  /** Asks for a payout run (after a root became active); runs never overlap; never throws. */
  trigger(): void {
    if (!this.enabled || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retryTimer);
    let failed = false;
    this.running = this.runOnce()
      .then(() => {
        this.failures = 0;
      })
      .catch((err) => {
        failed = true;
        this.again = false; // the retry runs against whatever root is active by then
        this.failures++;
        const delay = Math.min((this.opts.retryBaseMs ?? 2000) * 2 ** (this.failures - 1), MAX_RETRY_MS);
        if (this.stopped) {
          this.opts.logger.error({ err: errorText(err) }, "payout run failed; stopping, not retried");
          return;
        }
        this.opts.logger.error({ err: errorText(err), failures: this.failures, retryInMs: delay }, "payout run failed; will retry");
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.trigger(), delay);
        this.retryTimer.unref?.();
      })
      .finally(() => {
        this.running = undefined;
        // After a failure the retry timer runs the next attempt (keeping the backoff).
        if (this.again && !this.stopped && !failed) {
          this.again = false;
          this.trigger();
        }
      });
  }

  /** Waits for the current run (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** One run: every account at or above the threshold in the active root, in gas-sized batches. */
  async runOnce(): Promise<void> {
    if (!this.enabled) return;
    const threshold = this.opts.threshold!;
    await this.settleUnfinished();

    const [root, epochBig] = await this.activeRoot();
    const epoch = Number(epochBig);
    if (epoch === 0) return;
    const tree = await this.treeFor(epoch, root);

    // Candidates: a claimable amount is at most the cumulative one, and nothing is due where we
    // already know claimed has reached it.
    const candidates: number[] = [];
    for (let i = 0; i < tree.size; i++) {
      const cumulative = tree.cumulativeAt(i);
      if (cumulative === 0n || cumulative < threshold) continue;
      const known = this.claimedAtLeast.get(tree.accountAt(i));
      if (known !== undefined && known >= cumulative) continue;
      candidates.push(i);
    }
    const claimed = await this.readClaimed(candidates.map((i) => tree.accountAt(i)));
    const due: Due[] = [];
    candidates.forEach((index, k) => {
      const cumulative = tree.cumulativeAt(index);
      const amount = cumulative - claimed[k];
      if (amount > 0n && amount >= threshold) due.push({ index, account: getAddress(tree.accountAt(index)), cumulative, amount });
    });
    if (due.length === 0) return;
    const maxGas = await this.batchGasLimit();
    this.opts.logger.info({ epoch, accounts: due.length, maxGasPerBatch: maxGas }, "automatic payouts due");

    let size = Math.max(1, Math.floor(maxGas / GAS_PER_CLAIM_ESTIMATE));
    for (let start = 0; start < due.length; ) {
      if (this.stopped) {
        this.opts.logger.info({ epoch, left: due.length - start }, "payout run stopped; the rest is paid on the next run");
        return;
      }
      // Right before each batch: the same root still active, claims not paused.
      const [rootNow, epochNow] = await this.activeRoot();
      if (rootNow.toLowerCase() !== root.toLowerCase()) {
        this.opts.logger.info({ epoch, newEpoch: Number(epochNow) }, "active root changed during the payout run; starting over");
        this.again = true;
        return;
      }
      await this.checkNotPaused();

      let take = Math.min(size, due.length - start);
      const fresh = new Map<number, bigint>(); // due index -> claimed read in this batch
      for (let attempt = 0; ; attempt++) {
        const window = due.slice(start, start + take);
        const unread = window.filter((d) => !fresh.has(d.index));
        const reads = await this.readClaimed(unread.map((d) => d.account));
        unread.forEach((d, k) => fresh.set(d.index, reads[k]));
        // Accounts that claimed (or were paid) meanwhile are left out: one of them would revert the whole batch.
        const batch = window
          .map((d) => ({ ...d, amount: d.cumulative - fresh.get(d.index)! }))
          .filter((d) => d.amount > 0n && d.amount >= threshold);
        if (batch.length === 0) {
          start += window.length;
          break;
        }
        const args = this.claimArgs(tree, batch);
        const gas = await this.opts.evm.publicClient.estimateContractGas({
          address: this.opts.contract,
          abi: claimAbi,
          functionName: "claimMany",
          args,
          account: this.opts.evm.account!,
        });
        if (gas > BigInt(maxGas) && window.length > 1) {
          take = Math.max(1, Math.min(window.length - 1, Math.floor((window.length * maxGas * FILL) / Number(gas))));
          continue;
        }
        const perAccount = Number(gas) / batch.length;
        const room = Math.max(1, Math.floor((maxGas * FILL) / perAccount));
        if (attempt < 3 && batch.length === window.length && room > window.length * 1.1 && start + window.length < due.length) {
          take = Math.min(room, due.length - start); // the first guess was small: fill the batch
          continue;
        }
        size = room;
        if (gas > BigInt(maxGas)) this.opts.logger.warn({ account: batch[0].account, gas: gas.toString(), maxGas }, "a single claim exceeds the batch gas limit; sent alone");
        await this.send(epoch, batch, args, gas, maxGas);
        start += window.length;
        break;
      }
    }
  }

  private claimArgs(tree: PayoutTree, batch: Due[]): readonly [Address[], bigint[], Hex[][]] {
    return [batch.map((d) => d.account), batch.map((d) => d.cumulative), batch.map((d) => tree.proofAt(d.index))] as const;
  }

  private async activeRoot(): Promise<readonly [Hex, bigint, bigint]> {
    return this.opts.evm.publicClient.readContract({ address: this.opts.contract, abi: payoutPoolAbi, functionName: "activeRoot" });
  }

  private async treeFor(epoch: number, root: Hex): Promise<PayoutTree> {
    if (this.cached?.epoch === epoch && this.cached.root === root.toLowerCase()) return this.cached.tree;
    const record = await this.opts.store.epoch(epoch);
    if (!record) throw new Error(`active epoch ${epoch} is not in the store`);
    const { tree } = loadEpochTree(record.filePath);
    if (tree.root !== root.toLowerCase()) throw new Error(`epoch ${epoch}: the epoch file's root ${tree.root} is not the active root ${root} on chain`);
    this.cached = { epoch, root: tree.root, tree };
    return tree;
  }

  /** claimed[account] for each account, read `READ_CONCURRENCY` at a time; remembered as lower bounds. */
  private async readClaimed(accounts: readonly string[]): Promise<bigint[]> {
    const out: bigint[] = new Array(accounts.length);
    for (let start = 0; start < accounts.length; start += READ_CONCURRENCY) {
      const part = accounts.slice(start, start + READ_CONCURRENCY);
      const values = await Promise.all(
        part.map((account) =>
          this.opts.evm.publicClient.readContract({ address: this.opts.contract, abi: payoutPoolAbi, functionName: "claimed", args: [account as Address] }),
        ),
      );
      values.forEach((v, k) => {
        out[start + k] = v;
        this.remember(part[k], v);
      });
    }
    return out;
  }

  private remember(account: string, claimed: bigint): void {
    const key = account.toLowerCase();
    if ((this.claimedAtLeast.get(key) ?? -1n) < claimed) this.claimedAtLeast.set(key, claimed);
  }

  /** The configured limit, within what the chain accepts for one transaction. */
  private async batchGasLimit(): Promise<number> {
    const block = await this.opts.evm.publicClient.getBlock();
    return Math.max(1, Math.min(this.opts.maxGasPerBatch, MAX_TX_GAS, Number(block.gasLimit)));
  }

  private async checkNotPaused(): Promise<void> {
    const pc = this.opts.evm.publicClient;
    const [until, block] = await Promise.all([
      pc.readContract({ address: this.opts.contract, abi: payoutPoolAbi, functionName: "pausedUntil" }),
      pc.getBlock(),
    ]);
    if (block.timestamp < until) throw new Error(`claims are paused until ${new Date(Number(until) * 1000).toISOString()} (chain time ${block.timestamp})`);
  }

  /**
   * Batches logged as "sent" with no outcome (a crash or a receipt timeout between sending and
   * logging the receipt): take their outcome from the chain before deciding what is due, and wait
   * for one still pending, so that nothing is paid by two transactions in flight.
   */
  private async settleUnfinished(): Promise<void> {
    const pc = this.opts.evm.publicClient;
    for (const b of this.batches.filter((x) => x.status === "sent")) {
      const hash = b.txHash as Hex;
      let receipt = await pc.getTransactionReceipt({ hash }).catch(unlessNotFound);
      if (!receipt) {
        const pending = await pc.getTransaction({ hash }).catch(unlessNotFound);
        if (pending) {
          this.opts.logger.info({ tx: hash }, "waiting for a payout transaction sent before a restart");
          receipt = await pc.waitForTransactionReceipt({ hash });
        }
      }
      const settled: PayoutBatch = receipt
        ? { ...b, status: receipt.status === "success" ? "confirmed" : "failed", gasUsed: receipt.gasUsed.toString() }
        : { ...b, status: "failed", error: "not known to the node: dropped or replaced; its accounts are read again from the chain" };
      this.append(settled);
      this.emit("batch", settled);
      this.opts.logger.info({ tx: hash, status: settled.status }, "settled a payout batch left unfinished");
    }
  }

  private async send(epoch: number, batch: Due[], args: readonly [Address[], bigint[], Hex[][]], gas: bigint, maxGas: number): Promise<void> {
    const { evm, contract } = this.opts;
    // 20 % headroom over the (exact) estimate, within the batch limit unless one claim alone needs more.
    const headroom = (gas * 12n) / 10n;
    const ceiling = gas > BigInt(maxGas) ? gas : BigInt(maxGas);
    const limit = headroom < ceiling ? headroom : ceiling;
    const txHash = await evm.walletClient!.writeContract({ address: contract, abi: claimAbi, functionName: "claimMany", args, gas: limit });
    const entry: PayoutBatch = {
      txHash,
      time: Date.now(),
      status: "sent",
      gasUsed: null,
      epoch,
      accounts: batch.map((b) => ({ account: b.account, amount: b.amount.toString() })),
    };
    this.append(entry);
    const receipt = await evm.publicClient.waitForTransactionReceipt({ hash: txHash });
    const done: PayoutBatch = { ...entry, status: receipt.status === "success" ? "confirmed" : "failed", gasUsed: receipt.gasUsed.toString() };
    if (done.status === "failed") done.error = "reverted";
    this.append(done);
    if (done.status === "confirmed") for (const b of batch) this.remember(b.account, b.cumulative);
    this.emit("batch", done);
    if (done.status === "failed") throw new Error(`claimMany ${txHash} reverted`);
    this.opts.logger.info({ tx: txHash, epoch, accounts: batch.length, gasUsed: done.gasUsed }, "automatic payout sent");
  }

  private append(batch: PayoutBatch): void {
    fs.appendFileSync(this.file, JSON.stringify(batch) + "\n");
    const i = this.batches.findIndex((b) => b.txHash === batch.txHash);
    if (i >= 0) this.batches[i] = batch;
    else this.batches.push(batch);
  }
}

/** undefined for viem's "not found" errors (the node does not know the transaction); rethrows anything else (node down, ...). */
function unlessNotFound(err: unknown): undefined {
  const name = (err as { name?: string })?.name;
  if (name === "TransactionReceiptNotFoundError" || name === "TransactionNotFoundError") return undefined;
  throw err;
}

