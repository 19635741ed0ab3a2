/**
 * The audit's fast path for one share-log line, on its bytes: for a line laid out exactly as
 * shareLogLine writes it (ASCII, keys in order, lower-case hex, no escapes) whose share passes
 * every per-line check, its outcome goes straight into the batch's columns (OutcomeEncoder
 * .putPlain) with no JSON parse, no entry object and no hex string per field. Anything else —
 * another layout, any finding, a chain answer not yet cached — returns false, and the caller
 * checks the line with LineChecker (linecheck.ts), the reference, which then words the findings.
 *
 * So this path only ever decides "nothing to report", and only after the same checks as the
 * reference: the rebuilt header hashes to the logged hash; the coinbase commits to the credited
 * address and to the logged difficulty; the hash meets that difficulty, which is at most the
 * network's (the chain's bits when a chain is read); "is a block" matches the network target; the
 * chain's checks (ChainAnchor.checkShare, the same code) find nothing; the share is none of the
 * epoch's blocks. test/audit.fastline.test.ts compares the two paths' columns line by line on
 * honest, mutated and hostile lines.
 */
import { Sha256dArena } from "../pow/sha256wasm";
import { locateCommitments, type CommitmentPlaces } from "../pow/coinbase";
import { hashAtMost } from "../pow/target";
import { SHARE_LOG_FIELDS, type ShareLogEntry } from "../epochs/sharelog";
import { networkTarget, shareTarget, type Target } from "../epochs/sharecheck";
import { unitsToDifficulty, unitsToParts } from "../shares/difficulty";
import { outputsInCoinb2, type ChainAnchor, type PrevInfo } from "./chaincheck";
import type { OutcomeEncoder } from "./outcomecodec";
import type { AddressKeyLookup } from "../epochs/addresskeys";

const enum Kind {
  Int,
  Str,
  Branch,
  Bool,
}

const KEYS = SHARE_LOG_FIELDS.map((k, i) => Buffer.from(i === 0 ? `{"${k}":` : `,"${k}":`, "latin1"));
const KINDS = SHARE_LOG_FIELDS.map((k) => (k === "block" || k === "id" || k === "height" || k === "time" ? Kind.Int : k === "merkleBranch" ? Kind.Branch : k === "isBlock" ? Kind.Bool : Kind.Str));
/** Fields whose bytes tryLine does not decode as hex: scan checks them for escapes and control characters. */
const TEXT = SHARE_LOG_FIELDS.map((k) => k === "credited" || k === "worker" || k === "difficulty" || k === "jobId");
const F = Object.fromEntries(SHARE_LOG_FIELDS.map((k, i) => [k, i])) as Record<(typeof SHARE_LOG_FIELDS)[number], number>;
const MAX_BRANCH = 64;
/** Coinbases up to this many bytes take the fast path (the pool's are ~100–300 bytes). */
const MAX_COINBASE = 16 << 10;
const WORD_FIELDS = [F.version, F.nbits, F.ntime, F.nonce];
const HASH_FIELDS = [F.prevhash, F.hash];
const COINBASE_PARTS = [F.coinb1, F.extranonce1, F.extranonce2, F.coinb2];

/** Lower-case hex digit values; -1 for anything else. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 16; c++) HEX["0123456789abcdef".charCodeAt(c)] = c;

export interface FastLineOptions {
  anchor?: ChainAnchor;
  /** The epoch's block hashes, lower case. */
  blockHashes: Set<string>;
  fingerprintIds?: { from: number; to: number };
  /** True once the reference checker stopped reading the chain (its first chain error). */
  chainFailed: () => boolean;
  /** The main thread's address keys: each plain line carries its address's key (-1: not answered). */
  keys?: AddressKeyLookup;
}

interface Weight {
  whole: number;
  frac: number;
  difficulty: string;
  target: Target;
}

