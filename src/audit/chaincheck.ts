/**
 * The audit anchored to the proof-of-work chain (fs-free; shared by `pool audit`, the watchtower
 * and the browser audit). For every share: the block it builds on is in the chain, its nbits are
 * the chain's bits at the height it mines (never the share's own field: a share whose nbits say
 * `207fffff` needs no work), its coinbase commits to that height, its ntime is inside consensus
 * bounds, its coinbase pays the pool's output script, and a share that works on a block height
 * lower than an older share's (by id) is out of chain order. For every block of the epoch: it is
 * the chain's block at its stated height, with the chain's bits, deep enough, and the epoch's
 * reward for it equals what its coinbase (proven by the block hash) pays to the pool's script.
 *
 * Sources of the rules: Bitcoin Core `ContextualCheckBlockHeader` (time above the median time past,
 * at most `MAX_FUTURE_BLOCK_TIME` ahead), BIP34 (height in the coinbase), and the pool's own
 * Stratum rule (ntime at most `maxNtimeFutureSeconds`, default 7200, past its clock).
 */
import { buildCoinbase, ByteReader, coinbaseHeight, prevhashNotifyToDisplay } from "../pow";
import type { EpochBlock } from "../epochs/format";
import type { ShareLogEntry } from "../epochs/sharelog";
import { MAX_FUTURE_BLOCK_TIME, type ChainBlockInfo, type PowChainView } from "./powchain";

export interface ChainAnchorOptions {
  chain: PowChainView;
  /** The pool's coinbase output script (hex) every share and block must pay. */
  payoutScript: string;
  /** The pool server's ntime future limit, seconds (its `maxNtimeFutureSeconds`, default 7200). */
  ntimeFutureSeconds?: number;
  /** Depth the epoch's blocks must have (default 1: in the main chain). */
  minConfirmations?: number;
  /** Stop listing after this many findings of one kind (the count is still reported). */
  maxFindings?: number;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** What checkShare found for one share. */
export interface ShareChainResult {
  /** [kind, message] pairs, in the order found. */
  findings: [string, string][];
  /** The height the share mines (its previous block's + 1); undefined when that block is not in the chain. */
  height?: number;
  /** The chain's bits for the share. */
  bits?: string;
}

/**
 * The key under which a share's payout check is cached. The outputs of a coinbase are in coinb2;
 * when coinb1's scriptSig length covers exactly the rest of coinb1 and both extranonces (so the
 * outputs are parsed from coinb2's first byte), coinb2 alone decides them, and shares of different
 * miners (different coinb1) share one entry. Otherwise the whole coinbase is the key. `built`: the
 * coinbase was already built from these fields (so they are hex).
 */
export function payCacheKey(e: Pick<ShareLogEntry, "coinb1" | "coinb2" | "extranonce1" | "extranonce2">, built = false): string {
  const c1 = e.coinb1;
  // Unless the coinbase was already built from them, the three must be hex (else it cannot be read at all).
  if (!built && !HEX_RE.test(c1 + e.extranonce1 + e.extranonce2)) return `1|${c1}|${e.extranonce1}|${e.extranonce2}|${e.coinb2}`;
  if (c1.length >= 84 && e.extranonce1.length % 2 === 0 && e.extranonce2.length % 2 === 0) {
    if (outputsInCoinb2(c1.length / 2, parseInt(c1.slice(8, 10), 16), parseInt(c1.slice(82, 84), 16), (e.extranonce1.length + e.extranonce2.length) / 2)) return "2|" + e.coinb2;
  }
  return `1|${c1}|${e.extranonce1.length}|${e.extranonce2.length}|${e.coinb2}`;
}

/**
 * True when a coinbase's outputs are parsed from coinb2's first byte on, so that coinb2 alone
 * decides what it pays: coinb1 (`coinb1Length` bytes) is version (4), input count
 * (`inputCount`, byte 4) 1, prevout (36) and a one-byte scriptSig length (byte 41, < 0xfd) that
 * covers exactly the rest of coinb1 and the extranonces (`extranonceLength` bytes together).
 */
export function outputsInCoinb2(coinb1Length: number, inputCount: number, scriptSigLength: number, extranonceLength: number): boolean {
  return coinb1Length >= 42 && inputCount === 1 && scriptSigLength < 0xfd && coinb1Length - 42 + extranonceLength === scriptSigLength;
}

export interface PrevInfo {
  /** The block the share builds on, or undefined when it is not in the chain. */
  prev?: ChainBlockInfo;
  /** The chain's block at prev.height + 1, when the chain has one. */
  next?: ChainBlockInfo;
  /** The bits a block at prev.height + 1 must have. */
  bits?: string;
}

/** Value paid to each output script of a serialized (non-witness) coinbase. */
export function coinbaseOutputs(coinbase: Buffer): { value: bigint; script: string }[] {
  const r = new ByteReader(coinbase);
  r.u32("version");
  const inputs = r.varInt("input count");
  if (inputs !== 1) throw new RangeError(`a coinbase has one input, this one ${inputs}`);
  r.bytes(36, "prevout");
  r.bytes(r.varInt("scriptSig length"), "scriptSig");
  r.u32("sequence");
  const n = r.varInt("output count");
  const outputs: { value: bigint; script: string }[] = [];
  for (let i = 0; i < n; i++) {
    const value = r.u64("output value");
    outputs.push({ value, script: r.bytes(r.varInt("script length"), "script").toString("hex") });
  }
  r.u32("locktime");
  if (r.remaining !== 0) throw new RangeError(`${r.remaining} bytes after the coinbase's locktime`);
  return outputs;
}

/** Per-share and per-block checks against the chain; findings are collected, never thrown. */
export class ChainAnchor {
  readonly findings: string[] = [];
  /** Findings per kind, including those not listed. */
  readonly counts = new Map<string, number>();
  private readonly chain: PowChainView;
  private readonly script: string;
  private readonly ntimeFuture: number;
  private readonly minConfirmations: number;
  private readonly maxFindings: number;
  private readonly prevCache = new Map<string, PrevInfo>();
  private lastPrevhash = "";
  private lastPrev: PrevInfo = {};
  private readonly payCache = new Map<string, string | undefined>();
  /** Highest height mined on so far, per block window (order check). */
  private orderBlock = -1;
  private orderHeight = -1;
  private orderId = 0;

