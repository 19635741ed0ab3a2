/**
 * The epoch builder: pays every confirmed, unpaid block in one new epoch. For each block it walks
 * the PPLNS window in the share store, splits the reward, then advances the cumulative ledger,
 * builds the payout tree over the whole ledger and writes the share log and the epoch file.
 * Recording the epoch (ledger advance + blocks marked paid) is one store transaction, done last:
 * a crash before it leaves only files that the next run rewrites byte for byte.
 */
import fs from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { PayoutTree, TREE_OPTIONS, normalizeAccount } from "../merkle";
import { DEFAULT_FACTOR, WindowAccumulator, parseFactor, splitRewardColumns, windowUnitsForBits, type WindowSummary } from "../pplns";
import { UNITS_PER_DIFFICULTY, difficultyToUnits, type BlockRecord, type LedgerDelta, type ShareStore } from "../shares";
import { HEADER_CHAIN_FILE, headerChainText } from "../audit/powchain";
import { EPOCH_FILE_FORMAT, EPOCH_FILE_VERSION, LEAF_FIELDS, ROUNDING_RULE, epochFileName, shareLogFileName, writeEpochFile, type EpochBlock, type EpochHeader, type EpochLeaves, type EpochWindowGap } from "./format";
import { advanceLedgerColumns, sortLedger, type SortedLedger } from "./ledger";
import { ShareLogWriter } from "./sharelog";

export interface EpochBuilderConfig {
  store: ShareStore;
  /** Epoch files and share logs go to `<dataDir>/epochs/`. */
  dataDir: string;
  /** Name of the proof-of-work chain ("embedded", "bitcoin", "regtest", …), written into the file. */
  powChain: string;
  evmChainId: number;
  /** PayoutPool address. */
  contract: string;
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
  parameterChange?: { fromEpoch: number; feeBps?: number; factor?: string };
  /**
   * The proof-of-work chain's headers (hex, genesis first), for chains the auditor cannot read
   * from its own node (the embedded chain): written to `epochs/headers.txt` before each epoch file.
   */
  headerChain?: () => Iterable<string>;
}

/** Everything about an epoch the committer and the API need. */
export interface BuiltEpoch {
  number: number;
  header: EpochHeader;
  leaves: EpochLeaves;
  tree: PayoutTree;
  filePath: string;
  shareLogPath: string;
  /** keccak256 of the epoch file's bytes: proposeRoot's dataHash. */
  dataHash: Hex;
  bytes: number;
  root: Hex;
  totalCumulative: bigint;
  reward: bigint;
  deltas: LedgerDelta[];
  /** Store ids of the blocks paid, as hashes. */
  blocks: string[];
  timings: Record<string, number>;
}

