/**
 * LineOutcomes (linecheck.ts) of a batch of share-log lines, packed into typed-array columns that
 * a worker thread transfers to the main thread without copying, and unpacked there one line at a
 * time for EpochAudit.fold. What every honest line has (ids, block, fingerprint, header hash,
 * address, weight, credit, height) goes in columns; what is rare (findings, malformed lines,
 * non-canonical strings, the entries of block shares) goes in a small `extras` list, copied by
 * structured clone. Decoding gives back outcomes equal to the ones encoded (a test checks it).
 */
import { hashToDisplayHex } from "../pow";
import type { ShareLogEntry } from "../epochs/sharelog";
import type { WeighedShare } from "../epochs/verify";
import type { LineOutcome, ShareOutcome } from "./linecheck";
import type { EpochAudit } from "./epochaudit";

const PARSED = 1;
const HEADER_HASH = 2;
const CHAIN = 4;
const HEIGHT = 8;
const EXTRA = 16;
const IS_BLOCK = 32;
const ADDRESS_CANON = 64;
const HASH_CANON = 128;
const NBITS_CANON = 256;
const CREDITED_NUM = 512;

/** The rare parts of one line's outcome. */
interface Extra {
  i: number;
  unknown?: string[];
  malformed?: string;
  work?: string;
  chain?: [string, string][];
  chainError?: string;
  problem?: string;
  mismatch?: string;
  hash?: string;
  address?: string;
  nbits?: string;
  credited?: string;
  entry?: ShareLogEntry;
}

/** One batch's outcomes, ready for postMessage (`transfer` lists the buffers to move). */
export interface EncodedOutcomes {
  n: number;
  flags: Uint16Array;
  block: Int32Array;
  id: Float64Array;
  fingerprint: Uint32Array;
  height: Int32Array;
  whole: Float64Array;
  frac: Float64Array;
  credited: Float64Array;
  nbits: Uint32Array;
  /** The address's key (AddressKeyLookup on the worker), -1 when not looked up. */
  key: Int32Array;
  headerHash: Uint8Array;
  address: Uint8Array;
  extras: Extra[];
}

const ADDRESS_RE = /^0x[0-9a-f]{40}$/;
const NBITS_RE = /^[0-9a-f]{8}$/;
const UPPER_HEX = /[A-F]/;

export function encodeOutcomes(outcomes: LineOutcome[]): { encoded: EncodedOutcomes; transfer: ArrayBuffer[] } {
  const encoder = new OutcomeEncoder(outcomes.length);
  for (let i = 0; i < outcomes.length; i++) encoder.put(i, outcomes[i]);
  return encoder.finish();
}

/**
 * Fills one batch's columns line by line, in order: `put` for an outcome object, `putPlain` for
 * a line the fast path (fastline.ts) checked from its bytes, whose outcome has nothing to report.
 */
export class OutcomeEncoder {
  readonly enc: EncodedOutcomes;
  private readonly addresses: Buffer;

  constructor(n: number) {
    this.enc = {
      n,
      flags: new Uint16Array(n),
      block: new Int32Array(n),
      id: new Float64Array(n),
      fingerprint: new Uint32Array(n),
      height: new Int32Array(n),
      whole: new Float64Array(n),
      frac: new Float64Array(n),
      credited: new Float64Array(n),
      nbits: new Uint32Array(n),
      key: new Int32Array(n).fill(-1),
      headerHash: new Uint8Array(n * 32),
      address: new Uint8Array(n * 20),
      extras: [],
    };
    this.addresses = Buffer.from(this.enc.address.buffer, this.enc.address.byteOffset, this.enc.address.byteLength);
  }

  /**
   * Line `i` with a plain outcome: parsed, canonical (lower-case address, hash and nbits; credited
   * an exact number), its hash the logged one, no finding; `height` undefined without a chain.
   * The header hash (32 bytes, internal order) and the address's 20 bytes at `address[addressAt]`
   * are copied.
   */
  putPlain(i: number, block: number, id: number, fingerprint: number, height: number | undefined, chained: boolean, hash: Uint8Array, address: Uint8Array, addressAt: number, whole: number, frac: number, credited: number, nbits: number, isBlock: boolean, key = -1): void {
    const enc = this.enc;
    let flags = PARSED | HEADER_HASH | HASH_CANON | ADDRESS_CANON | NBITS_CANON | CREDITED_NUM;
    if (chained) flags |= CHAIN;
    if (height !== undefined) {
      flags |= HEIGHT;
      enc.height[i] = height;
    }
    if (isBlock) flags |= IS_BLOCK;
    enc.flags[i] = flags;
    enc.block[i] = block;
    enc.id[i] = id;
    enc.fingerprint[i] = fingerprint;
    enc.headerHash.set(hash, i * 32);
    const a = enc.address;
    for (let k = 0, o = i * 20; k < 20; k++) a[o + k] = address[addressAt + k];
    enc.whole[i] = whole;
    enc.frac[i] = frac;
    enc.credited[i] = credited;
    enc.nbits[i] = nbits;
    enc.key[i] = key;
  }

