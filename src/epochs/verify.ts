/**
 * What an auditor checks, as pure functions over a parsed epoch file and its share log entries:
 * the tree (order, root, total), continuity with the previous epoch (no cumulative amount ever
 * decreases, each grows by exactly its delta), and every allocation recomputed from the shares.
 * Each returns findings (empty = passed); the first differing leaf is always named.
 */
import { PayoutTree } from "../merkle";
import { WindowAccumulator, checkSplitAddress, parseFactor, splitRewardColumns, windowUnitsForBits } from "../pplns";
import { UNITS_PER_DIFFICULTY, unitsToParts } from "../shares/difficulty";
import { CommitmentReader } from "./sharecheck";
import type { EpochFile } from "./format";
import type { ShareLogEntry } from "./sharelog";
import { AddressKeys, type AddressKeysView } from "./addresskeys";
import { WindowColumns } from "./windowcolumns";

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Stop listing after this many findings of one kind (the first ones are what matters). */
const MAX_FINDINGS = 20;

/** Rebuilds the tree from the leaves: order, root and total must match the file. */
export function verifyTree(file: EpochFile): { findings: string[]; tree?: PayoutTree } {
  const findings: string[] = [];
  const { accounts, cumulative, delta } = file.leaves;
  if (accounts.length === 0) return { findings: ["the epoch file has no leaves"] };
  for (let i = 1; i < accounts.length; i++) {
    if (!(accounts[i - 1] < accounts[i])) return { findings: [`leaves not in strictly ascending account order at leaf ${i} (${accounts[i]})`] };
  }
  for (let i = 0; i < accounts.length; i++) {
    if (delta[i] > cumulative[i]) {
      findings.push(`leaf ${i} (${accounts[i]}): delta ${delta[i]} exceeds cumulative ${cumulative[i]}`);
      if (findings.length >= MAX_FINDINGS) break;
    }
  }
  const tree = PayoutTree.fromSorted(accounts, cumulative);
  if (tree.root !== file.root.toLowerCase()) findings.push(`root mismatch: the leaves give ${tree.root}, the file says ${file.root}`);
  if (tree.total.toString() !== file.totalCumulative) findings.push(`totalCumulative mismatch: the leaves sum to ${tree.total}, the file says ${file.totalCumulative}`);
  const deltas = delta.reduce((s, d) => s + d, 0n);
  if (deltas.toString() !== file.reward) findings.push(`the deltas sum to ${deltas}, the epoch reward is ${file.reward}`);
  // A PPS/FPPS epoch pays shares, not blocks: its reward is the sum of its credits (src/schemes/audit.ts recomputes them).
  const rewards = file.blocks.reduce((s, b) => s + BigInt(b.reward), 0n);
  if (!file.scheme && rewards.toString() !== file.reward) findings.push(`the blocks' rewards sum to ${rewards}, the file says ${file.reward}`);
  return { findings, tree };
}

/**
 * Against the previous epoch's file: it is the one this epoch names, every account in it is still
 * here, and each cumulative amount equals the previous one plus this epoch's delta (so it never
 * decreases); accounts new in this epoch start at their delta.
 */
