/**
 * The epoch builder: pays every confirmed, unpaid block in one new epoch. For each block it walks
 * the PPLNS window in the share store, splits the reward, then advances the cumulative ledger,
 * builds the payout tree over the whole ledger and writes the share log and the epoch file.
 * Recording the epoch (ledger advance + blocks marked paid) is one store transaction, done last:
 * a crash before it leaves only files that the next run rewrites byte for byte.
 *
 * Where it runs: with `worker` set (the pool sets it), everything from the PPLNS walks to the
 * epoch file runs on a worker thread (src/epochs/build-worker.ts) and the caller's event loop only
 * awaits it; without, on the caller's thread (the same code, src/epochs/assemble.ts: same bytes).
 */
import fs from "node:fs";
import { localEpochFile, publishEpochFiles } from "./published";
import path from "node:path";
import type { Hex } from "viem";
import { PayoutTree, normalizeAccount } from "../merkle";
import { DEFAULT_FACTOR, parseFactor } from "../pplns";
import type { BlockRecord, LedgerDeltaList, ShareStore, ShareStoreConfig } from "../shares";
import { HEADER_CHAIN_FILE, headerChainText } from "../audit/powchain";
import { assembleEpoch, previousLedger, type AssembleJob, type AssembledEpoch, type EpochParams } from "./assemble";
import { EpochBuildWorker, type WorkerEpoch } from "./build-worker";
import { parseEpochFile, type EpochHeader, type EpochLeaves } from "./format";
import { assetProblem, type EpochAsset } from "./units";
import { assembleSchemeEpoch, type SchemeJob } from "../schemes/assemble";
import { FeeWindows } from "../schemes/fees";
import { PAYOUT_SCHEMES, REGTEST_SUBSIDY, subsidyAt, type PayoutScheme, type SubsidySchedule } from "../schemes/credit";
import { readEpochHeader } from "../schemes/header";

export interface EpochBuilderConfig {
  store: ShareStore;
  /** Epoch files and share logs go to `<dataDir>/epochs/`. */
  dataDir: string;
  /** Name of the proof-of-work chain ("embedded", "bitcoin", "regtest", …), written into the file. */
  powChain: string;
  evmChainId: number;
  /** PayoutPool address. */
  contract: string;
  /**
   * The asset the contract pays in (written into every epoch file): block rewards are paid as
   * coinbase satoshis × unitsPerSatoshi of its smallest unit, which must be 10^(decimals − 8) (or 1,
   * the mapping of a pool started without evm.unitsPerSatoshi).
   * Absent: one unit per satoshi and no `asset` in the files (as before the field existed).
   */
  asset?: EpochAsset;
  /** PPLNS factor: N = factor × network difficulty. Default 2. */
  factor?: string;
  /** Operator fee in basis points. Default 0. */
  feeBps?: number;
  feeAddress?: string;
  /** Depth K a block needs before it is paid. Default 1. */
  confirmations?: number;
  /**
   * The pool's coinbase output script (hex), written into the file (`chain.payoutScript`) so that
   * an auditor checks every share and block pays it.
   */
  payoutScript?: string;
  /**
   * A change of fee and/or factor from epoch `fromEpoch` on: announced (`parameters`) in every
   * file before it, applied from it. An auditor finds a change not announced an epoch ahead.
   */
  parameterChange?: { fromEpoch: number; feeBps?: number; factor?: string; scheme?: PayoutScheme };
  /**
   * Payout scheme (default "pplns": epochs on found blocks). "pps" / "fpps": epochs close on a
   * schedule, every `intervalSeconds`, and credit every accepted share since the previous epoch its
   * expected value (src/schemes/credit.ts); found blocks go to the operator.
   */
  scheme?: PayoutScheme;
  /** PPS/FPPS: seconds between scheduled epochs (default 3600). */
  intervalSeconds?: number;
  /** PPS/FPPS: the chain's subsidy schedule, satoshis (default regtest's and the embedded chain's: 50 BTC halved every 150 blocks). */
  subsidy?: SubsidySchedule;
  /** FPPS: the chain's fees (satoshis) of the block at a height, undefined when there is none. */
  blockFees?: (height: number) => Promise<bigint | undefined>;
  /** Wall clock in ms (default Date.now): when a scheduled epoch is due. */
  now?: () => number;
  /**
   * The proof-of-work chain's headers (hex, genesis first), for chains the auditor cannot read
   * from its own node (the embedded chain): written to `epochs/headers.txt` before each epoch file.
   */
  headerChain?: () => Iterable<string>;
  /**
   * Build on a worker thread that opens this store config (the same database as `store`) for its
   * reads: the caller's event loop stays free. Call close() when done. Absent: build in-process.
   * `nice`: the thread's nice value on Linux (default 19, with SCHED_IDLE: under CPU contention Stratum runs first).
   */
  worker?: { store: ShareStoreConfig; nice?: number };
}

