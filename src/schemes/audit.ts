/**
 * The auditor's recomputation of a PPS/FPPS epoch (fs-free; EpochAudit feeds it the share-log
 * lines it already checked). Every credit is recomputed from
 *  - the share's committed difficulty (its coinbase, read by `weighShare`; never the log's field),
 *  - the height it mines as the proof-of-work chain places it (the chain's block it builds on + 1),
 *  - the chain's bits at that height (the chain's block there, or the tip's for a share on the tip),
 *  - the chain's subsidy schedule (`PowChainView.subsidySchedule`) and, for FPPS, the chain's
 *    per-block fees (`PowChainView.blockFees`: bitcoind's getblockstats totalfee, or on the
 *    embedded chain the published coinbase's output total − subsidy, the coinbase checked against
 *    the header's merkle root by PublishedHeaderChain),
 * never from a figure the operator wrote; then summed per address and compared with the leaves'
 * deltas. Also: the shares follow on from the previous epoch's with no id skipped (unless listed as
 * a gap), each listed once, ascending, and the file's share range and count are the log's.
 */
import type { EpochFile } from "../epochs/format";
import { compareAllocations, type WeighedShare } from "../epochs/verify";
import { partsToUnits } from "../shares/difficulty";
import type { PowChainView } from "../audit/powchain";
import { FeeWindows } from "./fees";
import { FEE_WINDOW_BLOCKS, SCHEME_ROUNDING_RULE, shareCredit, subsidyAt, type SubsidySchedule } from "./credit";

const MAX_FINDINGS = 20;

/** The newest share id an epoch file credited (PPS/FPPS: scheme.lastShareId; PPLNS: its newest block share). */
export function lastCreditedShareId(file: Pick<EpochFile, "scheme" | "blocks">): number {
  if (file.scheme) return file.scheme.lastShareId;
  return file.blocks.reduce((m, b) => Math.max(m, b.shareId), 0);
}

/** The share ids a file's log spans: [first, last] (PPLNS: over its windows). */
export function shareIdSpan(file: Pick<EpochFile, "scheme" | "blocks">): { first: number; last: number } {
  if (file.scheme) return { first: file.scheme.firstShareId, last: file.scheme.lastShareId };
  return { first: Math.min(...file.blocks.map((b) => b.window.firstShareId)), last: Math.max(...file.blocks.map((b) => b.window.lastShareId)) };
}

export class SchemeRecomputer {
  readonly findings: string[] = [];
  private count = 0;
  private readonly ids: number[] = [];
  private readonly keys: number[] = [];
  private readonly units: bigint[] = [];
  private readonly heights: number[] = [];
  private readonly addresses: string[] = [];
  private readonly keyOf = new Map<string, number>();
  private lastId: number;
  private readonly observedGaps: { from: number; to: number }[] = [];
  private lines = 0;

  constructor(
    private readonly file: EpochFile,
    previous: EpochFile | null,
    /** The audit reads a chain (without one, finish() says the credits were not recomputed, once). */
    private readonly chained = true,
  ) {
    const s = file.scheme!;
    if (s.rounding !== SCHEME_ROUNDING_RULE) this.finding(`the file states the rounding rule "${s.rounding}", this auditor applies "${SCHEME_ROUNDING_RULE}"`);
    if (s.name === "fpps" && s.feeBlocks !== FEE_WINDOW_BLOCKS) this.finding(`FPPS averages the fees of ${FEE_WINDOW_BLOCKS} blocks, the file says ${s.feeBlocks}`);
    const expectedFirst = previous ? lastCreditedShareId(previous) + 1 : 1;
    if (previous || file.previous === null) {
      if (s.firstShareId !== expectedFirst) {
        this.finding(
          s.firstShareId > expectedFirst
            ? `the epoch starts at share ${s.firstShareId}, but epoch ${previous?.epoch ?? "(none)"} credited shares up to ${expectedFirst - 1}: shares ${expectedFirst}..${s.firstShareId - 1} are never paid`
            : `the epoch starts at share ${s.firstShareId}, but epoch ${previous?.epoch} already credited shares up to ${expectedFirst - 1}: shares paid twice`,
        );
      }
    }
    this.lastId = s.firstShareId - 1;
  }

  private finding(m: string): void {
    if (++this.count <= MAX_FINDINGS) this.findings.push(m);
  }

  /** One share line (in log order), weighed from its coinbase; `height` the height the chain places it at (undefined: not in the chain). */
  add(w: WeighedShare, height: number | undefined): void {
    this.lines++;
    if (w.block !== 0) this.finding(`share ${w.id}: block index ${w.block} in a ${this.file.scheme!.name} epoch (its lines are all block 0)`);
    if (w.id <= this.lastId) {
      this.finding(w.id === this.lastId ? `share ${w.id} is listed twice (one share, one credit)` : `share ids not ascending at ${w.id}`);
      return;
    }
    if (w.id > this.lastId + 1) this.observedGaps.push({ from: this.lastId + 1, to: w.id - 1 });
    this.lastId = w.id;
    if (w.mismatch !== undefined) this.finding(`share ${w.id}: ${w.mismatch}`);
    if (w.problem !== undefined) {
      this.finding(`share ${w.id}: ${w.problem}`);
      return;
    }
    const units = partsToUnits(w.whole, w.frac);
    if (w.credited !== units) this.finding(`share ${w.id}: credited ${w.credited} units, its coinbase commits to ${units}`);
    if (height === undefined) {
      if (this.chained) this.finding(`share ${w.id}: the chain does not place it (its previous block is not in the chain): no credit`);
      return;
    }
    let key = this.keyOf.get(w.address);
    if (key === undefined) {
      key = this.addresses.length;
      this.keyOf.set(w.address, key);
      this.addresses.push(w.address);
    }
    this.ids.push(w.id);
    this.keys.push(key);
    this.units.push(units);
    this.heights.push(height);
  }

