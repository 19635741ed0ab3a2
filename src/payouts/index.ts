import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { localEpochFile } from "../epochs/published";
import { BaseError, ContractFunctionRevertedError, getAddress, parseAbi, type Address, type Hex } from "viem";
import type { EvmClients } from "../evm/clients";
import { errorText, type ServiceLogger } from "../log";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";
import { loadEpochTree } from "../epochs/tree";
import type { PayoutTree } from "../merkle";
import type { ShareStore } from "../shares/types";
import { AsideRegistry, type AsideEntry, type AsideOptions } from "./aside";
import { simulate } from "./simulate";

export type { AsideEntry } from "./aside";

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
  /**
   * An account whose claim alone is estimated above this much gas is set aside like a failing one
   * (default 250 000: a first claim at depth 20 costs ~75 000; claimMany caps a native transfer at
   * 50 000 gas, so only an ERC-20 with costly transfer hooks gets there).
   */
  maxGasPerAccount?: number;
  /** Retry delays of set-aside accounts (default 1 h doubling to 24 h). */
  aside?: AsideOptions;
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
const DEFAULT_MAX_GAS_PER_ACCOUNT = 250_000;

/** The claim errors, so that a failed estimate or call names its reason (Paused, NothingToClaim, ...). */
const claimErrorsAbi = parseAbi([
  "error Paused(uint64 until)",
  "error InvalidProof(address account, uint256 cumulativeAmount)",
  "error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed)",
  "error NativeTransferFailed(address to, uint256 amount)",
  "error LengthMismatch()",
  "error ReentrancyGuardReentrantCall()",
  "error SafeERC20FailedOperation(address token)",
  // Common token errors, so that a set-aside account's reason is readable.
  "error Blacklisted(address account)",
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InvalidReceiver(address receiver)",
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
 * account itself. Every batch is simulated (`eth_estimateGas`) before it is sent; a batch that would
 * revert is bisected until the accounts that fail alone are found, and those are set aside with
 * their reason (AsideRegistry: API, miner page, `pool_payout_accounts_aside`) and retried alone
 * later, so one unpayable account never blocks the others. An account whose lone claim costs more
 * than `maxGasPerAccount` is set aside the same way. What is claimable is read from the chain right before each batch is estimated and
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
  /** trigger() sends nothing before start(): a standby committer process constructs one and never starts it. */
  private started = false;
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
  private readonly aside: AsideRegistry;
  private asideTimer?: NodeJS.Timeout;

  constructor(private readonly opts: PayoutServiceOptions) {
    super();
    this.file = path.join(opts.dataDir, "payouts.jsonl");
    this.aside = new AsideRegistry(opts.dataDir, opts.aside);
  }

  /** Accounts set aside (unpayable for now), most recent first. */
  asideList(): AsideEntry[] {
    return this.aside.list();
  }

  /** The set-aside record of `account`, if any. */
  asideFor(account: string): AsideEntry | undefined {
    return this.aside.get(account);
  }

  get enabled(): boolean {
    return this.opts.threshold !== undefined;
  }

  /** Loads the payout history (the latest line per transaction wins). */
  async open(): Promise<void> {
    this.aside.load();
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
    this.started = true;
    this.trigger();
  }

  /** Stops after the batch in flight (if any) has its receipt. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.asideTimer);
    await this.running;
  }

  /** Newest first. */
  async list(): Promise<PayoutBatch[]> {
    return [...this.batches].sort((a, b) => b.time - a.time);
  }

  /** Asks for a payout run (after a root became active); runs never overlap; never throws. */
  trigger(): void {
    if (!this.enabled || this.stopped || !this.started) return;
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
        this.scheduleAsideRetry();
        // After a failure the retry timer runs the next attempt (keeping the backoff).
        if (this.again && !this.stopped && !failed) {
          this.again = false;
          this.trigger();
        }
      });
  }

  /** Runs again when the earliest set-aside account is due for its retry. */
  private scheduleAsideRetry(): void {
    clearTimeout(this.asideTimer);
    const at = this.aside.nextRetryAt();
    if (at === undefined || this.stopped || !this.enabled) return;
    this.asideTimer = setTimeout(() => this.trigger(), Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)) + 10);
    this.asideTimer.unref?.();
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
    const now = Date.now();
    candidates.forEach((index, k) => {
      const cumulative = tree.cumulativeAt(index);
      const amount = cumulative - claimed[k];
      const account = getAddress(tree.accountAt(index));
      if (amount > 0n && amount >= threshold) {
        if (!this.aside.held(account, now)) due.push({ index, account, cumulative, amount });
      } else if (this.aside.clear(account)) {
        this.emit("aside", account); // it claimed by itself: nothing is due any more
      }
    });
    if (due.length === 0) return;
    const maxGas = await this.batchGasLimit();
    const maxGasPerAccount = this.opts.maxGasPerAccount ?? DEFAULT_MAX_GAS_PER_ACCOUNT;
    this.opts.logger.info({ epoch, accounts: due.length, maxGasPerBatch: maxGas }, "automatic payouts due");

    // Windows still to try, first first: set-aside accounts due for a retry go alone, ahead of the rest;
    // a window that would revert is replaced by its two halves, one too large by smaller pieces.
    const queue: Due[][] = due.filter((d) => this.aside.get(d.account)).map((d) => [d]);
    const rest = due.filter((d) => !this.aside.get(d.account));
    let cursor = 0;
    let size = Math.max(1, Math.floor(maxGas / GAS_PER_CLAIM_ESTIMATE));
    let grown = 0;
    for (;;) {
      const fromRest = queue.length === 0;
      const window = queue.shift() ?? rest.slice(cursor, (cursor = Math.min(rest.length, cursor + size)));
      if (window.length === 0) break;
      if (this.stopped) {
        this.opts.logger.info({ epoch }, "payout run stopped; the rest is paid on the next run");
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

      // Accounts that claimed (or were paid) meanwhile are left out (the contract would skip them anyway).
      const reads = await this.readClaimed(window.map((d) => d.account));
      const batch = window.map((d, k) => ({ ...d, amount: d.cumulative - reads[k] })).filter((d) => d.amount > 0n && d.amount >= threshold);
      if (batch.length === 0) continue;
      const args = this.claimArgs(tree, batch);
      const sim = await simulate(() =>
        this.opts.evm.publicClient.estimateContractGas({ address: this.opts.contract, abi: claimAbi, functionName: "claimMany", args, account: this.opts.evm.account! }),
      );
      if (!sim.ok) {
        if (batch.length === 1) {
          this.setAside(epoch, batch[0], sim.reason);
        } else {
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
          this.opts.logger.info({ epoch, accounts: batch.length, reason: sim.reason }, "a payout batch would revert: bisecting it to find the failing accounts");
        }
        continue;
      }
      const gas = sim.gas;
      if (batch.length === 1 && gas > BigInt(Math.min(maxGasPerAccount, maxGas))) {
        this.setAside(epoch, batch[0], `gas ${gas} > ${Math.min(maxGasPerAccount, maxGas)} for one account`);
        continue;
      }
      if (batch.length > 1 && gas > BigInt(maxGas)) {
        const take = Math.max(1, Math.min(batch.length - 1, Math.floor((batch.length * maxGas * FILL) / Number(gas))));
        const pieces: Due[][] = [];
        for (let i = 0; i < batch.length; i += take) pieces.push(batch.slice(i, i + take));
        queue.unshift(...pieces);
        size = take;
        continue;
      }
      if (batch.length > 1 && gas > BigInt(batch.length * maxGasPerAccount)) {
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
        continue;
      }
      const room = Math.max(1, Math.floor((maxGas * FILL) / (Number(gas) / batch.length)));
      if (fromRest && grown < 3 && batch.length === window.length && room > window.length * 1.1 && cursor < rest.length) {
        grown++;
        cursor -= window.length; // the first guess was small: fill the batch
        size = room;
        continue;
      }
      if (fromRest) size = room;
      if (!(await this.send(epoch, batch, args, gas, maxGas))) {
        // Its simulation passed but the transaction reverted (a receiver that behaves differently
        // in an estimate, e.g. on BASEFEE, or one flipped by a front-runner): bisect on chain too,
        // so that one account can never hold the batch back. At most log2(batch) reverted sends.
        if (batch.length === 1) {
          this.setAside(epoch, batch[0], "its claim reverted on chain although its simulation passed");
        } else {
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
          this.opts.logger.warn({ epoch, accounts: batch.length }, "a payout batch reverted on chain although its simulation passed: bisecting it to find the failing accounts");
        }
      }
    }
  }

  /** Sets `d` aside with `reason` (logged, persisted, reported through the "aside" event). */
  private setAside(epoch: number, d: Due, reason: string): void {
    const entry = this.aside.setAside(d.account, epoch, d.amount, reason, Date.now());
    this.opts.logger.warn({ account: d.account, epoch, reason, attempts: entry.attempts, retryAt: new Date(entry.nextRetryAt).toISOString() }, "payout account set aside: its claim fails on its own; the others are paid");
    this.emit("aside", d.account);
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
    // An epoch a previous leader built on another machine: its file from the store.
    const { tree } = loadEpochTree(await localEpochFile(this.opts.store, record.filePath, path.join(this.opts.dataDir, "epochs")));
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

  /** Sends one claimMany and waits for it; resolves false when it reverted on chain. */
  private async send(epoch: number, batch: Due[], args: readonly [Address[], bigint[], Hex[][]], gas: bigint, maxGas: number): Promise<boolean> {
    const { evm, contract } = this.opts;
    // 20 % headroom over the (exact) estimate, within the batch limit unless one claim alone needs more.
    const headroom = (gas * 12n) / 10n;
    const ceiling = gas > BigInt(maxGas) ? gas : BigInt(maxGas);
    const limit = headroom < ceiling ? headroom : ceiling;
    let txHash: Hex;
    try {
      txHash = await evm.walletClient!.writeContract({ address: contract, abi: claimAbi, functionName: "claimMany", args, gas: limit });
    } catch (err) {
      // A node that refuses a reverting transaction outright (Hardhat's in-process network does)
      // reports the revert here instead of in a receipt: the same outcome, nothing was paid.
      if (!isRevert(err)) throw err;
      this.opts.logger.warn({ epoch, accounts: batch.length, err: (err as Error).message.split("\n")[0] }, "claimMany reverted when sent");
      return false;
    }
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
    if (done.status === "confirmed") {
      for (const b of batch) {
        this.remember(b.account, b.cumulative);
        if (this.aside.clear(b.account)) this.emit("aside", b.account);
      }
    }
    this.emit("batch", done);
    if (done.status === "failed") return false;
    this.opts.logger.info({ tx: txHash, epoch, accounts: batch.length, gasUsed: done.gasUsed }, "automatic payout sent");
    return true;
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

/** True when `err` is a contract revert (viem's ContractFunctionRevertedError somewhere in its causes). */
function isRevert(err: unknown): boolean {
  return err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionRevertedError) !== null;
}
