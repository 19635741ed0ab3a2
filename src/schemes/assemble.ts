/**
 * The body of a PPS or FPPS epoch build (the scheduled epoch): every accepted share with ids
 * `fromShareId..toShareId` is credited its expected value (credit.ts), the cumulative ledger
 * advances by the credits, the payout tree is built over the whole ledger, and the share log and
 * the epoch file are written (atomically). Nothing is recorded here: the caller records the epoch
 * in one store transaction, as for PPLNS (src/epochs/assemble.ts).
 *
 * Inputs: the share's committed difficulty (its `difficulty`, which the Stratum server wrote into
 * its coinbase; the auditor reads the coinbase), its height and nbits (the job's, i.e. the chain's
 * at that height; the auditor reads the chain), the subsidy schedule of the chain, and for FPPS the
 * per-block fees of the chain (`blockFees`: the embedded chain's coinbase value − subsidy, or
 * bitcoind's `getblockstats` totalfee). Deterministic: the same store state gives the same bytes.
 */
import path from "node:path";
import type { Hex } from "viem";
import { PayoutTree, TREE_OPTIONS, normalizeAccount } from "../merkle";
import { UNITS_PER_DIFFICULTY, difficultyToUnits, type ShareStore } from "../shares";
import { writeAssembledEpoch, type AssembledEpoch, type AssembleJob } from "../epochs/assemble";
import { SHARE_LOG_HASH } from "../epochs/digest";
import { EPOCH_FILE_FORMAT, EPOCH_FILE_VERSION, LEAF_FIELDS, ROUNDING_RULE, shareLogFileName, type EpochHeader, type EpochWindowGap } from "../epochs/format";
import { advanceLedgerColumns, type SortedLedger } from "../epochs/ledger";
import { ShareLogWriter } from "../epochs/sharelog";
import { FEE_WINDOW_BLOCKS, SCHEME_ROUNDING_RULE, shareCredit, subsidyAt, type PerShareScheme, type SubsidySchedule } from "./credit";
import type { FeeWindows } from "./fees";

export interface SchemeJob extends Omit<AssembleJob, "blocks"> {
  scheme: PerShareScheme;
  fromShareId: number;
  toShareId: number;
  subsidy: SubsidySchedule;
}

/**
 * Builds the scheduled epoch `job` describes from `previous` (the ledger after the latest epoch)
 * and writes its share log and epoch file. `fees` is required for FPPS. Errors: a share missing
 * a committed difficulty, a fee the chain cannot give, a write failure.
 */
export async function assembleSchemeEpoch(store: ShareStore, job: SchemeJob, previous: { ledger: SortedLedger; tree?: PayoutTree }, fees?: FeeWindows): Promise<AssembledEpoch> {
  const timings: Record<string, number> = {};
  const { number, params, latest } = job;
  if (job.scheme === "fpps" && !fees) throw new Error("an FPPS epoch needs the chain's per-block fees");
  const unitsPerSatoshi = job.asset ? BigInt(job.asset.unitsPerSatoshi) : 1n;

  let t = performance.now();
  const shareLogPath = path.join(job.dir, shareLogFileName(number));
  const writer = new ShareLogWriter(shareLogPath, { epoch: number, blocks: 0 });
  const credits = new Map<string, bigint>();
  const gaps: EpochWindowGap[] = [];
  let count = 0;
  let previousId = job.fromShareId - 1;
  let log: { digest: Hex; lines: number };
  try {
    for await (const share of store.sharesInRange(job.fromShareId, job.toShareId)) {
      if (share.id > previousId + 1) gaps.push({ from: previousId + 1, to: share.id - 1, reason: GAP_REASON[store.kind] });
      previousId = share.id;
      const units = difficultyToUnits(share.difficulty);
      const credit = shareCredit({
        units,
        nbits: share.nbits,
        subsidy: subsidyAt(share.height, job.subsidy),
        feeBps: params.feeBps,
        unitsPerSatoshi,
        ...(job.scheme === "fpps" ? { fees: await fees!.at(share.height) } : {}),
      });
      const account = normalizeAccount(share.address);
      if (credit > 0n) credits.set(account, (credits.get(account) ?? 0n) + credit);
      writer.write({ ...share, block: 0, credited: units });
      count++;
    }
    if (count === 0) throw new Error(`epoch ${number}: no shares in ${job.fromShareId}..${job.toShareId}`);
    log = writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
  timings.sharesMs = performance.now() - t;

  t = performance.now();
  const leaves = advanceLedgerColumns(previous.ledger, { accounts: [...credits.keys()], amounts: [...credits.values()] });
  const tree = PayoutTree.fromSorted(leaves.accounts, leaves.cumulative, previous.tree);
  timings.treeMs = performance.now() - t;

  let reward = 0n;
  for (const v of credits.values()) reward += v;
  const header: EpochHeader = {
    format: EPOCH_FILE_FORMAT,
    version: EPOCH_FILE_VERSION,
    chain: job.chain,
    contract: normalizeAccount(job.contract),
    ...(job.asset ? { asset: { symbol: job.asset.symbol, decimals: job.asset.decimals, unitsPerSatoshi: job.asset.unitsPerSatoshi } } : {}),
    epoch: number,
    previous: latest ? { epoch: latest.number, root: latest.root as Hex, dataHash: latest.dataHash as Hex } : null,
    pplns: { factor: params.factor, unitsPerDifficulty: UNITS_PER_DIFFICULTY.toString(), rounding: ROUNDING_RULE },
    fee: { bps: params.feeBps, address: job.feeAddress ?? null },
    ...(params.announce ? { parameters: params.announce } : {}),
    scheme: {
      name: job.scheme,
      rounding: SCHEME_ROUNDING_RULE,
      subsidy: { initial: job.subsidy.initial, halvingInterval: job.subsidy.halvingInterval },
      ...(job.scheme === "fpps" ? { feeBlocks: FEE_WINDOW_BLOCKS } : {}),
      firstShareId: job.fromShareId,
      lastShareId: previousId,
      shareCount: count,
      ...(gaps.length > 0 ? { gaps } : {}),
    },
    blocks: [],
    shareLog: { file: path.basename(shareLogPath), hash: SHARE_LOG_HASH, digest: log.digest, lines: log.lines },
    reward: reward.toString(),
    totalCumulative: tree.total.toString(),
    root: tree.root,
    tree: TREE_OPTIONS,
    leafFields: LEAF_FIELDS,
  };

  return writeAssembledEpoch(job.dir, { number, header, leaves, tree, shareLogPath, reward, reusedTree: previous.tree !== undefined, timings });
}

/** Why ids skip inside a scheduled epoch (as src/epochs/assemble.ts says for PPLNS windows). */
const GAP_REASON = {
  postgres: "ids taken from the PostgreSQL sequence by transactions that never committed",
  sqlite: "not in the SQLite store, whose ids never skip: these shares were deleted",
} as const;