  /** Line `i`'s outcome object. */
  put(i: number, o: LineOutcome): void {
    const enc = this.enc;
    const addresses = this.addresses;
    let flags = 0;
    let extra: Extra | undefined;
    const x = (): Extra => (extra ??= { i });
    if (o.unknown.length > 0) x().unknown = o.unknown;
    const s = o.share;
    if (!s) {
      if (o.malformed !== undefined) x().malformed = o.malformed;
    } else {
      flags |= PARSED;
      enc.block[i] = s.block;
      enc.id[i] = s.id;
      enc.fingerprint[i] = s.fingerprint;
      if (s.headerHash) {
        flags |= HEADER_HASH;
        enc.headerHash.set(s.headerHash, i * 32);
        if (s.hashIsLogged ? !UPPER_HEX.test(s.hash) : s.hash === hashToDisplayHex(s.headerHash)) flags |= HASH_CANON;
      }
      if (!(flags & HASH_CANON)) x().hash = s.hash;
      if (s.work !== undefined) x().work = s.work;
      if (s.chain) {
        flags |= CHAIN;
        if (s.chain.length > 0) x().chain = s.chain;
      }
      if (s.height !== undefined) {
        flags |= HEIGHT;
        enc.height[i] = s.height;
      }
      if (s.chainError !== undefined) x().chainError = s.chainError;
      if (s.entry) x().entry = s.entry;
      const w = s.weighed;
      enc.whole[i] = w.whole;
      enc.frac[i] = w.frac;
      if (w.isBlock) flags |= IS_BLOCK;
      if (w.problem !== undefined) x().problem = w.problem;
      if (w.mismatch !== undefined) x().mismatch = w.mismatch;
      if (ADDRESS_RE.test(w.address)) {
        flags |= ADDRESS_CANON;
        addresses.write(w.address.slice(2), i * 20, 20, "hex"); // never a partial write: the regex checked 40 hex digits
      } else x().address = w.address;
      if (NBITS_RE.test(w.nbits)) {
        flags |= NBITS_CANON;
        enc.nbits[i] = parseInt(w.nbits, 16);
      } else x().nbits = w.nbits;
      if (w.credited <= BigInt(Number.MAX_SAFE_INTEGER)) {
        flags |= CREDITED_NUM;
        enc.credited[i] = Number(w.credited);
      } else x().credited = w.credited.toString();
      // The weighed share repeats block, id and hash (same values as the share's).
    }
    if (extra) {
      flags |= EXTRA;
      enc.extras.push(extra);
    }
    enc.flags[i] = flags;
  }

  finish(): { encoded: EncodedOutcomes; transfer: ArrayBuffer[] } {
    const enc = this.enc;
    const transfer = [enc.flags, enc.block, enc.id, enc.fingerprint, enc.height, enc.whole, enc.frac, enc.credited, enc.nbits, enc.key, enc.headerHash, enc.address].map((a) => a.buffer as ArrayBuffer);
    return { encoded: enc, transfer };
  }
}

const NO_UNKNOWN: string[] = [];

/**
 * A decoded share line: the hash and nbits strings are made only when read (the fold reads them
 * for the newest share of a window and in findings, not for every line).
 */
class DecodedWeighed implements WeighedShare {
  problem?: string;
  mismatch?: string;
  private hashText?: string;
  constructor(
    private readonly enc: EncodedOutcomes,
    private readonly i: number,
    private readonly hashes: Buffer,
    private readonly extra: Extra | undefined,
    readonly block: number,
    readonly id: number,
    readonly address: string,
    readonly credited: bigint,
    readonly whole: number,
    readonly frac: number,
  ) {}

  get isBlock(): boolean {
    return (this.enc.flags[this.i] & IS_BLOCK) !== 0;
  }

  get hash(): string {
    if (this.hashText === undefined) {
      this.hashText = this.enc.flags[this.i] & HASH_CANON ? hashToDisplayHex(this.hashes.subarray(this.i * 32, this.i * 32 + 32)) : this.extra!.hash!;
    }
    return this.hashText;
  }

  get nbits(): string {
    return this.enc.flags[this.i] & NBITS_CANON ? this.enc.nbits[this.i].toString(16).padStart(8, "0") : this.extra!.nbits!;
  }
}

class DecodedShare implements ShareOutcome {
  headerHash?: Buffer;
  work?: string;
  chain?: [string, string][];
  height?: number;
  chainError?: string;
  entry?: ShareLogEntry;
  constructor(
    readonly weighed: DecodedWeighed,
    readonly fingerprint: number,
  ) {}

  get block(): number {
    return this.weighed.block;
  }

  get id(): number {
    return this.weighed.id;
  }

  get hash(): string {
    return this.weighed.hash;
  }
}