export function verifyContinuity(file: EpochFile, previous: { file: EpochFile; dataHash: string } | null): string[] {
  const findings: string[] = [];
  const add = (m: string) => findings.length < MAX_FINDINGS && findings.push(m);
  if (previous === null) {
    if (file.previous !== null) add(`the file builds on epoch ${file.previous.epoch}, but no previous epoch file was given`);
    const { accounts, cumulative, delta } = file.leaves;
    for (let i = 0; i < accounts.length; i++) if (cumulative[i] !== delta[i]) add(`leaf ${i} (${accounts[i]}): first epoch, but cumulative ${cumulative[i]} != delta ${delta[i]}`);
    return findings;
  }
  const p = previous.file;
  if (file.previous === null) add(`the file names no previous epoch, but epoch ${p.epoch} was given`);
  else {
    if (file.previous.epoch !== p.epoch || file.epoch !== p.epoch + 1) add(`epoch ${file.epoch} names previous epoch ${file.previous.epoch}; given epoch ${p.epoch}`);
    if (file.previous.root.toLowerCase() !== p.root.toLowerCase()) add(`previous root ${file.previous.root} differs from epoch ${p.epoch}'s root ${p.root}`);
    if (file.previous.dataHash.toLowerCase() !== previous.dataHash.toLowerCase()) add(`previous dataHash ${file.previous.dataHash} differs from the previous file's keccak256 ${previous.dataHash}`);
  }
  const prev = p.leaves;
  const cur = file.leaves;
  let i = 0;
  for (let k = 0; k < cur.accounts.length; k++) {
    const a = cur.accounts[k];
    while (i < prev.accounts.length && prev.accounts[i] < a) {
      add(`account ${prev.accounts[i]} (cumulative ${prev.cumulative[i]} in epoch ${p.epoch}) is missing from epoch ${file.epoch}`);
      i++;
    }
    const before = i < prev.accounts.length && prev.accounts[i] === a ? prev.cumulative[i++] : 0n;
    if (cur.cumulative[k] < before) add(`leaf ${k} (${a}): cumulative decreased from ${before} to ${cur.cumulative[k]}`);
    else if (cur.cumulative[k] !== before + cur.delta[k]) add(`leaf ${k} (${a}): cumulative ${cur.cumulative[k]} != previous ${before} + delta ${cur.delta[k]}`);
  }
  for (; i < prev.accounts.length; i++) add(`account ${prev.accounts[i]} (cumulative ${prev.cumulative[i]} in epoch ${p.epoch}) is missing from epoch ${file.epoch}`);
  return findings;
}

/**
 * Where the newest share of the window being collected comes from when it was added by
 * `addPlain`: read back only when its block closes (only the newest share of each block is).
 */
export interface PlainShareSource {
  weighedAt(i: number): WeighedShare;
}

/**
 * A share log entry as the allocation recomputation needs it, with the weight its coinbase
 * commits to already read (`weighShare`): so the per-share parsing can run on worker threads and
 * only this small record reaches the (sequential) window.
 */
export interface WeighedShare {
  block: number;
  id: number;
  address: string;
  credited: bigint;
  hash: string;
  isBlock: boolean;
  nbits: string;
  /** The committed difficulty as (whole, fraction × 10^12); meaningless when `problem` is set. */
  whole: number;
  frac: number;
  /** Why the share carries no weight (no commitment, or an unusable one). */
  problem?: string;
  /** The logged difficulty differs from the committed one (the share still counts, at the committed one). */
  mismatch?: string;
}

/** Reads the weight a share's coinbase commits to (never the log's difficulty field). */
export function weighShare(e: ShareLogEntry, commitments: CommitmentReader): WeighedShare {
  const w: WeighedShare = { block: e.block, id: e.id, address: e.address, credited: e.credited, hash: e.hash, isBlock: e.isBlock, nbits: e.nbits, whole: 0, frac: 0 };
  const committed = commitments.read(e.coinb1);
  if (typeof committed === "string") {
    w.problem = `${committed}: it carries no weight`;
    return w;
  }
  if (e.difficulty !== committed.difficulty) w.mismatch = `credited difficulty ${e.difficulty} differs from the difficulty ${committed.difficulty} its coinbase commits to`;
  try {
    const parts = unitsToParts(committed.units);
    w.whole = parts.whole;
    w.frac = parts.frac;
  } catch (err) {
    w.problem = (err as Error).message;
  }
  return w;
}

/**
 * Recomputes every block's window and allocation from the share log, entry by entry (entries in
 * file order). Holds one block's window at a time as columns of numbers.
 */
export class AllocationRecomputer {
  readonly findings: string[] = [];
  /** The recomputed amount per key (keys' addresses: `keys.addresses`), summed over the blocks; only amounts > 0. */
  private readonly amounts: bigint[] = [];
  private readonly keys: AddressKeys;
  /** Key i is leaf i's account for every leaf (distinct leaves): allocations compare with the leaves by key. */
  private readonly leafKeyed: boolean;
  private current = -1;
  private cols: WindowColumns;
  /** The newest share of `cols`: itself, or where addPlain can read it back. */
  private last?: WeighedShare;
  private lastSource?: PlainShareSource;
  private lastIndex = 0;
  /** Shares a window may be presized for (an upper bound from the log's size; the file's own counts are the operator's). */
  private capacityBound = 1 << 16;
  private readonly seen = new Set<number>();
  private readonly commitments = new CommitmentReader();
  entries = 0;