export class FastLineChecker {
  /** Per field: start and end (exclusive) of its value's bytes; strings without the quotes. */
  private readonly at = new Int32Array(SHARE_LOG_FIELDS.length * 2);
  private readonly ints = new Float64Array(SHARE_LOG_FIELDS.length);
  private readonly branch = new Int32Array(MAX_BRANCH);
  private branchLength = 0;
  private isBlock = false;
  private readonly address = Buffer.alloc(20);
  private readonly logged = Buffer.alloc(32);
  /** The coinbase, the merkle pair, the header and the hash are built in the WebAssembly sha256d's memory. */
  private readonly arena = new Sha256dArena();
  private readonly header = this.arena.alloc(80);
  private readonly hash = this.arena.alloc(32);
  private readonly pair = this.arena.alloc(64);
  private readonly coinbase = this.arena.alloc(MAX_COINBASE);
  private readonly places: CommitmentPlaces = { height: 0, address: 0, units: 0, unitsLength: 0 };
  /** The last prevhash looked up (its 64 hex digits) and the chain's answer. */
  private readonly lastPrevhash = Buffer.alloc(64);
  private lastInfo: PrevInfo | undefined;
  private lastBits = "";
  private lastNetwork: Target | undefined;
  /** coinb2's hex of the last share checkShare passed whose coinb2 alone decided its payout check; 0: none yet. */
  private paidCoinb2 = Buffer.alloc(256);
  private paidLength = 0;
  private readonly weights = new Map<number, Weight | null>();
  /** The epoch's block hashes (display order) by their first four bytes. */
  private readonly blocks = new Map<number, Buffer[]>();

  constructor(private readonly options: FastLineOptions) {
    for (const h of options.blockHashes) {
      if (!/^[0-9a-f]{64}$/.test(h)) continue; // never equal to a line this path takes
      const b = Buffer.from(h, "hex");
      const k = b.readUInt32LE(0);
      const list = this.blocks.get(k) ?? [];
      list.push(b);
      this.blocks.set(k, list);
    }
  }