  constructor(options: ChainAnchorOptions) {
    this.chain = options.chain;
    this.script = options.payoutScript.toLowerCase();
    if (!/^([0-9a-f]{2})+$/.test(this.script)) throw new RangeError(`payout script must be hex, got "${options.payoutScript}"`);
    this.ntimeFuture = options.ntimeFutureSeconds ?? 7200;
    this.minConfirmations = options.minConfirmations ?? 1;
    this.maxFindings = options.maxFindings ?? 20;
  }

  get source(): string {
    return this.chain.source;
  }

  private finding(kind: string, message: string): void {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n <= this.maxFindings) this.findings.push(message);
  }

  /** Summary lines for kinds with more findings than were listed. */
  overflow(): string[] {
    const out: string[] = [];
    for (const [kind, n] of this.counts) if (n > this.maxFindings) out.push(`${n} shares failed the ${kind} check in all`);
    return out;
  }

  private async prevInfo(prevhash: string): Promise<PrevInfo> {
    if (prevhash === this.lastPrevhash) return this.lastPrev;
    let info = this.prevCache.get(prevhash);
    if (!info) {
      info = {};
      let display: string | undefined;
      try {
        display = prevhashNotifyToDisplay(prevhash);
      } catch {
        display = undefined;
      }
      if (display !== undefined) {
        const prev = await this.chain.block(display);
        if (prev) {
          const next = await this.chain.atHeight(prev.height + 1);
          // Without a next block (a share on the tip), the next block's bits are the tip's: both
          // chains this auditor reads (embedded, regtest) keep one difficulty; on a retargeting chain
          // a share on the very tip is checked again once the next block exists.
          info = { prev, next, bits: next?.bits ?? prev.bits };
        }
      }
      this.prevCache.set(prevhash, info);
    }
    this.lastPrevhash = prevhash;
    this.lastPrev = info;
    return info;
  }

  /**
   * The chain's facts for the block a share builds on (`prevhash` in mining.notify form): the
   * previous block, the chain's next block, and the bits a block on it must have. Cached; throws
   * when the chain cannot be read.
   */
  async lookup(prevhash: string): Promise<PrevInfo> {
    return this.prevInfo(prevhash);
  }

  /** lookup's answer when it is already cached (no chain access), else undefined. */
  cachedLookup(prevhash: string): PrevInfo | undefined {
    if (prevhash === this.lastPrevhash && prevhash !== "") return this.lastPrev;
    const info = this.prevCache.get(prevhash);
    if (info !== undefined) {
      this.lastPrevhash = prevhash;
      this.lastPrev = info;
    }
    return info;
  }