/**
 * Everything about an epoch the committer and the API need. From a worker build, `leaves` and
 * `tree` stay in the worker: here they are read back from the epoch file on first access
 * (synchronously, seconds for a million accounts: the pool never reads them).
 */
export interface BuiltEpoch {
  number: number;
  header: EpochHeader;
  leaves: EpochLeaves;
  tree: PayoutTree;
  /** How many leaves (accounts) the epoch file holds: read without `leaves` (which may load the file). */
  accounts: number;
  filePath: string;
  shareLogPath: string;
  /** keccak256 of the epoch file's bytes: proposeRoot's dataHash. */
  dataHash: Hex;
  bytes: number;
  root: Hex;
  totalCumulative: bigint;
  reward: bigint;
  /** By index (an array, or the worker's packed columns read in place: PackedLedgerDeltas). */
  deltas: LedgerDeltaList;
  /** Store ids of the blocks paid, as hashes. */
  blocks: string[];
  /** The previous epoch's tree was at hand (kept by this builder or its worker): unchanged leaves were reused. */
  reusedTree: boolean;
  timings: Record<string, number>;
}

export class EpochBuilder {
  private readonly store: ShareStore;
  private readonly dir: string;
  private readonly factor: string;
  private readonly feeBps: number;
  private readonly feeAddress: string | undefined;
  private readonly confirmations: number;
  /** Tree of the latest recorded epoch, reused (its unchanged leaves) by the next build. */
  private cached: { epoch: number; tree: PayoutTree } | undefined;
  /** One build at a time: two would write the same epoch's files. */
  private busy: Promise<unknown> = Promise.resolve();
  private readonly worker: EpochBuildWorker | undefined;