  /**
   * `expectedAccounts`: about how many distinct addresses the log credits (sizes the key table).
   * The leaves' accounts are keyed first, in leaf order; `shared`: in tables that `keysView()`
   * hands to worker threads (src/audit/parallel.ts), which then key the shares' addresses.
   */
  constructor(
    private readonly file: EpochFile,
    expectedAccounts = 1024,
    shared = false,
  ) {
    const accounts = file.leaves.accounts;
    this.keys = new AddressKeys(Math.max(expectedAccounts, accounts.length), shared);
    let leafKeyed = true;
    for (let i = 0; i < accounts.length; i++) if (this.keys.keyOf(accounts[i]) !== i) leafKeyed = false;
    this.leafKeyed = leafKeyed;
    this.cols = new WindowColumns(16);
    parseFactor(file.pplns.factor);
    if (file.pplns.unitsPerDifficulty !== UNITS_PER_DIFFICULTY.toString()) {
      this.finding(`the file uses ${file.pplns.unitsPerDifficulty} units per difficulty, this auditor ${UNITS_PER_DIFFICULTY}`);
    }
  }

  /** The address keys for AddressKeyLookup on worker threads (null unless constructed `shared`). */
  keysView(): AddressKeysView | null {
    return this.keys.view();
  }

  private finding(m: string): void {
    if (this.findings.length < MAX_FINDINGS) this.findings.push(m);
  }

  add(e: ShareLogEntry): void {
    this.addWeighed(weighShare(e, this.commitments));
  }

  /**
   * Lets each window's columns be allocated at once for the shares the file says it holds, up to
   * `maxShares` (a bound the caller takes from the share log's size, never the file's counts).
   */
  presize(maxShares: number): void {
    this.capacityBound = Math.max(16, Math.floor(maxShares));
  }

  /** Adds a share already weighed by `weighShare` (possibly on another thread). */
  addWeighed(e: WeighedShare): void {
    this.entries++;
    if (e.block !== this.current && !this.enterBlock(e.block, e.id)) return;
    if (!this.inOrder(e.block, e.id)) return;
    // The weight is the difficulty the share's coinbase commits to, never the log's field.
    if (e.mismatch !== undefined) this.finding(`share ${e.id}: ${e.mismatch}`);
    if (e.problem !== undefined) {
      this.finding(`share ${e.id}: ${e.problem}`);
      return;
    }
    this.cols.push(e.id, this.keys.keyOf(e.address), e.whole, e.frac, e.credited <= MAX_EXACT ? Number(e.credited) : e.credited);
    this.last = e;
    this.lastSource = undefined;
  }

  /**
   * addWeighed for a share with no problem and no mismatch, from columns: its canonical address
   * as 20 bytes at `address[offset]`, its credited units as an exact number. `source.weighedAt(i)`
   * gives the whole share back if it turns out to be the newest of its window. `key`: the
   * address's key when a worker already looked it up (AddressKeyLookup over `keysView()`), else -1.
   */
  addPlain(block: number, id: number, address: Uint8Array, offset: number, whole: number, frac: number, credited: number, source: PlainShareSource, i: number, key = -1): void {
    this.entries++;
    if (block !== this.current && !this.enterBlock(block, id)) return;
    if (!this.inOrder(block, id)) return;
    this.cols.push(id, key >= 0 ? key : this.keys.keyOfBytes(address, offset), whole, frac, credited);
    this.last = undefined;
    this.lastSource = source;
    this.lastIndex = i;
  }

  /** Shares must come in ascending ids within a window; false (with a finding) when this one does not. */
  private inOrder(block: number, id: number): boolean {
    const lastId = this.cols.lastId;
    if (this.cols.length > 0 && id <= lastId) {
      this.finding(id === lastId ? `block ${block}: share ${id} is listed twice in the window (one header, one credit)` : `block ${block}: share ids not ascending at ${id}`);
      return false; // not counted: the window is recomputed from the lines in order
    }
    return true;
  }

