/**
 * The body of an epoch build, the same code wherever it runs (the caller's thread, or the build
 * worker: src/epochs/build-worker.ts): for each block walk its PPLNS window in the share store and
 * split its reward, advance the cumulative ledger, build the payout tree, write the share log and
 * the epoch file. Nothing is recorded here (the caller records, in one store transaction).
 *
 * Deterministic: the same store state and inputs give the same bytes, hence the same data hash.
 */
import path from "node:path";
import type { Hex } from "viem";
import { PayoutTree, TREE_OPTIONS, normalizeAccount } from "../merkle";
import { WindowAccumulator, splitRewardColumns, windowUnitsForBits, type WindowSummary } from "../pplns";
import { UNITS_PER_DIFFICULTY, difficultyToUnits, type BlockRecord, type LedgerDelta, type ShareStore } from "../shares";
import { EPOCH_FILE_FORMAT, EPOCH_FILE_VERSION, LEAF_FIELDS, ROUNDING_RULE, epochFileName, shareLogFileName, writeEpochFile, type EpochBlock, type EpochHeader, type EpochLeaves, type EpochParameters, type EpochWindowGap } from "./format";
import { advanceLedgerColumns, sortLedger, type SortedLedger } from "./ledger";
import { SHARE_LOG_HASH } from "./digest";
import { ShareLogWriter } from "./sharelog";
import { rewardInUnits, type EpochAsset } from "./units";

/** The epoch this one builds on (the latest one not revoked), as the store records it. */
export interface PreviousEpochRef {
  number: number;
  root: string;
  dataHash: string;
}

/** Fee and factor that apply to an epoch, and the announcement of a coming change its file carries. */
export interface EpochParams {
  feeBps: number;
  factor: string;
  announce?: EpochParameters;
}

/** What an epoch build needs besides the store. Plain data: it crosses to the build worker as is. */
export interface AssembleJob {
  /** `<dataDir>/epochs`. */
  dir: string;
  number: number;
  /** Confirmed, unpaid blocks in payment order. */
  blocks: BlockRecord[];
  latest: PreviousEpochRef | undefined;
  params: EpochParams;
  feeAddress: string | undefined;
  chain: EpochHeader["chain"];
  /** PayoutPool address (any case). */
  contract: string;
  /**
   * The asset the contract pays in, written into the file. Every amount of the epoch is in its
   * smallest unit: a block's reward = its coinbase satoshis (BlockRecord.reward) × unitsPerSatoshi.
   * Absent: one unit per satoshi, and the file states no asset.
   */
  asset?: EpochAsset;
}

/** A built, unrecorded epoch: its files are written. */
export interface AssembledEpoch {
  header: EpochHeader;
  leaves: EpochLeaves;
  tree: PayoutTree;
  filePath: string;
  shareLogPath: string;
  dataHash: Hex;
  bytes: number;
  reward: bigint;
  /** Ledger rows that changed (delta > 0), in tree order. */
  deltas: LedgerDelta[];
  /** True when the previous epoch's tree was at hand and its unchanged leaves were reused. */
  reusedTree: boolean;
  timings: Record<string, number>;
}

interface BlockWindow {
  block: BlockRecord;
  windowUnits: bigint;
  summary: WindowSummary;
  /** The block's reward in the asset's smallest unit (coinbase satoshis × unitsPerSatoshi). */
  reward: bigint;
  /** Credited units per address (parallel arrays, one entry per address). */
  addresses: string[];
  weights: bigint[];
}

/** Account ids resolved per store call (one call per slice, the caller's loop turning in between). */
const ADDRESS_SLICE = 20_000;

/**
 * The ledger after epoch `number`: from `cached` when it is that epoch's tree (its leaves are
 * reused by the next tree), else the store's current ledger.
 */
export async function previousLedger(store: ShareStore, number: number | undefined, cached: { epoch: number; tree: PayoutTree } | undefined): Promise<{ ledger: SortedLedger; tree?: PayoutTree }> {
  if (number === undefined) return { ledger: { accounts: [], amounts: [] } };
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
  return { ledger: sortLedger(await store.ledger()) };
}

/**
 * Builds the epoch `job` describes over `store`, starting from `previous` (previousLedger()), and
 * writes its share log and epoch file (atomically). Errors: a block whose share or window shares
 * are missing from the store, an account id without an address, a write failure.
 */