  constructor(private readonly config: EpochBuilderConfig) {
    this.store = config.store;
    this.dir = path.join(config.dataDir, "epochs");
    this.factor = config.factor ?? DEFAULT_FACTOR;
    parseFactor(this.factor);
    this.feeBps = config.feeBps ?? 0;
    if (!Number.isInteger(this.feeBps) || this.feeBps < 0 || this.feeBps > 10_000) throw new RangeError(`feeBps must be 0..10000, got ${this.feeBps}`);
    this.feeAddress = config.feeAddress === undefined ? undefined : normalizeAccount(config.feeAddress);
    if (this.feeBps > 0 && this.feeAddress === undefined) throw new TypeError("feeAddress is required when feeBps > 0");
    this.confirmations = config.confirmations ?? 1;
    if (!Number.isSafeInteger(this.confirmations) || this.confirmations < 0) throw new RangeError("confirmations must be a non-negative integer");
    if (!Number.isSafeInteger(config.evmChainId) || config.evmChainId < 1) throw new RangeError("evmChainId must be a positive integer");
    normalizeAccount(config.contract);
    if (config.asset) {
      const problem = assetProblem(config.asset);
      if (problem) throw new RangeError(problem);
    }
    if (config.payoutScript !== undefined && !/^([0-9a-f]{2})+$/.test(config.payoutScript)) throw new TypeError("payoutScript must be lower-case hex");
    const change = config.parameterChange;
    if (change) {
      if (!Number.isSafeInteger(change.fromEpoch) || change.fromEpoch < 2) throw new RangeError("parameterChange.fromEpoch must be an epoch ≥ 2");
      if (change.factor !== undefined) parseFactor(change.factor);
      if (change.feeBps !== undefined && (!Number.isInteger(change.feeBps) || change.feeBps < 0 || change.feeBps > 10_000)) throw new RangeError("parameterChange.feeBps must be 0..10000");
      if (change.scheme !== undefined && !PAYOUT_SCHEMES.includes(change.scheme)) throw new RangeError(`parameterChange.scheme must be one of ${PAYOUT_SCHEMES.join(", ")}`);
    }
    const scheme = config.scheme ?? "pplns";
    if (!PAYOUT_SCHEMES.includes(scheme)) throw new RangeError(`scheme must be one of ${PAYOUT_SCHEMES.join(", ")}, got ${String(scheme)}`);
    // PPLNS windows reach back over shares a PPS/FPPS epoch already paid: not supported (yet).
    if (scheme !== "pplns" && change?.scheme === "pplns") throw new RangeError("parameterChange.scheme: a change from pps/fpps back to pplns is not supported (its windows would pay shares the per-share epochs already paid)");
    const interval = config.intervalSeconds ?? 3600;
    if (!Number.isSafeInteger(interval) || interval < 1) throw new RangeError(`intervalSeconds must be a positive integer, got ${String(config.intervalSeconds)}`);
    if (config.subsidy) subsidyAt(0, config.subsidy); // validates it
    if ((scheme === "fpps" || change?.scheme === "fpps") && !config.blockFees) throw new TypeError("an FPPS pool needs blockFees (the chain's per-block fees)");
    if (config.worker) {
      if (config.worker.store?.kind !== config.store.kind) throw new TypeError(`worker.store must open the builder's own store (a ${config.store.kind} store), got ${String(config.worker.store?.kind)}`);
      this.worker = new EpochBuildWorker(config.worker.store, config.worker.nice);
      this.worker.start();
    }
  }

  /** Ends the build worker (if any) once the builds under way are done. */
  close(): Promise<void> {
    return this.exclusive(async () => this.worker?.close());
  }

  /** Fee, factor and scheme that apply to epoch `number`, and the announcement its file carries (parameterChange). */
  parametersFor(number: number): EpochParams & { scheme: PayoutScheme } {
    const c = this.config.parameterChange;
    const scheme = this.config.scheme ?? "pplns";
    const next = c ? { fromEpoch: c.fromEpoch, feeBps: c.feeBps ?? this.feeBps, factor: c.factor ?? this.factor, ...(c.scheme !== undefined && c.scheme !== scheme ? { scheme: c.scheme } : {}) } : undefined;
    if (next && number >= next.fromEpoch) return { feeBps: next.feeBps, factor: next.factor, scheme: next.scheme ?? scheme };
    return { feeBps: this.feeBps, factor: this.factor, scheme, ...(next ? { announce: next } : {}) };
  }

  /**
   * What the next epoch built will carry: its number, the fee, factor and scheme that apply to it
   * with the announcement its file carries (parameterChange), and the header of the epoch before it
   * (undefined: none yet). For the pool's start check of an announced change (src/schemes/change.ts).
   */
  async nextParameters(): Promise<{ number: number; params: EpochParams & { scheme: PayoutScheme }; previous?: EpochHeader }> {
    const latest = await this.latestValidEpoch();
    const number = latest ? latest.number + 1 : 1;
    let previous: EpochHeader | undefined;
    if (latest) {
      const file = await localEpochFile(this.store, latest.filePath, this.dir);
      try {
        previous = readEpochHeader(file);
      } catch (err) {
        throw new Error(`epoch ${latest.number}'s file ${file} cannot be read (${(err as Error).message}): the next epoch continues from it`);
      }
    }
    return { number, params: this.parametersFor(number), ...(previous ? { previous } : {}) };
  }