  private enterBlock(block: number, id: number): boolean {
    if (block < this.current || block >= this.file.blocks.length) {
      this.finding(`share log line for share ${id}: block index ${block} out of order or out of range`);
      return false;
    }
    this.closeBlock();
    this.current = block;
    const stated = Number(this.file.blocks[block].window.shareCount);
    this.cols = new WindowColumns(Number.isSafeInteger(stated) && stated > 0 ? Math.min(stated, this.capacityBound) : 16);
    return true;
  }

  private closeBlock(): void {
    if (this.current < 0) return;
    const b = this.current;
    this.seen.add(b);
    const block = this.file.blocks[b];
    const c = this.cols;
    this.cols = new WindowColumns(16);
    const n = c.length;
    const last = this.lastSource ? this.lastSource.weighedAt(this.lastIndex) : this.last;
    this.last = undefined;
    this.lastSource = undefined;
    if (n === 0 || last === undefined) {
      this.finding(`block ${b} (${block.hash}): no valid shares in the log`);
      return;
    }
    if (last.id !== block.shareId) this.finding(`block ${b} (${block.hash}): its window ends at share ${last.id}, the block's share is ${block.shareId}`);
    if (last.hash !== block.hash || !last.isBlock) this.finding(`block ${b}: the window's newest share ${last.id} is not the block ${block.hash} (hash ${last.hash})`);
    if (last.nbits !== block.nbits) this.finding(`block ${b}: nbits ${block.nbits} differs from the block share's ${last.nbits}`);

    let windowUnits: bigint;
    try {
      windowUnits = windowUnitsForBits(block.nbits, this.file.pplns.factor);
    } catch (err) {
      this.finding(`block ${b}: ${(err as Error).message}`);
      return;
    }
    if (windowUnits.toString() !== block.window.units) this.finding(`block ${b}: N should be ${windowUnits} (factor ${this.file.pplns.factor}, nbits ${block.nbits}), the file says ${block.window.units}`);

    const acc = new WindowAccumulator(windowUnits);
    for (let i = n - 1; i >= 0; i--) {
      if (!acc.open) {
        this.finding(`block ${b}: the window is full at share ${c.ids[i + 1]}, but the log lists ${i + 1} older share(s) (from ${c.ids[0]})`);
        break;
      }
      const whole = c.wholeAt(i);
      acc.addParts(c.keys[i], whole, c.fracAt(i, whole), c.ids[i]);
      // Every share but the oldest is credited its full units (the columns note any that is not).
      if (i === 0) {
        const expected = acc.summary().firstShareCredit;
        if (c.creditedAt(0) !== expected) this.finding(`block ${b}: share ${c.ids[0]} credited ${c.creditedAt(0)}, should be ${expected}`);
      } else if (c.creditDiffers(i)) this.finding(`block ${b}: share ${c.ids[i]} credited ${c.creditedAt(i)}, should be ${c.unitsAt(i)}`);
    }
    const s = acc.summary();
    const w = block.window;
    if (s.complete !== w.complete) this.finding(`block ${b}: the window is ${s.complete ? "" : "not "}complete by the log, the file says complete=${w.complete}`);
    if (!s.complete && c.ids[0] !== 1) this.finding(`block ${b}: the window is shorter than N but does not start at the first share (id 1): starts at ${c.ids[0]}`);
    if (s.firstShareId !== w.firstShareId || s.lastShareId !== w.lastShareId || s.shareCount !== w.shareCount) {
      this.finding(`block ${b}: window shares ${s.firstShareId}..${s.lastShareId} (${s.shareCount}) by the log, ${w.firstShareId}..${w.lastShareId} (${w.shareCount}) in the file`);
    }
    if (s.coveredUnits.toString() !== w.coveredUnits || s.firstShareCredit.toString() !== w.firstShareCredit) {
      this.finding(`block ${b}: covered ${s.coveredUnits} / first credit ${s.firstShareCredit} by the log, ${w.coveredUnits} / ${w.firstShareCredit} in the file`);
    }
    const { keys, weights } = acc.weightColumns();
    const addresses = keys.map((k) => this.keys.addresses[k]);
    let split;
    try {
      // splitReward's checks; the addresses are distinct (one key each) and the weights positive.
      for (const a of addresses) checkSplitAddress(a);
      split = splitRewardColumns({ reward: BigInt(block.reward), feeBps: this.file.fee.bps, feeAddress: this.file.fee.address ?? undefined, addresses, weights });
    } catch (err) {
      this.finding(`block ${b}: ${(err as Error).message}`);
      return;
    }
    if (split.fee.toString() !== block.fee) this.finding(`block ${b}: fee should be ${split.fee}, the file says ${block.fee}`);
    const amounts = this.amounts;
    const feeAddress = this.file.fee.address ?? undefined;
    if (feeAddress !== undefined && split.fee > 0n) {
      const k = this.keys.keyOf(feeAddress);
      amounts[k] = (amounts[k] ?? 0n) + split.fee;
    }
    for (let i = 0; i < keys.length; i++) {
      const v = split.amounts[i];
      if (v > 0n) amounts[keys[i]] = (amounts[keys[i]] ?? 0n) + v;
    }
  }

