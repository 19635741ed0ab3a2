/**
 * The auditor's checks of single shares, without file access (shared by `pool audit`, the
 * watchtower and the browser audit): the proof of work rebuilt from the share's own bytes, the
 * address and share difficulty its coinbase commits to, and "one header, one credit" across the
 * windows of an epoch and the previous epoch's.
 */
import {
  bitsToTarget,
  coinbaseCommitments,
  displayHexToInternal,
  HASH_ADDED,
  HeaderHashSet,
  hashAtMost,
  hashToDisplayHex,
  targetToBytesLE,
  unitsToTarget,
  verifyShareWork,
} from "../pow";
import { unitsToDifficulty } from "../shares/difficulty";
import type { ShareLogEntry } from "./sharelog";

/** What the coinbase of a share commits to, parsed once per distinct coinb1 (shares of one job share it). */
export class CommitmentReader {
  private lastCoinb1 = "";
  private readonly difficulties = new Map<bigint, string>();
  private last: { address: string; units: bigint; difficulty: string; height: number } | string = "";

  /**
   * The payout address, share difficulty (units and canonical decimal) and BIP34 height that
   * `coinb1` commits to, or a string saying why it commits to no address or difficulty.
   */
  read(coinb1: string): { address: string; units: bigint; difficulty: string; height: number } | string {
    if (coinb1 === this.lastCoinb1) return this.last;
    const c = coinbaseCommitments(coinb1);
    let r: { address: string; units: bigint; difficulty: string; height: number } | string;
    if (c === undefined) r = "its coinbase commits to no payout address";
    else if (c.shareDifficultyUnits === undefined) r = "its coinbase commits to no share difficulty";
    else r = { address: c.address, units: c.shareDifficultyUnits, difficulty: this.difficulty(c.shareDifficultyUnits), height: c.height };
    this.lastCoinb1 = coinb1;
    this.last = r;
    return r;
  }

  /** unitsToDifficulty, cached: an epoch has few distinct share difficulties. */
  private difficulty(units: bigint): string {
    let d = this.difficulties.get(units);
    if (d === undefined) {
      d = unitsToDifficulty(units);
      if (this.difficulties.size > 10_000) this.difficulties.clear();
      this.difficulties.set(units, d);
    }
    return d;
  }
}

export interface ShareWorkVerdict {
  /** Why the share's work does not hold, or undefined when it does. */
  problem?: string;
  /** sha256d of the rebuilt header (internal byte order), when it could be rebuilt. */
  hash?: Buffer;
  /** The serialized (non-witness) coinbase, when it could be built. */
  coinbase?: Buffer;
}

/** A target, and the same as 32 bytes little-endian (compared with hashes without a bigint). */
export interface Target {
  value: bigint;
  bytes: Uint8Array;
}

// Few distinct difficulties and bits per epoch: their targets (bigint divisions) are cached.
const shareTargets = new Map<bigint, Target>();
const networkTargets = new Map<string, Target>();

/** The share target of a committed difficulty (units), cached; throws as unitsToTarget does. */
export function shareTarget(units: bigint): Target {
  let t = shareTargets.get(units);
  if (t === undefined) {
    const value = unitsToTarget(units);
    t = { value, bytes: targetToBytesLE(value) };
    if (shareTargets.size > 10_000) shareTargets.clear();
    shareTargets.set(units, t);
  }
  return t;
}

/** The network target of compact bits, cached; throws on malformed bits. */
export function networkTarget(bits: string): Target {
  let t = networkTargets.get(bits);
  if (t === undefined) {
    const value = bitsToTarget(bits); // throws on malformed bits: not cached
    t = { value, bytes: targetToBytesLE(value) };
    if (networkTargets.size > 10_000) networkTargets.clear();
    networkTargets.set(bits, t);
  }
  return t;
}

/**
 * Rebuilds a share's header from its own bytes and checks: the hash is the logged one; it meets
 * the share target of the difficulty its coinbase commits to (never a difficulty field written
 * beside it, and with no exception for blocks); that difficulty is at most the network's of the
 * share's nbits; "is a block" matches the network target; the coinbase pays the credited address.
 * `networkBits`, when the caller read them from the proof-of-work chain (src/audit/chaincheck.ts),
 * replace the share's own nbits field as the network target (the chain decides, not the operator).
 */