  /** Confirmed (depth ≥ K), unpaid blocks in payment order (height, then hash). */
  async payableBlocks(): Promise<BlockRecord[]> {
    const blocks = await this.store.blocks({ status: "confirmed", unpaid: true });
    return blocks
      .filter((b) => b.confirmations >= this.confirmations)
      .sort((a, b) => a.height - b.height || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  }

  /**
   * Computes the next epoch and writes its files, without recording it. Deterministic: the same
   * store state gives the same bytes. Undefined when there is nothing to pay.
   */
  prepare(): Promise<BuiltEpoch | undefined> {
    return this.exclusive(() => this.prepareNow());
  }

  /** prepare() and record the epoch in the store (the ledger advances here, atomically). */
  build(): Promise<BuiltEpoch | undefined> {
    return this.exclusive(async () => {
      const epoch = await this.prepareNow();
      if (epoch) {
        // In the store before the epoch is (PostgreSQL): whichever process serves it or builds the
        // next one finds its files there, on whatever machine.
        await publishEpochFiles(this.store, [epoch.filePath, epoch.shareLogPath]);
        // The one step on the caller's thread that grows with the epoch: the store transaction.
        const t = performance.now();
        await this.record(epoch);
        epoch.timings.recordMs = performance.now() - t;
      }
      return epoch;
    });
  }

  /**
   * The operator's explicit revocation of the latest epoch (after the guardian revoked its root):
   * the store rolls the ledger back and frees its blocks; its files are kept, renamed
   * `….revoked-<dataHash prefix>…`, and the next build() makes a new epoch with the same number.
   */
  revoke(number: number): Promise<void> {
    return this.exclusive(async () => {
      const e = await this.store.epoch(number);
      if (!e) throw new Error(`epoch ${number} does not exist`);
      await this.store.revokeEpoch(number);
      const tag = `revoked-${e.dataHash.slice(2, 10)}`;
      for (const file of [e.filePath, e.shareLogPath]) {
        const target = file.replace(/(\.shares\.jsonl|\.json)$/, `.${tag}$1`);
        if (fs.existsSync(file) && !fs.existsSync(target)) fs.renameSync(file, target);
      }
      if (this.cached?.epoch === number) this.cached = undefined;
      this.worker?.forget();
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async prepareNow(): Promise<BuiltEpoch | undefined> {
    const latestEpoch = await this.latestValidEpoch();
    const scheme = this.parametersFor(latestEpoch ? latestEpoch.number + 1 : 1).scheme;
    if (scheme !== "pplns") return this.prepareScheduled(scheme);
    const blocks = await this.payableBlocks();
    if (blocks.length === 0) return undefined;
    const latest = await this.latestValidEpoch();
    const number = latest ? latest.number + 1 : 1;
    const { scheme: _pplns, ...params } = this.parametersFor(number);
    const job: AssembleJob = {
      dir: this.dir,
      number,
      blocks,
      latest: latest ? { number: latest.number, root: latest.root, dataHash: latest.dataHash } : undefined,
      params,
      feeAddress: this.feeAddress,
      chain: { pow: this.config.powChain, evmChainId: this.config.evmChainId, ...(this.config.payoutScript ? { payoutScript: this.config.payoutScript } : {}) },
      contract: this.config.contract,
      ...(this.config.asset ? { asset: { ...this.config.asset } } : {}),
    };

    // The header chain the epoch file's blocks are checked against, written before the file.
    let headerChainMs: number | undefined;
    if (this.config.headerChain) {
      const t = performance.now();
      writeTextAtomically(path.join(this.dir, HEADER_CHAIN_FILE), headerChainText(this.config.headerChain()));
      headerChainMs = performance.now() - t;
    }

    const hashes = blocks.map((b) => b.hash);
    if (this.worker) {
      const t = performance.now();
      const e = await this.worker.prepare(job);
      const timings = { ...e.timings, workerMs: performance.now() - t, ...(headerChainMs !== undefined ? { headerChainMs } : {}) };
      return fromWorker(number, e, hashes, timings);
    }
    const e = await assembleEpoch(this.store, job, await previousLedger(this.store, latest?.number, this.cached));
    return fromAssembled(number, e, hashes, headerChainMs);
  }

  /**
   * A PPS/FPPS epoch, when one is due: `intervalSeconds` after the previous epoch was built (the
   * first: after the first share it would credit was accepted), crediting every share after the
   * previous epoch's last one up to the newest stored share. Confirmed blocks found by those shares
   * are recorded with the epoch as the operator's (nothing of them enters the ledger). Built on
   * the build worker when the builder has one (as PPLNS epochs), else on this thread.
   */
  private async prepareScheduled(scheme: Exclude<PayoutScheme, "pplns">): Promise<BuiltEpoch | undefined> {
    const latest = await this.latestValidEpoch();
    const number = latest ? latest.number + 1 : 1;
    const fromShareId = latest ? (await this.lastCreditedShare(await localEpochFile(this.store, latest.filePath, this.dir))) + 1 : 1;
    const toShareId = await this.store.lastShareId();
    if (toShareId < fromShareId) return undefined;
    const now = (this.config.now ?? Date.now)();
    let since: number | undefined = latest?.createdAt;
    if (since === undefined) {
      for await (const s of this.store.sharesInRange(fromShareId, toShareId, 1)) {
        since = s.time;
        break;
      }
    }
    if (since === undefined || now - since < (this.config.intervalSeconds ?? 3600) * 1000) return undefined;

    const { scheme: _s, ...params } = this.parametersFor(number);
    const chain = { pow: this.config.powChain, evmChainId: this.config.evmChainId, ...(this.config.payoutScript ? { payoutScript: this.config.payoutScript } : {}) };
    let headerChainMs: number | undefined;
    if (this.config.headerChain) {
      const t = performance.now();
      writeTextAtomically(path.join(this.dir, HEADER_CHAIN_FILE), headerChainText(this.config.headerChain()));
      headerChainMs = performance.now() - t;
    }
    const job: SchemeJob = {
      dir: this.dir,
      number,
      latest: latest ? { number: latest.number, root: latest.root, dataHash: latest.dataHash } : undefined,
      params,
      feeAddress: this.feeAddress,
      chain,
      contract: this.config.contract,
      ...(this.config.asset ? { asset: { ...this.config.asset } } : {}),
      scheme,
      fromShareId,
      toShareId,
      subsidy: this.config.subsidy ?? REGTEST_SUBSIDY,
    };
    // Blocks found by the credited shares are the operator's: recorded with the epoch.
    const operatorBlocks = async (lastId: number) => (await this.payableBlocks()).filter((b) => b.shareId <= lastId).map((b) => b.hash);
    if (this.worker) {
      // On the build worker, as PPLNS epochs: the shares, credits, tree and files off this thread;
      // the FPPS fees it asks of this thread's blockFees (the chain is read here).
      const t = performance.now();
      const e = await this.worker.prepareScheme(job, scheme === "fpps" ? this.config.blockFees : undefined);
      const timings = { ...e.timings, workerMs: performance.now() - t, ...(headerChainMs !== undefined ? { headerChainMs } : {}) };
      return fromWorker(number, e, await operatorBlocks(e.header.scheme!.lastShareId), timings);
    }
    const fees = scheme === "fpps" && this.config.blockFees ? new FeeWindows(this.config.blockFees) : undefined;
    const e = await assembleSchemeEpoch(this.store, job, await previousLedger(this.store, latest?.number, this.cached), fees);
    return fromAssembled(number, e, await operatorBlocks(e.header.scheme!.lastShareId), headerChainMs);
  }

  /** The newest share id an epoch credited: a PPS/FPPS epoch's scheme.lastShareId, a PPLNS epoch's newest block share. */
  private async lastCreditedShare(filePath: string): Promise<number> {
    const h = readEpochHeader(filePath);
    if (h.scheme) return h.scheme.lastShareId;
    return Math.max(...h.blocks.map((b) => b.shareId));
  }

  private async record(epoch: BuiltEpoch): Promise<void> {
    await this.store.recordEpoch(
      {
        number: epoch.number,
        blocks: epoch.blocks,
        root: epoch.root,
        totalCumulative: epoch.totalCumulative,
        reward: epoch.reward,
        // Not epoch.leaves: from the worker, that reads a million-leaf file back on the event loop.
        accounts: epoch.accounts,
        filePath: epoch.filePath,
        dataHash: epoch.dataHash,
        shareLogPath: epoch.shareLogPath,
        shareLogDigest: epoch.header.shareLog.digest,
      },
      epoch.deltas,
    );
    // Every epoch (PPLNS or scheduled) is built on the worker when there is one: it keeps the tree.
    if (this.worker) this.worker.recorded(epoch.number, epoch.root);
    else this.cached = { epoch: epoch.number, tree: epoch.tree };
  }

  private async latestValidEpoch() {
    const epochs = await this.store.epochs();
    for (let i = epochs.length - 1; i >= 0; i--) if (epochs[i].state !== "revoked") return epochs[i];
    return undefined;
  }
}

/** A BuiltEpoch from an epoch assembled on this thread (PPLNS or PPS/FPPS). */
function fromAssembled(number: number, e: AssembledEpoch, blocks: string[], headerChainMs: number | undefined): BuiltEpoch {
  return {
    number,
    header: e.header,
    leaves: e.leaves,
    tree: e.tree,
    accounts: e.leaves.accounts.length,
    filePath: e.filePath,
    shareLogPath: e.shareLogPath,
    dataHash: e.dataHash,
    bytes: e.bytes,
    root: e.tree.root,
    totalCumulative: e.tree.total,
    reward: e.reward,
    deltas: e.deltas,
    blocks,
    reusedTree: e.reusedTree,
    timings: { ...e.timings, ...(headerChainMs !== undefined ? { headerChainMs } : {}) },
  };
}

/**
 * A BuiltEpoch from the worker's result: `tree` and `leaves` (kept in the worker) are read back
 * from the epoch file on first access, checked against the root the worker reported.
 */
function fromWorker(number: number, e: WorkerEpoch, blocks: string[], timings: Record<string, number>): BuiltEpoch {
  let loaded: { leaves: EpochLeaves; tree: PayoutTree } | undefined;
  const load = () => {
    if (!loaded) {
      const file = parseEpochFile(fs.readFileSync(e.filePath));
      const tree = PayoutTree.fromSorted(file.leaves.accounts, file.leaves.cumulative);
      if (tree.root !== e.header.root) throw new Error(`epoch ${number}: the file's leaves give root ${tree.root}, the worker built ${e.header.root}`);
      loaded = { leaves: file.leaves, tree };
    }
    return loaded;
  };
  const built = {
    number,
    header: e.header,
    filePath: e.filePath,
    shareLogPath: e.shareLogPath,
    accounts: e.accounts,
    dataHash: e.dataHash,
    bytes: e.bytes,
    root: e.header.root,
    totalCumulative: e.totalCumulative,
    reward: e.reward,
    deltas: e.deltas,
    blocks,
    reusedTree: e.reusedTree,
    timings,
  } as BuiltEpoch;
  // Not enumerable: a spread or a log line must not read a million-leaf file by accident.
  Object.defineProperty(built, "leaves", { enumerable: false, get: () => load().leaves });
  Object.defineProperty(built, "tree", { enumerable: false, get: () => load().tree });
  return built;
}

/** Writes a small text file atomically (temporary file, fsync, rename). */
function writeTextAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
