import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { zeroAddress, type Address, type Hex } from "viem";
import type { EvmClients } from "../evm/clients";
import { errorText, type ServiceLogger } from "../log";
import { erc20Abi, payoutPoolAbi } from "../evm/payoutPoolAbi";
import type { TemplateSource } from "../chain/types";
import type { EpochRecord, ShareStore } from "../shares/types";

export type CommitterLogger = ServiceLogger;

export interface CommitterOptions {
  store: ShareStore;
  source: TemplateSource;
  evm: EvmClients;
  contract: Address;
  /** Depth at which a found block is confirmed and may be paid. */
  confirmations: number;
  /** Fund the contract with the shortfall before proposing (the embedded default does). */
  fundEpochs: boolean;
  pollMs: number;
  /**
   * Builds, writes and records (state "built") the next epoch from the confirmed unpaid blocks;
   * resolves undefined when there is nothing to pay.
   */
  buildNextEpoch: () => Promise<EpochRecord | undefined>;
  logger: CommitterLogger;
  /** Rolls a revoked epoch back in the store (default store.revokeEpoch; the pool keeps the old files too). */
  revokeEpoch?: (epoch: number) => Promise<void>;
  /** Where the operator's `pool rebuild-epoch` leaves its go-ahead for a revoked epoch. */
  dataDir: string;
  /**
   * Public URL of the folder the pool serves its epoch files from (`publish.baseUrl`): the `uri`
   * of proposeRoot becomes `<baseUrl>/<epoch file name>`, so anyone finds the files from the
   * contract alone. Absent: the local `file://` path.
   */
  publishBaseUrl?: string;
}

/** The file `pool rebuild-epoch` writes to let the committer rebuild a revoked epoch. */
export function rebuildMarker(dataDir: string, epoch: number): string {
  return path.join(dataDir, `rebuild-epoch-${epoch}`);
}

/** What the chain says about the roots. */
export interface ChainRoots {
  active: { root: Hex; epoch: number; totalCumulative: bigint };
  pending: { root: Hex; epoch: number; totalCumulative: bigint; validAt: number } | undefined;
  totalFunded: bigint;
}

/**
 * Drives epochs from "built" to active on chain. Every step reads the chain first and acts only
 * on the difference, so a crash at any point is resumed on restart without double-proposing or
 * skipping an epoch: the chain's active and pending epochs are the source of truth.
 *
 * Emits "proposed" / "accepted" (EpochRecord) and "revoked" (epoch number). "accepted" follows the
 * chain, not this process: `acceptRoot` is public, so whoever makes one of our roots active (this
 * committer, a miner, a keeper bot), the next tick sees the new active epoch, records it with the
 * transaction of its `RootAccepted` event and emits "accepted" once; payouts, the web update and the
 * metric hang off that event.
 */
export class Committer extends EventEmitter {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private revokedWarned = -1;
  /** Seconds the pending root has been acceptable without being accepted (0 = none or not yet due). */
  overdueSeconds = 0;

  constructor(private readonly opts: CommitterOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick().catch((err) => this.opts.logger.error({ err: errorText(err) }, "committer step failed; retrying"));
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.opts.pollMs);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  async readChain(): Promise<ChainRoots> {
    const { publicClient } = this.opts.evm;
    const address = this.opts.contract;
    const [active, pending, totalFunded] = await Promise.all([
      publicClient.readContract({ address, abi: payoutPoolAbi, functionName: "activeRoot" }),
      publicClient.readContract({ address, abi: payoutPoolAbi, functionName: "pendingRoot" }),
      publicClient.readContract({ address, abi: payoutPoolAbi, functionName: "totalFunded" }),
    ]);
    return {
      active: { root: active[0], epoch: Number(active[1]), totalCumulative: active[2] },
      pending: pending[1] === 0n && /^0x0+$/.test(pending[0]) ? undefined : { root: pending[0], epoch: Number(pending[1]), totalCumulative: pending[2], validAt: Number(pending[3]) },
      totalFunded,
    };
  }

  /** One pass: track block depths, then move the epochs one step toward the chain. */
  async tick(): Promise<void> {
    await this.trackBlocks();
    await this.advanceEpochs();
  }

  private async trackBlocks(): Promise<void> {
    const { store, source, confirmations } = this.opts;
    for (const block of await store.blocks({ status: "pending" })) {
      const depth = await source.confirmations(block.hash);
      if (depth >= confirmations) {
        await store.updateBlock(block.hash, { status: "confirmed", confirmations: depth });
        this.opts.logger.info({ height: block.height, hash: block.hash, depth }, "block confirmed");
      } else if (depth === 0 && (await this.tipHeight()) > block.height + 6) {
        await store.updateBlock(block.hash, { status: "orphaned", confirmations: 0 });
        this.opts.logger.warn({ height: block.height, hash: block.hash }, "block orphaned: it will never pay");
      } else if (depth !== block.confirmations) {
        await store.updateBlock(block.hash, { confirmations: depth });
      }
    }
  }