const PLAIN = PARSED | HEADER_HASH | HASH_CANON | ADDRESS_CANON | NBITS_CANON | CREDITED_NUM;
const PLAIN_MASK = PLAIN | EXTRA;

/** What foldOutcomes feeds: EpochAudit (epochaudit.ts), or anything folding lines the same way. */
export type OutcomeFolder = Pick<EpochAudit, "foldsPlain" | "fold" | "foldPlain">;

/** One batch read back line by line, for the lines folded from columns. */
class BatchSource {
  readonly hashAt: (i: number) => string;
  constructor(
    private readonly enc: EncodedOutcomes,
    private readonly hashes: Buffer,
    private readonly addresses: Buffer,
  ) {
    this.hashAt = (i: number) => hashToDisplayHex(this.hashes.subarray(i * 32, i * 32 + 32));
  }

  /** The weighed share of plain line `i` (no extras). */
  weighedAt(i: number): WeighedShare {
    return decodeWeighed(this.enc, i, this.hashes, this.addresses, undefined);
  }
}

/**
 * Folds every line of the batch into `folder`, in order: lines with nothing to report straight
 * from the columns (foldPlain), the others as outcomes (fold). The same result as calling
 * `folder.fold` with each outcome of forEachOutcome (a test compares them).
 */
export function foldOutcomes(enc: EncodedOutcomes, folder: OutcomeFolder): void {
  if (!folder.foldsPlain) {
    forEachOutcome(enc, (o) => folder.fold(o));
    return;
  }
  const hashes = Buffer.from(enc.headerHash.buffer, enc.headerHash.byteOffset, enc.headerHash.byteLength);
  const addresses = Buffer.from(enc.address.buffer, enc.address.byteOffset, enc.address.byteLength);
  const source = new BatchSource(enc, hashes, addresses);
  const flags = enc.flags;
  let e = 0;
  for (let i = 0; i < enc.n; i++) {
    const f = flags[i];
    if ((f & PLAIN_MASK) === PLAIN) {
      folder.foldPlain(enc.block[i], enc.id[i], enc.fingerprint[i], f & HEIGHT ? enc.height[i] : undefined, hashes, i * 32, addresses, i * 20, enc.whole[i], enc.frac[i], enc.credited[i], source, i, enc.key[i]);
    } else {
      folder.fold(decodeLine(enc, i, hashes, addresses, f & EXTRA ? enc.extras[e++] : undefined));
    }
  }
}

function decodeWeighed(enc: EncodedOutcomes, i: number, hashes: Buffer, addresses: Buffer, extra: Extra | undefined): DecodedWeighed {
  const flags = enc.flags[i];
  return new DecodedWeighed(
    enc,
    i,
    hashes,
    extra,
    enc.block[i],
    enc.id[i],
    flags & ADDRESS_CANON ? "0x" + addresses.toString("hex", i * 20, i * 20 + 20) : extra!.address!,
    flags & CREDITED_NUM ? BigInt(enc.credited[i]) : BigInt(extra!.credited!),
    enc.whole[i],
    enc.frac[i],
  );
}

function decodeLine(enc: EncodedOutcomes, i: number, hashes: Buffer, addresses: Buffer, extra: Extra | undefined): LineOutcome {
  const flags = enc.flags[i];
  if (!(flags & PARSED)) return { unknown: extra?.unknown ?? NO_UNKNOWN, malformed: extra?.malformed };
  const weighed = decodeWeighed(enc, i, hashes, addresses, extra);
  const share = new DecodedShare(weighed, enc.fingerprint[i]);
  if (flags & HEADER_HASH) share.headerHash = hashes.subarray(i * 32, i * 32 + 32);
  if (flags & CHAIN) share.chain = extra?.chain ?? NO_CHAIN;
  if (flags & HEIGHT) share.height = enc.height[i];
  if (extra) {
    if (extra.problem !== undefined) weighed.problem = extra.problem;
    if (extra.mismatch !== undefined) weighed.mismatch = extra.mismatch;
    if (extra.work !== undefined) share.work = extra.work;
    if (extra.chainError !== undefined) share.chainError = extra.chainError;
    if (extra.entry) share.entry = extra.entry;
  }
  return { unknown: extra?.unknown ?? NO_UNKNOWN, share };
}

/** Calls `each` with the outcome of every line of the batch, in order. */
export function forEachOutcome(enc: EncodedOutcomes, each: (o: LineOutcome) => void): void {
  const hashes = Buffer.from(enc.headerHash.buffer, enc.headerHash.byteOffset, enc.headerHash.byteLength);
  const addresses = Buffer.from(enc.address.buffer, enc.address.byteOffset, enc.address.byteLength);
  let e = 0;
  for (let i = 0; i < enc.n; i++) each(decodeLine(enc, i, hashes, addresses, enc.flags[i] & EXTRA ? enc.extras[e++] : undefined));
}

const NO_CHAIN: [string, string][] = [];
