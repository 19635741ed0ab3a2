import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { Address, Hex } from "viem";
import type { EvmClients } from "../evm/clients";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";
import { loadEpochTree } from "../epochs/tree";
import type { ShareStore } from "../shares/types";

export interface PayoutLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

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

/** Rough gas of one first claim inside claimMany at depth 20; only sizes the first try of a batch. */
const GAS_PER_CLAIM_ESTIMATE = 75_000;

/**
 * Automatic relayed payouts: after a root becomes active, pays every account whose claimable amount
 * reaches the threshold with claimMany, the operator's key paying the gas; the contract pays each
 * account itself. What is claimable is always read from the chain right before a batch is sent, so
 * a restart in the middle of a run sends nothing twice, and the contract refuses to pay past a
 * cumulative amount in any case. A failed batch is retried with backoff without blocking the pool.
 */
export class PayoutService extends EventEmitter {
  private readonly file: string;
  private batches: PayoutBatch[] = [];
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;

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

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.running;
  }

  /** Newest first. */
  async list(): Promise<PayoutBatch[]> {
    return [...this.batches].sort((a, b) => b.time - a.time);
  }

  /** Asks for a payout run (after a root became active); runs never overlap. */
  trigger(): void {
    if (!this.enabled || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runOnce()
      .then(() => {
        this.failures = 0;
      })
      .catch((err) => {
        this.failures++;
        const delay = Math.min((this.opts.retryBaseMs ?? 2000) * 2 ** (this.failures - 1), 300_000);
        this.opts.logger.error({ err: errorText(err), retryInMs: delay }, "payout run failed; will retry");
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.trigger(), delay);
      })
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
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
    const { evm, contract, store } = this.opts;
    const pc = evm.publicClient;
    const [, epochBig] = await pc.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" });
    const epoch = Number(epochBig);
    if (epoch === 0) return;
    const record = await store.epoch(epoch);
    if (!record) throw new Error(`active epoch ${epoch} is not in the store`);
    const { tree } = loadEpochTree(record.filePath);

    const due: { index: number; account: Address; cumulative: bigint; amount: bigint }[] = [];
    const claimed = await Promise.all(
      tree.allocations.map((a) => pc.readContract({ address: contract, abi: payoutPoolAbi, functionName: "claimed", args: [a.account] })),
    );
    tree.allocations.forEach((a, index) => {
      const amount = a.cumulative - claimed[index];
      if (amount > 0n && amount >= this.opts.threshold!) due.push({ index, account: a.account, cumulative: a.cumulative, amount });
    });
    if (due.length === 0) return;
    this.opts.logger.info({ epoch, accounts: due.length }, "automatic payouts due");

    let size = Math.max(1, Math.floor(this.opts.maxGasPerBatch / GAS_PER_CLAIM_ESTIMATE));
    for (let start = 0; start < due.length && !this.stopped; ) {
      const batch = due.slice(start, start + size);
      const args = [batch.map((d) => d.account), batch.map((d) => d.cumulative), batch.map((d) => tree.proofAt(d.index))] as const;
      const gas = await pc.estimateContractGas({ address: contract, abi: payoutPoolAbi, functionName: "claimMany", args, account: evm.account! });
      if (gas > BigInt(this.opts.maxGasPerBatch) && batch.length > 1) {
        size = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      await this.send(epoch, batch, args, gas);
      start += batch.length;
    }
  }

  private async send(
    epoch: number,
    batch: { account: Address; amount: bigint }[],
    args: readonly [Address[], bigint[], Hex[][]],
    gas: bigint,
  ): Promise<void> {
    const { evm, contract } = this.opts;
    const txHash = await evm.walletClient!.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "claimMany", args, gas: (gas * 12n) / 10n });
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
    this.append(done);
    this.emit("batch", done);
    if (done.status === "failed") throw new Error(`claimMany ${txHash} reverted`);
    this.opts.logger.info({ tx: txHash, accounts: batch.length, gasUsed: done.gasUsed }, "automatic payout sent");
  }

  private append(batch: PayoutBatch): void {
    fs.appendFileSync(this.file, JSON.stringify(batch) + "\n");
    const i = this.batches.findIndex((b) => b.txHash === batch.txHash);
    if (i >= 0) this.batches[i] = batch;
    else this.batches.push(batch);
  }
}

function errorText(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return e?.shortMessage ?? e?.message ?? String(err);
}