  /**
   * Checks the line b[start, end) (no line break). True: its plain outcome was put into `out` at
   * index `i`. False: the caller must check it with the reference LineChecker.
   */
  tryLine(b: Buffer, start: number, end: number, out: OutcomeEncoder, i: number): boolean {
    if (!this.scan(b, start, end)) return false;
    const at = this.at;
    const ints = this.ints;
    const block = ints[F.block];
    const id = ints[F.id];
    if (block < 0 || id < 1) return false;
    const credited = this.decimal(b, at[2 * F.credited], at[2 * F.credited + 1]);
    if (credited < 0) return false;
    // The credited address: 0x + 40 lower-case hex digits.
    const a0 = at[2 * F.address];
    if (at[2 * F.address + 1] - a0 !== 42 || b[a0] !== 48 || b[a0 + 1] !== 120 || !decodeHex(b, a0 + 2, a0 + 42, this.address, 0)) return false;
    // Fixed-size hex fields.
    for (const f of WORD_FIELDS) if (at[2 * f + 1] - at[2 * f] !== 8 || !isLowerHex(b, at[2 * f], at[2 * f + 1])) return false;
    for (const f of HASH_FIELDS) if (at[2 * f + 1] - at[2 * f] !== 64) return false;

    // The coinbase, its hash, the merkle root, the header and its hash (no allocation per line).
    let size = 0;
    for (const f of COINBASE_PARTS) {
      const n = at[2 * f + 1] - at[2 * f];
      if ((n & 1) !== 0) return false;
      size += n >> 1;
    }
    if (size > MAX_COINBASE) return false; // the reference checks it
    const coinbase = this.coinbase;
    let w = 0;
    for (const f of COINBASE_PARTS) {
      if (!decodeHex(b, at[2 * f], at[2 * f + 1], coinbase, w)) return false;
      w += (at[2 * f + 1] - at[2 * f]) >> 1;
    }
    const header = this.header;
    const pair = this.pair;
    const arena = this.arena;
    if (this.branchLength === 0) arena.sha256dInto(coinbase, size, header, 36);
    else {
      arena.sha256dInto(coinbase, size, pair, 0);
      for (let k = 0; k < this.branchLength; k++) {
        const s = this.branch[k];
        if (!decodeHex(b, s, s + 64, pair, 32)) return false;
        arena.sha256dInto(pair, 64, pair, 0);
      }
      for (let k = 0; k < 32; k++) header[36 + k] = pair[k];
    }
    header.writeUInt32LE(hexWord(b, at[2 * F.version]), 0);
    if (!decodeHex(b, at[2 * F.prevhash], at[2 * F.prevhash + 1], header, 4)) return false;
    header.subarray(4, 36).swap32();
    header.writeUInt32LE(hexWord(b, at[2 * F.ntime]), 68);
    const nbits = hexWord(b, at[2 * F.nbits]);
    header.writeUInt32LE(nbits, 72);
    header.writeUInt32LE(hexWord(b, at[2 * F.nonce]), 76);
    const hash = this.hash;
    arena.sha256dInto(header, 80, hash, 0);
    const logged = this.logged;
    if (!decodeHex(b, at[2 * F.hash], at[2 * F.hash + 1], logged, 0)) return false;
    for (let k = 0; k < 32; k++) if (hash[31 - k] !== logged[k]) return false;
    if (this.isEpochBlock(logged)) return false;

    // What the coinbase commits to: the credited address and the logged difficulty.
    const coinb1Length = (at[2 * F.coinb1 + 1] - at[2 * F.coinb1]) >> 1;
    const c = this.places;
    if (!locateCommitments(coinbase, 0, coinb1Length, c) || c.unitsLength === 0 || c.unitsLength > 6) return false; // longer: the reference weighs it
    for (let k = 0; k < 20; k++) if (coinbase[c.address + k] !== this.address[k]) return false;
    let units = 0;
    for (let k = c.unitsLength - 1; k >= 0; k--) units = units * 256 + coinbase[c.units + k];
    const weight = this.weight(units);
    if (weight === null || !equalsAscii(b, at[2 * F.difficulty], at[2 * F.difficulty + 1], weight.difficulty)) return false;

    // The network target: the chain's bits when the chain is read, else the share's own.
    const anchor = this.options.anchor && !this.options.chainFailed() ? this.options.anchor : undefined;
    let info: PrevInfo | undefined;
    let network: Target | undefined;
    if (anchor) {
      info = this.prevInfo(anchor, b, at[2 * F.prevhash]);
      if (info === undefined || info.prev === undefined || info.bits === undefined) return false;
      network = this.networkOf(info.bits);
    } else network = this.networkOf(b.toString("latin1", at[2 * F.nbits], at[2 * F.nbits + 1]));
    if (network === undefined) return false;
    const target = weight.target;
    if (target.value < network.value || !hashAtMost(hash, target.bytes)) return false;
    if (hashAtMost(hash, network.bytes) !== this.isBlock) return false;

    let height: number | undefined;
    if (anchor && !this.chainPasses(anchor, info!, b, c.height, coinb1Length)) {
      const text = (f: number) => b.toString("latin1", at[2 * f], at[2 * f + 1]);
      const e = {
        id,
        prevhash: text(F.prevhash),
        nbits: text(F.nbits),
        ntime: text(F.ntime),
        coinb1: text(F.coinb1),
        coinb2: text(F.coinb2),
        extranonce1: text(F.extranonce1),
        extranonce2: text(F.extranonce2),
      } as ShareLogEntry;
      const r = anchor.checkShare(e, info!, coinbase.subarray(0, size), c.height);
      if (r.findings.length > 0) return false;
      this.passed(b, coinb1Length);
    }
    if (anchor) height = info!.prev!.height + 1;
    const fp = this.options.fingerprintIds;
    // The fingerprint covers the line from `"address":` on (the key prefix's comma excluded).
    const fingerprint = fp && id >= fp.from && id <= fp.to ? fnv1aBytes(b, at[2 * F.address] - KEYS[F.address].length, end) : 0;
    const key = this.options.keys ? this.options.keys.keyOfBytes(this.address, 0) : -1;
    out.putPlain(i, block, id, fingerprint, height, anchor !== undefined, hash, this.address, 0, weight.whole, weight.frac, credited, nbits, this.isBlock, key);
    return true;
  }