  private async tipHeight(): Promise<number> {
    return this.opts.source.current().height - 1;
  }

  private async advanceEpochs(): Promise<void> {
    const { store, logger } = this.opts;
    const chain = await this.readChain();
    await this.followAccepted(chain);
    const latest = await store.latestEpoch();
    if (!chain.pending) this.overdueSeconds = 0;

    if (chain.pending) {
      const record = await store.epoch(chain.pending.epoch);
      if (!record || record.root.toLowerCase() !== chain.pending.root.toLowerCase()) {
        logger.error({ epoch: chain.pending.epoch, root: chain.pending.root }, "the pending root on chain is not one this pool built: refusing to accept it");
        return;
      }
      if (record.state === "built") await store.updateEpochState(record.number, { state: "proposed" });
      // validAt, or later if a pause since the proposal needs claims open for a whole window first.
      // The next block's time is at least the latest block's and, on a live chain, about the wall
      // clock: an idle local node (the embedded EVM mines only on transactions) would otherwise never
      // reach validAt.
      const [latest, readyAt] = await Promise.all([
        this.chainTime(),
        this.opts.evm.publicClient.readContract({ address: this.opts.contract, abi: payoutPoolAbi, functionName: "acceptableAt" }),
      ]);
      const now = this.estimatedChainNow(latest);
      // Decided by the wall clock: the acceptRoot transaction itself makes the block that moves an
      // idle chain's time past validAt. A root still pending well past it is logged, each time.
      const overdue = now - Number(readyAt);
      this.overdueSeconds = overdue > 0 ? overdue : 0;
      if (overdue > Math.max(30, (3 * this.opts.pollMs) / 1000)) {
        logger.warn({ epoch: record.number, validAt: chain.pending.validAt, acceptableAt: Number(readyAt), overdueSeconds: overdue, chainTime: latest }, "root still pending past the time it could be accepted: accepting again");
      }
      if (now >= Number(readyAt)) await this.accept(record);
      return;
    }

    if (latest && latest.number < chain.active.epoch) {
      logger.error({ chainEpoch: chain.active.epoch, storeEpoch: latest.number }, "the contract is ahead of this pool's store: wrong contract or lost data");
      return;
    }

    if (latest?.state === "revoked") {
      // A revoked epoch is rebuilt (same number) only once the operator has asked for it.
      const marker = rebuildMarker(this.opts.dataDir, latest.number);
      if (!fs.existsSync(marker)) return this.warnRevoked(latest.number);
      logger.warn({ epoch: latest.number }, "rebuilding the revoked epoch as the operator asked");
      fs.rmSync(marker);
      return this.buildAndPropose();
    }

    if (latest && latest.number > chain.active.epoch) {
      const next = await store.epoch(chain.active.epoch + 1);
      if (!next) throw new Error(`epoch ${chain.active.epoch + 1} missing from the store`);
      if (next.number === latest.number && next.state === "proposed" && (await this.wasRevoked(next))) {
        await (this.opts.revokeEpoch ?? ((n: number) => store.revokeEpoch(n)))(next.number);
        logger.error({ epoch: next.number, root: next.root }, "ROOT REVOKED by the guardian: this epoch will be rebuilt only by `pool rebuild-epoch`");
        this.emit("revoked", next.number);
        return;
      }
      await this.propose(next, chain);
      return;
    }

    // The chain has every epoch the store has (followAccepted recorded the active one).
    await this.buildAndPropose();
  }

  /**
   * If the chain's active epoch is one of ours that the store does not yet have as accepted (someone
   * else called `acceptRoot`, or we crashed between the accept and recording it), records it with
   * the transaction of its RootAccepted event and emits "accepted".
   */
  private async followAccepted(chain: ChainRoots): Promise<void> {
    if (chain.active.epoch === 0) return;
    const record = await this.opts.store.epoch(chain.active.epoch);
    if (!record || record.state === "accepted" || record.root.toLowerCase() !== chain.active.root.toLowerCase()) return;
    const logs = await this.opts.evm.publicClient.getContractEvents({
      address: this.opts.contract,
      abi: payoutPoolAbi,
      eventName: "RootAccepted",
      args: { epoch: BigInt(record.number) },
      fromBlock: 0n,
    });
    const log = logs.find((l) => (l.args.root ?? "").toLowerCase() === record.root.toLowerCase());
    const acceptTx = log?.transactionHash ?? undefined;
    await this.opts.store.updateEpochState(record.number, { state: "accepted", ...(acceptTx ? { acceptTx } : {}) });
    this.opts.logger.info({ epoch: record.number, root: record.root, tx: acceptTx }, "root active (accepted by another sender)");
    this.emit("accepted", { ...record, state: "accepted", acceptTx: acceptTx ?? null });
  }