export function verifyShareWorkEntry(e: ShareLogEntry, commitments: CommitmentReader = new CommitmentReader(), networkBits?: string): ShareWorkVerdict {
  let work;
  try {
    work = verifyShareWork(e);
  } catch (err) {
    return { problem: `share ${e.id}: cannot rebuild its header: ${(err as Error).message}` };
  }
  const problem = (m: string): ShareWorkVerdict => ({ problem: `share ${e.id}: ${m}`, hash: work.hash, coinbase: work.coinbase });
  const hash = hashToDisplayHex(work.hash);
  if (hash !== e.hash.toLowerCase()) return problem(`header hashes to ${hash}, the log says ${e.hash}`);
  const c = commitments.read(e.coinb1);
  if (typeof c === "string") return problem(c);
  if (c.address !== e.address.toLowerCase()) return problem(`credited to ${e.address} but its coinbase pays ${c.address}`);
  const bits = networkBits ?? e.nbits;
  let network: Target;
  try {
    network = networkTarget(bits);
  } catch (err) {
    return problem((err as Error).message);
  }
  const target = shareTarget(c.units);
  if (target.value < network.value) return problem(`its coinbase commits to difficulty ${c.difficulty}, above the network difficulty of nbits ${bits}`);
  if (!hashAtMost(work.hash, target.bytes)) return problem(`hash ${hash} does not meet difficulty ${c.difficulty} (committed in its coinbase)`);
  const isBlock = hashAtMost(work.hash, network.bytes);
  if (e.isBlock && !isBlock) return problem(`marked as a block but does not meet the network target ${bits}`);
  if (!e.isBlock && isBlock) return problem(`meets the network target ${bits} but is not marked as a block`);
  return { hash: work.hash, coinbase: work.coinbase };
}

/**
 * "One header, one credit" over share logs: the same header hash under two share ids, within an
 * epoch's windows or between the previous epoch's and this one's, is a duplicate. (The same id in
 * two windows is the same share counted for two blocks, as PPLNS windows overlap.)
 */
export class DuplicateHeaderCheck {
  private readonly set: HeaderHashSet;
  readonly findings: string[] = [];
  duplicates = 0;

  /**
   * `expected`: about how many hashes will be added (the table is sized for them at once, so it
   * never holds its old and new copies while growing), at most 3/4 full; capped at 2^25 slots up
   * front (24 bytes each: 10 000 000 hashes take 2^24 slots, 384 MiB).
   */
  constructor(
    private readonly maxFindings = 20,
    expected = 0,
  ) {
    this.set = new HeaderHashSet({ withValues: true, maxLoad: 0.75, initialCapacity: Math.min(1 << 25, Math.max(1 << 16, Math.ceil(expected / 0.75))) });
  }

  /**
   * Adds a share; `hash` is its header hash in internal order when already computed, otherwise
   * it is read from the entry's display hex. `label` says where the share was seen.
   */
  add(e: Pick<ShareLogEntry, "id" | "hash">, hash?: Buffer, label = "this epoch"): void {
    let h = hash;
    if (h === undefined) {
      try {
        h = displayHexToInternal(e.hash);
      } catch {
        return; // a malformed hash is the work check's and the parser's finding
      }
    }
    const earlier = this.set.add(h, e.id);
    if (earlier === HASH_ADDED || earlier === e.id) return;
    this.duplicates++;
    if (this.findings.length < this.maxFindings) {
      this.findings.push(`share ${e.id} (${label}) repeats the header of share ${earlier}: hash ${e.hash.toLowerCase()} credited twice`);
    }
  }

  /**
   * `add` for a share whose header hash (internal order) is at `bytes[offset]`; `hashText(i)`
   * gives its display hex, read only for a finding.
   */
  addAt(id: number, bytes: Uint8Array, offset: number, label: string, hashText: (i: number) => string, i: number): void {
    const earlier = this.set.addAt(bytes, offset, id);
    if (earlier === HASH_ADDED || earlier === id) return;
    this.duplicates++;
    if (this.findings.length < this.maxFindings) {
      this.findings.push(`share ${id} (${label}) repeats the header of share ${earlier}: hash ${hashText(i).toLowerCase()} credited twice`);
    }
  }

  get size(): number {
    return this.set.size;
  }
}