  /** The chain's facts for the line's prevhash (64 hex digits at b[s…]), from the anchor's cache; the last one is kept by its bytes. */
  private prevInfo(anchor: ChainAnchor, b: Buffer, s: number): PrevInfo | undefined {
    const last = this.lastPrevhash;
    let same = this.lastInfo !== undefined;
    for (let k = 0; same && k < 64; k++) same = b[s + k] === last[k];
    if (same) return this.lastInfo;
    const info = anchor.cachedLookup(b.toString("latin1", s, s + 64));
    if (info !== undefined) {
      b.copy(last, 0, s, s + 64);
      this.lastInfo = info;
    }
    return info;
  }

  /** The network target of compact bits (8 hex digits), the last one kept; undefined when malformed. */
  private networkOf(bits: string): Target | undefined {
    if (bits !== this.lastBits) {
      try {
        this.lastNetwork = networkTarget(bits);
      } catch {
        return undefined;
      }
      this.lastBits = bits;
    }
    return this.lastNetwork;
  }

  /**
   * checkShare's verdict without building its strings, when it can be had: the share builds on a
   * block of the chain (`info`), with the chain's bits, its coinbase commits to the height it mines,
   * its ntime is inside the chain's bounds, and its coinb2 — which alone decides what it pays
   * (outputsInCoinb2) — is byte for byte one that checkShare already passed. False: ask checkShare.
   */
  private chainPasses(anchor: ChainAnchor, info: PrevInfo, b: Buffer, committedHeight: number, coinb1Length: number): boolean {
    const at = this.at;
    const prev = info.prev!;
    if (committedHeight !== prev.height + 1) return false;
    if (!equalsAscii(b, at[2 * F.nbits], at[2 * F.nbits + 1], info.bits!)) return false;
    const ntime = hexWord(b, at[2 * F.ntime]);
    if (!(ntime > prev.mtp) || ntime > anchor.ntimeLimit(info)) return false;
    const c2 = at[2 * F.coinb2];
    const n = at[2 * F.coinb2 + 1] - c2;
    const paid = this.paidCoinb2;
    if (this.paidLength === 0 || n !== this.paidLength || !this.coinb2Decides(coinb1Length)) return false;
    for (let k = 0; k < n; k++) if (b[c2 + k] !== paid[k]) return false;
    return true;
  }

  private coinb2Decides(coinb1Length: number): boolean {
    const at = this.at;
    const extranonces = (at[2 * F.extranonce1 + 1] - at[2 * F.extranonce1] + at[2 * F.extranonce2 + 1] - at[2 * F.extranonce2]) >> 1;
    return outputsInCoinb2(coinb1Length, this.coinbase[4], this.coinbase[41], extranonces);
  }

  /** checkShare passed this line: its coinb2 (hex, as written) is kept when it alone decided the payout check. */
  private passed(b: Buffer, coinb1Length: number): void {
    if (!this.coinb2Decides(coinb1Length)) return;
    const c2 = this.at[2 * F.coinb2];
    const n = this.at[2 * F.coinb2 + 1] - c2;
    if (n > this.paidCoinb2.length) this.paidCoinb2 = Buffer.alloc(n);
    b.copy(this.paidCoinb2, 0, c2, c2 + n);
    this.paidLength = n;
  }