  /** Ends the log (the last window closes). */
  finish(): void {
    this.closeBlock();
    this.current = Number.MAX_SAFE_INTEGER;
    for (let b = 0; b < this.file.blocks.length; b++) if (!this.seen.has(b)) this.finding(`block ${b} (${this.file.blocks[b].hash}) has no shares in the log`);
    if (this.entries !== this.file.shareLog.lines) this.finding(`the share log has ${this.entries} share lines, the file says ${this.file.shareLog.lines}`);
  }

  /** The recomputed allocation per address over all blocks (after `finish`); only amounts > 0. */
  allocations(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    this.amounts.forEach((v, k) => {
      if (v > 0n) out.set(this.keys.addresses[k], v);
    });
    return out;
  }

  /**
   * compareAllocations(file, allocations()) — the same findings — by key when key i is leaf i's
   * account (no map of a million accounts), through compareAllocations otherwise.
   */
  compare(): string[] {
    if (!this.leafKeyed) return compareAllocations(this.file, this.allocations());
    const findings: string[] = [];
    const { accounts, delta } = this.file.leaves;
    const amounts = this.amounts;
    let differing = 0;
    for (let i = 0; i < accounts.length; i++) {
      const expected = amounts[i] ?? 0n;
      if (delta[i] !== expected) {
        differing++;
        if (differing === 1) findings.push(`first differing leaf: leaf ${i} (${accounts[i]}) has delta ${delta[i]}, the share log gives ${expected}`);
      }
    }
    if (differing > 1) findings.push(`${differing} leaves differ in all`);
    for (let k = accounts.length; k < amounts.length; k++) {
      const v = amounts[k];
      if (v !== undefined && v > 0n) {
        findings.push(`account ${this.keys.addresses[k]} is allocated ${v} by the share log but has no leaf`);
        break;
      }
    }
    return findings;
  }
}

/** Compares recomputed allocations with the leaves' deltas; names the first differing leaf. */
export function compareAllocations(file: EpochFile, allocations: Map<string, bigint>): string[] {
  const findings: string[] = [];
  const { accounts, delta } = file.leaves;
  let differing = 0;
  // Leaves in strictly ascending order (verifyTree's rule) are distinct: then counting the
  // allocations they match tells whether any is left over, with no set of a million accounts.
  let ascending = true;
  let matched = 0;
  for (let i = 0; i < accounts.length; i++) {
    if (i > 0 && !(accounts[i - 1] < accounts[i])) ascending = false;
    const got = allocations.get(accounts[i]);
    if (got !== undefined && got > 0n) matched++;
    const expected = got ?? 0n;
    if (delta[i] !== expected) {
      differing++;
      if (differing === 1) findings.push(`first differing leaf: leaf ${i} (${accounts[i]}) has delta ${delta[i]}, the share log gives ${expected}`);
    }
  }
  if (differing > 1) findings.push(`${differing} leaves differ in all`);
  let positive = 0;
  for (const v of allocations.values()) if (v > 0n) positive++;
  if (!ascending || positive > matched) {
    const listed = ascending ? undefined : new Set(accounts);
    for (const [a, v] of allocations) {
      if (v > 0n && !(listed ? listed.has(a) : sortedHas(accounts, a))) {
        findings.push(`account ${a} is allocated ${v} by the share log but has no leaf`);
        break;
      }
    }
  }
  return findings;
}

/** Binary search in strictly ascending strings. */
function sortedHas(sorted: readonly string[], x: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] === x) return true;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