  /**
   * After the last line: recomputes every credit against `chain` and compares with the leaves.
   * `chainProblem`: the chain could not be read for the lines (the credits are then not recomputed).
   */
  async finish(chain: PowChainView | undefined, chainProblem?: string): Promise<string[]> {
    const file = this.file;
    const s = file.scheme!;
    if (this.lines !== file.shareLog.lines) this.finding(`the share log has ${this.lines} share lines, the file says ${file.shareLog.lines}`);
    if (this.lines !== s.shareCount) this.finding(`the share log has ${this.lines} shares, scheme.shareCount says ${s.shareCount}`);
    if (this.lastId !== s.lastShareId) this.finding(`the share log ends at share ${this.lastId}, scheme.lastShareId says ${s.lastShareId}`);
    const listed = s.gaps ?? [];
    for (const g of this.observedGaps) {
      if (!listed.some((l) => l.from === g.from && l.to === g.to)) this.finding(`share id${g.to > g.from ? `s ${g.from}..${g.to}` : ` ${g.from}`} missing from the epoch and not listed as a gap: dropped, never paid`);
    }
    for (const l of listed) if (!this.observedGaps.some((g) => g.from === l.from && g.to === l.to)) this.finding(`the file lists a gap ${l.from}..${l.to} that the share log does not have`);

    if (!chain) {
      this.finding("credits not recomputed: no proof-of-work chain to read each share's difficulty, subsidy and fees from (pass --headers or --bitcoind)");
      return this.findings;
    }
    if (chainProblem !== undefined) {
      this.finding(`credits not recomputed: the chain could not be read (${chainProblem})`);
      return this.findings;
    }
    let schedule: SubsidySchedule;
    try {
      if (!chain.subsidySchedule) throw new Error(`${chain.source} does not give the chain's subsidy schedule`);
      schedule = await chain.subsidySchedule();
    } catch (err) {
      this.finding(`credits not recomputed: ${(err as Error).message}`);
      return this.findings;
    }
    if (schedule.initial !== s.subsidy.initial || schedule.halvingInterval !== s.subsidy.halvingInterval) {
      this.finding(`the file's subsidy schedule (${s.subsidy.initial} sat halved every ${s.subsidy.halvingInterval} blocks) is not the chain's (${schedule.initial} every ${schedule.halvingInterval})`);
    }
    let fees: FeeWindows | undefined;
    if (s.name === "fpps") {
      if (!chain.blockFees) {
        this.finding(`credits not recomputed: ${chain.source} gives no per-block fees (an FPPS audit needs --bitcoind, whose getblockstats gives them, or a published header chain that carries each block's coinbase)`);
        return this.findings;
      }
      fees = new FeeWindows((h) => chain.blockFees!(h));
    }
    const ups = file.asset ? BigInt(file.asset.unitsPerSatoshi) : 1n;
    const bitsAt = new Map<number, Promise<string>>();
    const bits = (h: number): Promise<string> => {
      let p = bitsAt.get(h);
      if (!p) {
        p = (async () => {
          const at = await chain.atHeight(h);
          if (at) return at.bits;
          const prev = await chain.atHeight(h - 1);
          if (!prev) throw new Error(`the chain has no block at height ${h - 1}`);
          return prev.bits; // a share on the tip: the next block's bits are the tip's (as src/audit/chaincheck.ts)
        })();
        bitsAt.set(h, p);
      }
      return p;
    };
    const allocations = new Map<string, bigint>();
    try {
      for (let i = 0; i < this.ids.length; i++) {
        const h = this.heights[i];
        const credit = shareCredit({
          units: this.units[i],
          nbits: await bits(h),
          subsidy: subsidyAt(h, schedule),
          feeBps: file.fee.bps,
          unitsPerSatoshi: ups,
          ...(fees ? { fees: await fees.at(h) } : {}),
        });
        const a = this.addresses[this.keys[i]];
        if (credit > 0n) allocations.set(a, (allocations.get(a) ?? 0n) + credit);
      }
    } catch (err) {
      this.finding(`credits not recomputed: ${chain.source}: ${(err as Error).message}`);
      return this.findings;
    }
    let total = 0n;
    for (const v of allocations.values()) total += v;
    if (total.toString() !== file.reward) this.finding(`the credits recomputed from the shares and the chain sum to ${total}, the file's reward is ${file.reward}`);
    for (const f of compareAllocations(file, allocations)) this.finding(f.replace("the share log gives", "the shares and the chain give"));
    if (this.count > MAX_FINDINGS) this.findings.push(`${this.count} findings in all`);
    return this.findings;
  }
}