  /** Finds each field's value in the writer's layout; false for any other layout or any byte that JSON would escape. */
  private scan(b: Buffer, start: number, end: number): boolean {
    let p = start;
    const at = this.at;
    for (let f = 0; f < KEYS.length; f++) {
      const key = KEYS[f];
      if (p + key.length > end) return false;
      for (let k = 0; k < key.length; k++) if (b[p + k] !== key[k]) return false;
      p += key.length;
      switch (KINDS[f]) {
        case Kind.Int: {
          const s = p;
          if (b[p] === 45) return false; // negative: the reference decides
          while (p < end && b[p] >= 48 && b[p] <= 57) p++;
          const n = p - s;
          if (n === 0 || n > 15 || (n > 1 && b[s] === 48)) return false;
          let v = 0;
          for (let k = s; k < p; k++) v = v * 10 + (b[k] - 48);
          this.ints[f] = v;
          break;
        }
        case Kind.Str: {
          if (b[p] !== 34) return false;
          const s = ++p;
          if (TEXT[f]) {
            while (p < end && b[p] !== 34) {
              if (b[p] < 0x20 || b[p] === 0x5c || b[p] >= 0x80) return false;
              p++;
            }
          } else {
            // A hex field: every byte is checked as a hex digit when decoded (tryLine), which
            // rules out escapes and control characters too.
            while (p < end && b[p] !== 34) p++;
          }
          if (p >= end) return false;
          at[2 * f] = s;
          at[2 * f + 1] = p++;
          break;
        }
        case Kind.Branch: {
          if (b[p++] !== 91) return false; // [
          this.branchLength = 0;
          if (b[p] === 93) {
            p++;
            break;
          }
          for (;;) {
            if (b[p] !== 34 || this.branchLength === MAX_BRANCH || p + 66 > end || b[p + 65] !== 34 || !isLowerHex(b, p + 1, p + 65)) return false;
            this.branch[this.branchLength++] = p + 1;
            p += 66;
            const c = b[p++];
            if (c === 93) break; // ]
            if (c !== 44) return false; // ,
          }
          break;
        }
        case Kind.Bool: {
          if (b[p] === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) {
            this.isBlock = true;
            p += 4;
          } else if (b[p] === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) {
            this.isBlock = false;
            p += 5;
          } else return false;
          break;
        }
      }
    }
    return p === end - 1 && b[p] === 125; // }
  }

  /** A decimal string of at most 15 digits, no leading zero, as a number; -1 otherwise. */
  private decimal(b: Buffer, s: number, e: number): number {
    const n = e - s;
    if (n === 0 || n > 15 || (n > 1 && b[s] === 48)) return -1;
    let v = 0;
    for (let k = s; k < e; k++) {
      const d = b[k] - 48;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
    }
    return v;
  }

  /** The committed difficulty's parts and canonical text, per distinct units (null: the reference's problem). */
  private weight(units: number): Weight | null {
    let w = this.weights.get(units);
    if (w === undefined) {
      try {
        const parts = unitsToParts(BigInt(units));
        w = { whole: parts.whole, frac: parts.frac, difficulty: unitsToDifficulty(BigInt(units)), target: shareTarget(BigInt(units)) };
      } catch {
        w = null;
      }
      if (this.weights.size > 10_000) this.weights.clear();
      this.weights.set(units, w);
    }
    return w;
  }

  private isEpochBlock(display: Buffer): boolean {
    const list = this.blocks.get(display.readUInt32LE(0));
    return list !== undefined && list.some((h) => h.equals(display));
  }
}

function isLowerHex(b: Buffer, s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (HEX[b[k]] < 0) return false;
  return true;
}

/** Lower-case hex b[s, e) into out[o…]; false on a non-hex byte (out may be partly written). */
function decodeHex(b: Buffer, s: number, e: number, out: Uint8Array, o: number): boolean {
  for (let k = s; k < e; k += 2) {
    const hi = HEX[b[k]];
    const lo = HEX[b[k + 1]];
    if (hi < 0 || lo < 0) return false;
    out[o++] = (hi << 4) | lo;
  }
  return true;
}

/** Eight lower-case hex digits (checked by the caller) as a big-endian u32. */
function hexWord(b: Buffer, s: number): number {
  let v = 0;
  for (let k = s; k < s + 8; k++) v = v * 16 + HEX[b[k]];
  return v >>> 0;
}

function equalsAscii(b: Buffer, s: number, e: number, text: string): boolean {
  if (e - s !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[s + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** FNV-1a over bytes b[s, e): consistency.ts's fnv1a of the same ASCII text. */
function fnv1aBytes(b: Buffer, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let k = s; k < e; k++) {
    h ^= b[k];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