export async function assembleEpoch(store: ShareStore, job: AssembleJob, previous: { ledger: SortedLedger; tree?: PayoutTree }): Promise<AssembledEpoch> {
  const timings: Record<string, number> = {};
  const clock = (name: string, start: number) => (timings[name] = (timings[name] ?? 0) + (performance.now() - start));
  const { blocks, number, params, latest } = job;

  let t = performance.now();
  const windows: BlockWindow[] = [];
  const unitsPerSatoshi = job.asset ? BigInt(job.asset.unitsPerSatoshi) : 1n;
  for (const block of blocks) windows.push({ ...(await blockWindow(store, block, params.factor)), reward: rewardInUnits(block.reward, unitsPerSatoshi) });
  clock("pplnsMs", t);

  t = performance.now();
  const feeAddress = job.feeAddress;
  const splits = windows.map((w) => splitRewardColumns({ reward: w.reward, feeBps: params.feeBps, feeAddress, addresses: w.addresses, weights: w.weights }));
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
  const leaves = advanceLedgerColumns(previous.ledger, additions);
  clock("ledgerMs", t);

  t = performance.now();
  const tree = PayoutTree.fromSorted(leaves.accounts, leaves.cumulative, previous.tree);
  clock("treeMs", t);

  t = performance.now();
  const shareLogPath = path.join(job.dir, shareLogFileName(number));
  const log = await writeShareLog(store, shareLogPath, number, windows);
  clock("shareLogMs", t);

  const reward = windows.reduce((s, w) => s + w.reward, 0n);
  const header: EpochHeader = {
    format: EPOCH_FILE_FORMAT,
    version: EPOCH_FILE_VERSION,
    chain: job.chain,
    contract: normalizeAccount(job.contract),
    ...(job.asset ? { asset: { symbol: job.asset.symbol, decimals: job.asset.decimals, unitsPerSatoshi: job.asset.unitsPerSatoshi } } : {}),
    epoch: number,
    previous: latest ? { epoch: latest.number, root: latest.root as Hex, dataHash: latest.dataHash as Hex } : null,
    pplns: { factor: params.factor, unitsPerDifficulty: UNITS_PER_DIFFICULTY.toString(), rounding: ROUNDING_RULE },
    fee: { bps: params.feeBps, address: feeAddress ?? null },
    ...(params.announce ? { parameters: params.announce } : {}),
    blocks: windows.map((w, i) => epochBlock(w, splits[i].fee, log.gaps[i])),
    shareLog: { file: path.basename(shareLogPath), hash: SHARE_LOG_HASH, digest: log.digest, lines: log.lines },
    reward: reward.toString(),
    totalCumulative: tree.total.toString(),
    root: tree.root,
    tree: TREE_OPTIONS,
    leafFields: LEAF_FIELDS,
  };

  return writeAssembledEpoch(job.dir, { number, header, leaves, tree, shareLogPath, reward, reusedTree: previous.tree !== undefined, timings });
}

/**
 * The last step of every scheme's assembly: writes the epoch file (`<dir>/epoch-N.json`, timed as
 * `epochFileMs`) and lists the ledger deltas (accounts whose cumulative amount grew).
 */
export function writeAssembledEpoch(
  dir: string,
  e: { number: number; header: EpochHeader; leaves: EpochLeaves; tree: PayoutTree; shareLogPath: string; reward: bigint; reusedTree: boolean; timings: Record<string, number> },
): AssembledEpoch {
  const t = performance.now();
  const filePath = path.join(dir, epochFileName(e.number));
  const { dataHash, bytes } = writeEpochFile(filePath, e.header, e.leaves);
  e.timings.epochFileMs = (e.timings.epochFileMs ?? 0) + (performance.now() - t);
  const { accounts, delta, cumulative } = e.leaves;
  const deltas: LedgerDelta[] = [];
  for (let i = 0; i < accounts.length; i++) if (delta[i] > 0n) deltas.push({ address: accounts[i], delta: delta[i], cumulative: cumulative[i] });
  return { header: e.header, leaves: e.leaves, tree: e.tree, filePath, shareLogPath: e.shareLogPath, dataHash, bytes, reward: e.reward, deltas, reusedTree: e.reusedTree, timings: e.timings };
}

async function blockWindow(store: ShareStore, block: BlockRecord, factor: string): Promise<Omit<BlockWindow, "reward">> {
  const windowUnits = windowUnitsForBits(block.nbits, factor);
  const acc = new WindowAccumulator(windowUnits);
  outer: for await (const batch of store.weightsNewestFirst(block.shareId)) {
    for (const r of batch) if (!acc.addParts(r.account, r.whole, r.frac, r.id)) break outer;
  }
  const summary = acc.summary();
  if (summary.lastShareId !== block.shareId) throw new Error(`block ${block.hash}: its share ${block.shareId} is not in the store`);
  const { keys, weights } = acc.weightColumns();
  const addresses = new Array<string>(keys.length);
  for (let start = 0; start < keys.length; start += ADDRESS_SLICE) {
    const slice = keys.slice(start, start + ADDRESS_SLICE);
    const names = await store.accountAddresses(slice);
    for (let i = 0; i < slice.length; i++) {
      const address = names.get(slice[i]);
      if (address === undefined) throw new Error(`account ${slice[i]} missing from the store`);
      addresses[start + i] = address;
    }
    if (start + ADDRESS_SLICE < keys.length) await new Promise((r) => setImmediate(r));
  }
  return { block, windowUnits, summary, addresses, weights };
}

async function writeShareLog(store: ShareStore, file: string, epoch: number, windows: BlockWindow[]): Promise<{ digest: Hex; lines: number; gaps: EpochWindowGap[][] }> {
  const writer = new ShareLogWriter(file, { epoch, blocks: windows.length });
  const gaps: EpochWindowGap[][] = [];
  try {
    for (let b = 0; b < windows.length; b++) {
      const { summary } = windows[b];
      const first = summary.firstShareId as number;
      let count = 0;
      let previousId = first - 1;
      const blockGaps: EpochWindowGap[] = [];
      for await (const share of store.sharesInRange(first, summary.lastShareId as number)) {
        // Ids the store never committed (a PostgreSQL sequence value of a rolled-back
        // transaction): listed with the reason, so that an auditor can tell them from a dropped share.
        if (share.id > previousId + 1) blockGaps.push({ from: previousId + 1, to: share.id - 1, reason: GAP_REASON[store.kind] });
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

/**
 * Why a window's ids skip, disclosed as the store knows it: a PostgreSQL sequence hands out ids
 * to transactions that may roll back; SQLite's ids never skip, so there shares were deleted.
 */
const GAP_REASON = {
  postgres: "ids taken from the PostgreSQL sequence by transactions that never committed",
  sqlite: "not in the SQLite store, whose ids never skip: these shares were deleted",
} as const;

function epochBlock(w: BlockWindow, fee: bigint, gaps: EpochWindowGap[] = []): EpochBlock {
  const s = w.summary;
  return {
    height: w.block.height,
    hash: w.block.hash,
    reward: w.reward.toString(),
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