interface BlockWindow {
  block: BlockRecord;
  windowUnits: bigint;
  summary: WindowSummary;
  /** Credited units per address (parallel arrays, one entry per address). */
  addresses: string[];
  weights: bigint[];
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
    if (config.payoutScript !== undefined && !/^([0-9a-f]{2})+$/.test(config.payoutScript)) throw new TypeError("payoutScript must be lower-case hex");
    const change = config.parameterChange;
    if (change) {
      if (!Number.isSafeInteger(change.fromEpoch) || change.fromEpoch < 2) throw new RangeError("parameterChange.fromEpoch must be an epoch ≥ 2");
      if (change.factor !== undefined) parseFactor(change.factor);
      if (change.feeBps !== undefined && (!Number.isInteger(change.feeBps) || change.feeBps < 0 || change.feeBps > 10_000)) throw new RangeError("parameterChange.feeBps must be 0..10000");
    }
  }

  /** Fee and factor that apply to epoch `number`, and the announcement its file carries. */
  private parametersFor(number: number): { feeBps: number; factor: string; announce?: { fromEpoch: number; feeBps: number; factor: string } } {
    const c = this.config.parameterChange;
    const next = c ? { fromEpoch: c.fromEpoch, feeBps: c.feeBps ?? this.feeBps, factor: c.factor ?? this.factor } : undefined;
    if (next && number >= next.fromEpoch) return { feeBps: next.feeBps, factor: next.factor };
    return { feeBps: this.feeBps, factor: this.factor, ...(next ? { announce: next } : {}) };
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
      if (epoch) await this.record(epoch);
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
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async prepareNow(): Promise<BuiltEpoch | undefined> {
    const blocks = await this.payableBlocks();
    if (blocks.length === 0) return undefined;
    const timings: Record<string, number> = {};
    const clock = (name: string, start: number) => (timings[name] = (timings[name] ?? 0) + (performance.now() - start));

    const latest = await this.latestValidEpoch();
    const number = latest ? latest.number + 1 : 1;

    const params = this.parametersFor(number);
    let t = performance.now();
    const windows: BlockWindow[] = [];
    for (const block of blocks) windows.push(await this.blockWindow(block, params.factor));
    clock("pplnsMs", t);

    t = performance.now();
    const feeAddress = this.feeAddress;
    const splits = windows.map((w) => splitRewardColumns({ reward: w.block.reward, feeBps: params.feeBps, feeAddress, addresses: w.addresses, weights: w.weights }));
    const additions = { accounts: [] as string[], amounts: [] as bigint[] };
    windows.forEach((w, b) => {
      const { fee, amounts } = splits[b];
      if (fee > 0n) {
        if (feeAddress === undefined) throw new Error("internal: a fee without a fee address");
        additions.accounts.push(feeAddress);
        additions.amounts.push(fee);
      }
      for (let i = 0; i < amounts.length; i++) {
        if (amounts[i] > 0n) {
          additions.accounts.push(w.addresses[i]);
          additions.amounts.push(amounts[i]);
        }
      }
    });
    const previous = await this.previousLedger(latest?.number);
    const leaves = advanceLedgerColumns(previous.ledger, additions);
    clock("ledgerMs", t);

    t = performance.now();
    const tree = PayoutTree.fromSorted(leaves.accounts, leaves.cumulative, previous.tree);
    clock("treeMs", t);

    t = performance.now();
    const shareLogPath = path.join(this.dir, shareLogFileName(number));
    const log = await this.writeShareLog(shareLogPath, number, windows);
    clock("shareLogMs", t);

    const reward = blocks.reduce((s, b) => s + b.reward, 0n);
    const header: EpochHeader = {
      format: EPOCH_FILE_FORMAT,
      version: EPOCH_FILE_VERSION,
      chain: { pow: this.config.powChain, evmChainId: this.config.evmChainId, ...(this.config.payoutScript ? { payoutScript: this.config.payoutScript } : {}) },
      contract: normalizeAccount(this.config.contract),
      epoch: number,
      previous: latest ? { epoch: latest.number, root: latest.root as Hex, dataHash: latest.dataHash as Hex } : null,
      pplns: { factor: params.factor, unitsPerDifficulty: UNITS_PER_DIFFICULTY.toString(), rounding: ROUNDING_RULE },
      fee: { bps: params.feeBps, address: this.feeAddress ?? null },
      ...(params.announce ? { parameters: params.announce } : {}),
      blocks: windows.map((w, i) => epochBlock(w, splits[i].fee, log.gaps[i])),
      shareLog: { file: path.basename(shareLogPath), hash: "keccak256", digest: log.digest, lines: log.lines },
      reward: reward.toString(),
      totalCumulative: tree.total.toString(),
      root: tree.root,
      tree: TREE_OPTIONS,
      leafFields: LEAF_FIELDS,
    };

    if (this.config.headerChain) {
      t = performance.now();
      writeTextAtomically(path.join(this.dir, HEADER_CHAIN_FILE), headerChainText(this.config.headerChain()));
      clock("headerChainMs", t);
    }

    t = performance.now();
    const filePath = path.join(this.dir, epochFileName(number));
    const { dataHash, bytes } = writeEpochFile(filePath, header, leaves);
    clock("epochFileMs", t);

    const deltas: LedgerDelta[] = [];
    for (let i = 0; i < leaves.accounts.length; i++) {
      if (leaves.delta[i] > 0n) deltas.push({ address: leaves.accounts[i], delta: leaves.delta[i], cumulative: leaves.cumulative[i] });
    }
    return {
      number,
      header,
      leaves,
      tree,
      filePath,
      shareLogPath,
      dataHash,
      bytes,
      root: tree.root,
      totalCumulative: tree.total,
      reward,
      deltas,
      blocks: blocks.map((b) => b.hash),
      timings,
    };
  }

  private async record(epoch: BuiltEpoch): Promise<void> {
    await this.store.recordEpoch(
      {
        number: epoch.number,
        blocks: epoch.blocks,
        root: epoch.root,
        totalCumulative: epoch.totalCumulative,
        reward: epoch.reward,
        accounts: epoch.leaves.accounts.length,
        filePath: epoch.filePath,
        dataHash: epoch.dataHash,
        shareLogPath: epoch.shareLogPath,
        shareLogDigest: epoch.header.shareLog.digest,
      },
      epoch.deltas,
    );
    this.cached = { epoch: epoch.number, tree: epoch.tree };
  }

  private async latestValidEpoch() {
    const epochs = await this.store.epochs();
    for (let i = epochs.length - 1; i >= 0; i--) if (epochs[i].state !== "revoked") return epochs[i];
    return undefined;
  }

  /** The ledger after epoch `number`: from the cached tree when it is that epoch's, else the store. */
  private async previousLedger(number: number | undefined): Promise<{ ledger: SortedLedger; tree?: PayoutTree }> {
    if (number === undefined) return { ledger: { accounts: [], amounts: [] } };
    const cached = this.cached;
    if (cached && cached.epoch === number) {
      const tree = cached.tree;
      const accounts = new Array<string>(tree.size);
      const amounts = new Array<bigint>(tree.size);
      for (let i = 0; i < tree.size; i++) {
        accounts[i] = tree.accountAt(i);
        amounts[i] = tree.cumulativeAt(i);
      }
      return { ledger: { accounts, amounts }, tree };
    }
    return { ledger: sortLedger(await this.store.ledger()) };
  }

  private async blockWindow(block: BlockRecord, factor: string): Promise<BlockWindow> {
    const windowUnits = windowUnitsForBits(block.nbits, factor);
    const acc = new WindowAccumulator(windowUnits);
    outer: for await (const batch of this.store.weightsNewestFirst(block.shareId)) {
      for (const r of batch) if (!acc.addParts(r.account, r.whole, r.frac, r.id)) break outer;
    }
    const summary = acc.summary();
    if (summary.lastShareId !== block.shareId) throw new Error(`block ${block.hash}: its share ${block.shareId} is not in the store`);
    const { keys, weights } = acc.weightColumns();
    const names = await this.store.accountAddresses(keys);
    const addresses = keys.map((key) => {
      const address = names.get(key);
      if (address === undefined) throw new Error(`account ${key} missing from the store`);
      return address;
    });
    return { block, windowUnits, summary, addresses, weights };
  }

  private async writeShareLog(file: string, epoch: number, windows: BlockWindow[]): Promise<{ digest: Hex; lines: number; gaps: EpochWindowGap[][] }> {
    const writer = new ShareLogWriter(file, { epoch, blocks: windows.length });
    const gaps: EpochWindowGap[][] = [];
    try {
      for (let b = 0; b < windows.length; b++) {
        const { summary } = windows[b];
        const first = summary.firstShareId as number;
        let count = 0;
        let previousId = first - 1;
        const blockGaps: EpochWindowGap[] = [];
        for await (const share of this.store.sharesInRange(first, summary.lastShareId as number)) {
          // Ids the store never committed (a PostgreSQL sequence value of a rolled-back
          // transaction): listed with the reason, so that an auditor can tell them from a dropped share.
          if (share.id > previousId + 1) blockGaps.push({ from: previousId + 1, to: share.id - 1, reason: GAP_REASON[this.store.kind] });
          previousId = share.id;
          const credited = share.id === first ? summary.firstShareCredit : difficultyToUnits(share.difficulty);
          writer.write({ ...share, block: b, credited });
          count++;
        }
        if (count !== summary.shareCount) throw new Error(`block ${windows[b].block.hash}: window has ${summary.shareCount} shares, the store returned ${count}`);
        gaps.push(blockGaps);
      }
      const { digest, lines } = writer.finish();
      return { digest, lines, gaps };
    } catch (err) {
      writer.abort();
      throw err;
    }
  }
}

/**
 * Why a window's ids skip, disclosed as the store knows it: a PostgreSQL sequence hands out ids
 * to transactions that may roll back; SQLite's ids never skip, so there shares were deleted.
 */
const GAP_REASON = {
  postgres: "ids taken from the PostgreSQL sequence by transactions that never committed",
  sqlite: "not in the SQLite store, whose ids never skip: these shares were deleted",
} as const;

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

function epochBlock(w: BlockWindow, fee: bigint, gaps: EpochWindowGap[] = []): EpochBlock {
  const s = w.summary;
  return {
    height: w.block.height,
    hash: w.block.hash,
    reward: w.block.reward.toString(),
    finder: w.block.finder,
    shareId: w.block.shareId,
    nbits: w.block.nbits,
    window: {
      units: w.windowUnits.toString(),
      coveredUnits: s.coveredUnits.toString(),
      complete: s.complete,
      firstShareId: s.firstShareId as number,
      lastShareId: s.lastShareId as number,
      shareCount: s.shareCount,
      firstShareCredit: s.firstShareCredit.toString(),
      ...(gaps.length > 0 ? { gaps } : {}),
    },
    fee: fee.toString(),
  };
}