  private async buildAndPropose(): Promise<void> {
    const { logger } = this.opts;
    const built = await this.opts.buildNextEpoch();
    if (built) {
      logger.info({ epoch: built.number, root: built.root, blocks: built.blocks.length, total: built.totalCumulative.toString() }, "epoch built");
      await this.propose(built, await this.readChain());
    }
  }

  private warnRevoked(epoch: number): void {
    if (this.revokedWarned === epoch) return;
    this.revokedWarned = epoch;
    this.opts.logger.error({ epoch }, "epoch was revoked: waiting for the operator's `pool rebuild-epoch`");
  }

  private async wasRevoked(epoch: EpochRecord): Promise<boolean> {
    const logs = await this.opts.evm.publicClient.getContractEvents({
      address: this.opts.contract,
      abi: payoutPoolAbi,
      eventName: "RootRevoked",
      args: { epoch: BigInt(epoch.number) },
      fromBlock: 0n,
    });
    return logs.some((l) => (l.args.root ?? "").toLowerCase() === epoch.root.toLowerCase());
  }

  private async chainTime(): Promise<number> {
    const block = await this.opts.evm.publicClient.getBlock({ blockTag: "latest" });
    return Number(block.timestamp);
  }

  /** The latest block time seen, and when (wall clock, ms) it was first seen. */
  private chainClock = { time: -1, seenAt: 0 };

  /**
   * The time the next block would have (seconds): the latest block's time plus the wall-clock time
   * since that block was first seen. A chain's clock runs at wall speed from its last block, whatever
   * its offset from this machine's clock (a development node whose time was moved ahead with
   * evm_increaseTime, one started in the past), and an idle chain makes no block until the
   * acceptRoot transaction itself does.
   */
  private estimatedChainNow(latest: number): number {
    const wall = Date.now();
    if (latest !== this.chainClock.time) this.chainClock = { time: latest, seenAt: wall };
    return latest + Math.floor((wall - this.chainClock.seenAt) / 1000);
  }

  private async propose(epoch: EpochRecord, chain: ChainRoots): Promise<void> {
    const { evm, contract, logger, store } = this.opts;
    if (!evm.walletClient) throw new Error("the committer needs the operator's key");
    if (epoch.totalCumulative > chain.totalFunded) {
      const shortfall = epoch.totalCumulative - chain.totalFunded;
      if (!this.opts.fundEpochs) {
        logger.warn({ epoch: epoch.number, shortfall: shortfall.toString() }, "contract underfunded: fund it before the root can be proposed");
        return;
      }
      await this.fund(shortfall);
    }
    const uri = this.opts.publishBaseUrl ? `${this.opts.publishBaseUrl.replace(/\/+$/, "")}/${path.basename(epoch.filePath)}` : fileUri(epoch.filePath);
    const hash = await evm.walletClient.writeContract({
      address: contract,
      abi: payoutPoolAbi,
      functionName: "proposeRoot",
      args: [BigInt(epoch.number), epoch.root as Hex, epoch.totalCumulative, epoch.dataHash as Hex, uri],
    });
    const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`proposeRoot(${epoch.number}) reverted: ${hash}`);
    await store.updateEpochState(epoch.number, { state: "proposed", proposeTx: hash });
    logger.info({ epoch: epoch.number, root: epoch.root, tx: hash }, "root proposed");
    this.emit("proposed", { ...epoch, state: "proposed", proposeTx: hash });
  }

  private async fund(amount: bigint): Promise<void> {
    const { evm, contract, logger } = this.opts;
    const wallet = evm.walletClient!;
    const token = await evm.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "token" });
    if (token !== zeroAddress) {
      const approve = await wallet.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [contract, amount] });
      await evm.publicClient.waitForTransactionReceipt({ hash: approve });
    }
    const hash = await wallet.writeContract({
      address: contract,
      abi: payoutPoolAbi,
      functionName: "fund",
      args: [amount],
      value: token === zeroAddress ? amount : 0n,
    });
    const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`fund(${amount}) reverted: ${hash}`);
    logger.info({ amount: amount.toString(), tx: hash }, "contract funded");
  }

  private async accept(epoch: EpochRecord): Promise<void> {
    const { evm, contract, store, logger } = this.opts;
    if (!evm.walletClient) throw new Error("the committer needs a key to call acceptRoot");
    let hash: Hex;
    try {
      hash = await evm.walletClient.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "acceptRoot" });
    } catch (err) {
      // Someone else's acceptRoot got in first (the estimate then fails with NoPendingRoot): the next
      // tick follows it through followAccepted.
      const [pending] = await evm.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" });
      if (/^0x0+$/.test(pending)) return;
      throw err;
    }
    const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`acceptRoot reverted: ${hash}`);
    await store.updateEpochState(epoch.number, { state: "accepted", acceptTx: hash });
    logger.info({ epoch: epoch.number, root: epoch.root, tx: hash }, "root active");
    this.emit("accepted", { ...epoch, state: "accepted", acceptTx: hash });
  }
}

function fileUri(path: string): string {
  return fs.existsSync(path) ? `file://${path}` : path;
}