  /**
   * Checks one share against the chain without the order check (which depends on the shares
   * before it: `order`). `info` is `lookup(e.prevhash)`, `coinbase` its serialized coinbase when
   * the work check already built it, `committedHeight` the height its coinb1 commits to when
   * already read (CommitmentReader). Returns the findings as [kind, message] pairs, the height the
   * share mines (undefined when its previous block is not in the chain) and the chain's bits for it.
   * Stateless but for caches: the worker threads of src/audit/parallel.ts run it.
   */
  checkShare(e: ShareLogEntry, info: PrevInfo, coinbase?: Buffer, committedHeight?: number): ShareChainResult {
    const findings: [string, string][] = [];
    if (!info.prev) {
      let shown = e.prevhash;
      try {
        shown = prevhashNotifyToDisplay(e.prevhash);
      } catch {
        /* shown as written */
      }
      findings.push(["previous block", `share ${e.id}: builds on block ${shown}, which is not in the chain (${this.chain.source})`]);
      this.pays(e, findings, coinbase);
      return { findings };
    }
    const height = info.prev.height + 1;
    if (e.nbits.toLowerCase() !== info.bits) {
      findings.push(["nbits", `share ${e.id}: nbits ${e.nbits} are not the chain's bits ${info.bits} at height ${height}: its work is judged against a target the chain never had`]);
    }
    const committed = committedHeight ?? coinbaseHeight(e.coinb1);
    if (committed !== height) findings.push(["height", `share ${e.id}: its coinbase commits to height ${committed ?? "none"}, but it builds on block ${info.prev.hash} (height ${info.prev.height})`]);
    const ntime = /^[0-9a-fA-F]{8}$/.test(e.ntime) ? parseInt(e.ntime, 16) : NaN;
    if (!(ntime > info.prev.mtp)) findings.push(["ntime", `share ${e.id}: ntime ${e.ntime} (${ntime}) is not above the median time past ${info.prev.mtp} of block ${info.prev.height}`]);
    else {
      const limit = this.ntimeLimit(info);
      if (ntime > limit) findings.push(["ntime", `share ${e.id}: ntime ${ntime} is more than ${MAX_FUTURE_BLOCK_TIME + this.ntimeFuture} s after ${info.next ? `block ${height}'s time` : "now"} (${limit - MAX_FUTURE_BLOCK_TIME - this.ntimeFuture})`]);
    }
    this.pays(e, findings, coinbase);
    return { findings, height, bits: info.bits };
  }

  /**
   * The latest ntime (seconds) a share on `info.prev` may carry: the chain's next block's time
   * (now, on the tip), at least the previous block's, plus MAX_FUTURE_BLOCK_TIME and the server's
   * future allowance. checkShare's rule; the audit's fast path (fastline.ts) compares with it too.
   */
  ntimeLimit(info: PrevInfo): number {
    const reference = Math.max(info.next?.time ?? Math.floor(Date.now() / 1000), info.prev?.time ?? 0);
    return reference + MAX_FUTURE_BLOCK_TIME + this.ntimeFuture;
  }

  /** Records a finding of one kind (as checkShare returned it). */
  record(kind: string, message: string): void {
    this.finding(kind, message);
  }

  /**
   * Chain order: within one block's window, shares (by id, oldest first) never go back to an
   * earlier previous block; an older share swapped in among newer ones does. `height` is what
   * checkShare returned (undefined: its previous block is not in the chain, nothing to compare).
   */
  order(e: { block: number; id: number }, height: number | undefined): void {
    this.orderAt(e.block, e.id, height);
  }

  /** `order` from the share's block index and id. */
  orderAt(block: number, id: number, height: number | undefined): void {
    if (height === undefined) return;
    if (block !== this.orderBlock) {
      this.orderBlock = block;
      this.orderHeight = -1;
    }
    if (height < this.orderHeight) this.finding("chain order", `share ${id}: mines height ${height}, but the older share ${this.orderId} already mined height ${this.orderHeight}: it is out of chain order (a share from outside the window?)`);
    else {
      this.orderHeight = height;
      this.orderId = id;
    }
  }

  /**
   * Checks one share (checkShare, then order). `coinbase` is its serialized coinbase when the work
   * check already built it. Returns the chain's bits for the share (undefined when its previous
   * block is not in the chain).
   */
  async share(e: ShareLogEntry, coinbase?: Buffer): Promise<string | undefined> {
    const r = this.checkShare(e, await this.prevInfo(e.prevhash), coinbase);
    for (const [kind, message] of r.findings) this.finding(kind, message);
    this.order(e, r.height);
    return r.bits;
  }

  /** The share's coinbase pays the pool's script: every output carrying value goes to it. */
  private pays(e: ShareLogEntry, findings: [string, string][], coinbase?: Buffer): void {
    const key = payCacheKey(e, coinbase !== undefined);
    let problem: string | undefined;
    if (this.payCache.has(key)) problem = this.payCache.get(key);
    else {
      problem = this.payProblem(e, coinbase);
      if (this.payCache.size > 100_000) this.payCache.clear();
      this.payCache.set(key, problem);
    }
    if (problem) findings.push(["payout script", `share ${e.id}: ${problem}`]);
  }

  private payProblem(e: ShareLogEntry, coinbase?: Buffer): string | undefined {
    let outputs;
    try {
      outputs = coinbaseOutputs(coinbase ?? buildCoinbase(e.coinb1, e.extranonce1, e.extranonce2, e.coinb2));
    } catch (err) {
      return `its coinbase cannot be read: ${(err as Error).message}`;
    }
    const other = outputs.find((o) => o.value > 0n && o.script !== this.script);
    if (other) return `its coinbase pays ${other.value} to script ${other.script}, not to the pool's script ${this.script}`;
    if (!outputs.some((o) => o.script === this.script)) return `its coinbase has no output to the pool's script ${this.script}`;
    return undefined;
  }

  /**
   * Checks one block of the epoch against the chain; `share` is the window's newest share (whose
   * header hash, already checked, is the block hash: so its coinbase is the block's).
   * `unitsPerSatoshi`: the epoch file's `asset.unitsPerSatoshi` (1 when it states none): the
   * file's reward, in the asset's smallest unit, must be the coinbase's satoshis × it.
   */
  async block(index: number, b: EpochBlock, share: ShareLogEntry | undefined, unitsPerSatoshi = 1n): Promise<void> {
    const at = await this.chain.atHeight(b.height);
    if (!at || at.hash !== b.hash.toLowerCase()) {
      const where = await this.chain.block(b.hash);
      this.finding(
        "block",
        `block ${index} (${b.hash}): not the chain's block at height ${b.height} (${at ? `that is ${at.hash}` : "the chain is shorter"}${where ? `; it is at height ${where.height}` : "; it is not in the chain at all"})`,
      );
      return;
    }
    const tip = await this.chain.tipHeight();
    const depth = tip - b.height + 1;
    if (depth < this.minConfirmations) this.finding("block", `block ${index} (${b.hash}): ${depth} confirmation(s), fewer than ${this.minConfirmations}`);
    if (at.bits !== b.nbits.toLowerCase()) this.finding("block", `block ${index} (${b.hash}): the file says nbits ${b.nbits}, the chain's are ${at.bits}`);
    if (!share || share.hash.toLowerCase() !== b.hash.toLowerCase()) return; // the window check names this
    let outputs;
    try {
      outputs = coinbaseOutputs(buildCoinbase(share.coinb1, share.extranonce1, share.extranonce2, share.coinb2));
    } catch (err) {
      this.finding("block", `block ${index} (${b.hash}): its coinbase cannot be read: ${(err as Error).message}`);
      return;
    }
    const paid = outputs.filter((o) => o.script === this.script).reduce((s, o) => s + o.value, 0n);
    const expected = paid * unitsPerSatoshi;
    if (expected.toString() !== b.reward) {
      const scaled = unitsPerSatoshi === 1n ? `${paid}` : `${expected} (${paid} satoshis × asset.unitsPerSatoshi ${unitsPerSatoshi})`;
      this.finding("reward", `block ${index} (${b.hash}): the epoch file's reward ${b.reward} differs from the ${scaled} its coinbase pays to the pool's script ${this.script}`);
    }
  }
}

/** The pool's payout script as the epoch's first block's coinbase pays it: the script receiving its largest output. */
export function payoutScriptOfBlockShare(share: ShareLogEntry): string | undefined {
  try {
    const outputs = coinbaseOutputs(buildCoinbase(share.coinb1, share.extranonce1, share.extranonce2, share.coinb2));
    let best: { value: bigint; script: string } | undefined;
    for (const o of outputs) if (!best || o.value > best.value) best = o;
    return best?.script;
  } catch {
    return undefined;
  }
}


