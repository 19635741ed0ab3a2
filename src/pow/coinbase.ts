import { encodeVarInt, hexToBuffer, isHex } from "./hex";

/**
 * BIP34 height in the coinbase scriptSig, as Bitcoin Core writes `CScript() << nHeight`:
 * OP_0 for 0, OP_1..OP_16 for 1..16, otherwise a minimal little-endian script number push.
 */
export function bip34HeightPush(height: number): Buffer {
  if (!Number.isSafeInteger(height) || height < 0 || height > 0x7fffffff) {
    throw new RangeError(`bip34HeightPush: height must be an integer in 0..2^31-1, got ${height}`);
  }
  if (height === 0) return Buffer.from([0x00]);
  if (height <= 16) return Buffer.from([0x50 + height]);
  const bytes: number[] = [];
  for (let n = height; n > 0; n = Math.floor(n / 256)) bytes.push(n & 0xff);
  if (bytes[bytes.length - 1] & 0x80) bytes.push(0x00); // keep the number positive
  return Buffer.from([bytes.length, ...bytes]);
}

/** Reads a BIP34 height push at the start of a scriptSig; undefined when it is not one. */
export function readBip34Height(script: Buffer): { height: number; length: number } | undefined {
  const length = bip34At(script, 0, script.length, HEIGHT);
  return length === 0 ? undefined : { height: HEIGHT.height, length };
}

const HEIGHT = { height: 0 };

/** readBip34Height of the script b[s, e), allocation-free: the push's length (0: none), its height into `out`. */
function bip34At(b: Uint8Array, s: number, e: number, out: { height: number }): number {
  if (s >= e) return 0;
  const op = b[s];
  if (op === 0x00) {
    out.height = 0;
    return 1;
  }
  if (op >= 0x51 && op <= 0x60) {
    out.height = op - 0x50;
    return 1;
  }
  if (op < 0x01 || op > 0x04 || e - s < 1 + op) return 0;
  if (b[s + op] & 0x80) return 0; // negative
  let height = 0;
  for (let i = op; i >= 1; i--) height = height * 256 + b[s + i];
  out.height = height;
  return 1 + op;
}

export interface TxOutput {
  value: bigint;
  script: Buffer;
}

export interface CoinbasePartsParams {
  height: number;
  /** The miner's EVM payout address, 0x + 40 hex (any case). */
  payoutAddress: string;
  /**
   * The share difficulty the job is sent with, in difficulty units (difficulty × 10^12, see
   * shares/difficulty.ts), committed right after the address: the share target is
   * DIFF1 × 10^12 / units (`unitsToTarget`).
   */
  shareDifficultyUnits: bigint;
  /** Optional short tag (e.g. "/pplns-pool/"), pushed after the address. */
  poolTag?: string;
  extranonce1Size: number;
  extranonce2Size: number;
  outputs: TxOutput[];
  /** Full output script of the segwit witness commitment (6a24aa21a9ed…), added as a 0-value output. */
  witnessCommitment?: Buffer;
}

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const MAX_OUTPUT_VALUE = (1n << 63n) - 1n;

function pushData(data: Buffer): Buffer {
  if (data.length > 75) throw new RangeError(`push of ${data.length} bytes is too long for the coinbase scriptSig`);
  return Buffer.concat([Buffer.from([data.length]), data]);
}

/** Most bytes a committed share difficulty may take (units up to 2^128 - 1). */
export const MAX_DIFFICULTY_COMMITMENT_BYTES = 16;

/**
 * The share-difficulty commitment: a push of the difficulty units (difficulty × 10^12) as a
 * minimal little-endian unsigned integer of 1..16 bytes. Throws RangeError for 0 or ≥ 2^128.
 */
export function difficultyCommitmentPush(units: bigint): Buffer {
  if (typeof units !== "bigint" || units <= 0n || units >= 1n << BigInt(8 * MAX_DIFFICULTY_COMMITMENT_BYTES)) {
    throw new RangeError(`share difficulty units must be a bigint in 1..2^128-1, got ${String(units)}`);
  }
  const bytes: number[] = [];
  for (let n = units; n > 0n; n >>= 8n) bytes.push(Number(n & 0xffn));
  return Buffer.from([bytes.length, ...bytes]);
}

/**
 * Splits a coinbase transaction around the extranonces. scriptSig =
 * height push (BIP34) ‖ push(20-byte payout address) ‖ push(share difficulty units, 1..16 bytes LE)
 * ‖ [push(pool tag)] ‖ push(extranonce1 ‖ extranonce2);
 * coinb1 ends with that last push opcode, so extranonce1 starts right after it.
 * Serialization is non-witness (what Stratum hashes for the merkle root). The layout is
 * documented byte by byte in docs/accounting.md ("What a coinbase commits to").
 */
export function buildCoinbaseParts(p: CoinbasePartsParams): { coinb1: string; coinb2: string } {
  if (typeof p.payoutAddress !== "string" || !ADDRESS_RE.test(p.payoutAddress)) {
    throw new RangeError(`payoutAddress must be 0x followed by 40 hex characters, got ${JSON.stringify(p.payoutAddress)}`);
  }
  const en1 = p.extranonce1Size;
  const en2 = p.extranonce2Size;
  if (!Number.isInteger(en1) || !Number.isInteger(en2) || en1 < 0 || en2 < 1 || en1 + en2 > 75) {
    throw new RangeError(`extranonce sizes must be integers with extranonce2 >= 1 and a sum <= 75, got ${en1}+${en2}`);
  }
  if (!Array.isArray(p.outputs) || p.outputs.length === 0) throw new RangeError("coinbase needs at least one output");

  const heightPush = bip34HeightPush(p.height);
  const addressPush = pushData(Buffer.from(p.payoutAddress.slice(2), "hex"));
  const difficultyPush = difficultyCommitmentPush(p.shareDifficultyUnits);
  const tagPush = p.poolTag ? pushData(Buffer.from(p.poolTag, "utf8")) : Buffer.alloc(0);
  const scriptSigLength = heightPush.length + addressPush.length + difficultyPush.length + tagPush.length + 1 + en1 + en2;
  if (scriptSigLength < 2 || scriptSigLength > 100) {
    throw new RangeError(`coinbase scriptSig would be ${scriptSigLength} bytes (allowed 2..100); shorten the pool tag`);
  }

  const version = Buffer.alloc(4);
  version.writeUInt32LE(1);
  const coinb1 = Buffer.concat([
    version,
    Buffer.from([0x01]), // one input
    Buffer.alloc(32), // null prevout hash
    Buffer.from([0xff, 0xff, 0xff, 0xff]), // prevout index
    encodeVarInt(scriptSigLength),
    heightPush,
    addressPush,
    difficultyPush,
    tagPush,
    Buffer.from([en1 + en2]), // push opcode covering both extranonces
  ]);

  const outputs = p.witnessCommitment ? [...p.outputs, { value: 0n, script: p.witnessCommitment }] : p.outputs;
  const outParts: Buffer[] = [encodeVarInt(outputs.length)];
  for (const out of outputs) {
    if (typeof out.value !== "bigint" || out.value < 0n || out.value > MAX_OUTPUT_VALUE) {
      throw new RangeError(`coinbase output value must be a bigint in 0..2^63-1, got ${String(out.value)}`);
    }
    if (!Buffer.isBuffer(out.script)) throw new RangeError("coinbase output script must be a Buffer");
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(out.value);
    outParts.push(value, encodeVarInt(out.script.length), out.script);
  }
  const coinb2 = Buffer.concat([
    Buffer.from([0xff, 0xff, 0xff, 0xff]), // sequence
    ...outParts,
    Buffer.alloc(4), // locktime 0
  ]);
  return { coinb1: coinb1.toString("hex"), coinb2: coinb2.toString("hex") };
}

/** What coinb1 commits to: the BIP34 height, the payout address and the share difficulty. */
export interface CoinbaseCommitments {
  height: number;
  /** 0x + 40 lower-case hex. */
  address: string;
  /** Share difficulty units (difficulty × 10^12), or undefined when coinb1 carries none. */
  shareDifficultyUnits?: bigint;
}

/** Where coinb1's commitments are in its bytes (locateCommitments): offsets into the buffer given. */
export interface CommitmentPlaces {
  /** The BIP34 height. */
  height: number;
  /** Offset of the 20 address bytes. */
  address: number;
  /** Offset of the difficulty units' little-endian bytes, and their count (0: no difficulty committed). */
  units: number;
  unitsLength: number;
}

/**
 * Parses coinb1's scriptSig as buildCoinbaseParts lays it out; undefined when it does not start
 * with a BIP34 height and a 20-byte address push. The difficulty is read when the push after the
 * address is a 1..16-byte push of a minimal positive integer.
 */
export function coinbaseCommitments(coinb1: string): CoinbaseCommitments | undefined {
  if (!isHex(coinb1)) return undefined;
  return coinbaseCommitmentsOfBytes(Buffer.from(coinb1, "hex"));
}

/** coinbaseCommitments of coinb1 given as bytes. */
export function coinbaseCommitmentsOfBytes(coinb1: Buffer): CoinbaseCommitments | undefined {
  const at: CommitmentPlaces = { height: 0, address: 0, units: 0, unitsLength: 0 };
  if (!locateCommitments(coinb1, 0, coinb1.length, at)) return undefined;
  const address = "0x" + coinb1.toString("hex", at.address, at.address + 20);
  if (at.unitsLength === 0) return { height: at.height, address };
  let units = 0n;
  for (let i = at.unitsLength - 1; i >= 0; i--) units = (units << 8n) | BigInt(coinb1[at.units + i]);
  return { height: at.height, address, shareDifficultyUnits: units };
}

/**
 * coinbaseCommitments of the coinb1 in b[start, end), allocation-free (the audit's fast path reads
 * it inside the built coinbase): false when coinb1 has none, else the places filled in. coinb1 is
 * a version, one input with the null prevout, the scriptSig's length (a varint whose value is not
 * used: the scriptSig so far runs to coinb1's end), and the scriptSig's start.
 */
export function locateCommitments(b: Uint8Array, start: number, end: number, out: CommitmentPlaces): boolean {
  const p = scriptSigStart(b, start, end);
  if (p < 0) return false;
  const h = bip34At(b, p, end, out);
  if (h === 0) return false;
  if (end - p < h + 21 || b[p + h] !== 0x14) return false;
  out.address = p + h + 1;
  out.units = 0;
  out.unitsLength = 0;
  const at = p + h + 21;
  if (at >= end) return true;
  const n = b[at];
  if (n < 1 || n > MAX_DIFFICULTY_COMMITMENT_BYTES || end - at < 1 + n || b[at + n] === 0) return true;
  out.units = at + 1;
  out.unitsLength = n;
  return true;
}

/** Where the scriptSig starts in the coinb1 b[start, end) (it runs to coinb1's end); -1 when coinb1 is not a coinbase's start. */
function scriptSigStart(b: Uint8Array, start: number, end: number): number {
  let p = start + 4; // version
  if (p + 1 > end || b[p] !== 0x01) return -1; // one input
  p++;
  if (p + 36 > end) return -1;
  for (let k = 0; k < 32; k++) if (b[p + k] !== 0) return -1; // null prevout hash
  for (let k = 32; k < 36; k++) if (b[p + k] !== 0xff) return -1; // prevout index 0xffffffff
  p += 36;
  if (p >= end) return -1;
  const first = b[p];
  const size = first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
  if (p + size > end) return -1;
  // A 9-byte varint above 2^53 - 1 is unreadable (ByteReader.varInt).
  if (first === 0xff && (b[p + 5] | (b[p + 6] << 8) | (b[p + 7] << 16) | (b[p + 8] << 24)) >>> 0 >= 0x200000) return -1;
  return p + size;
}

/** The payout address committed in coinb1 (0x lower-case), or undefined if coinb1 has none. */
export function coinbasePayoutAddress(coinb1: string): string | undefined {
  return coinbaseCommitments(coinb1)?.address;
}

/** The share difficulty units committed in coinb1, or undefined if coinb1 has none. */
export function coinbaseShareDifficultyUnits(coinb1: string): bigint | undefined {
  return coinbaseCommitments(coinb1)?.shareDifficultyUnits;
}

/** The BIP34 height committed in coinb1, or undefined. */
export function coinbaseHeight(coinb1: string): number | undefined {
  if (!isHex(coinb1)) return undefined;
  const b = Buffer.from(coinb1, "hex");
  const p = scriptSigStart(b, 0, b.length);
  return p >= 0 && bip34At(b, p, b.length, HEIGHT) > 0 ? HEIGHT.height : undefined;
}

/**
 * coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2 as bytes (hex validated: RangeError naming the part).
 * Decoded straight into one buffer (every share's hot path, server and audit); the plain
 * `Buffer.concat` of the four decodings is `buildCoinbaseReference`, and a test compares them.
 */
export function buildCoinbase(coinb1: string, extranonce1: string, extranonce2: string, coinb2: string): Buffer {
  if (typeof coinb1 !== "string" || typeof extranonce1 !== "string" || typeof extranonce2 !== "string" || typeof coinb2 !== "string") {
    return buildCoinbaseReference(coinb1, extranonce1, extranonce2, coinb2);
  }
  const buf = Buffer.allocUnsafe((coinb1.length + extranonce1.length + extranonce2.length + coinb2.length) >> 1);
  let at = writeHexPart(buf, 0, coinb1, "coinb1");
  at = writeHexPart(buf, at, extranonce1, "extranonce1");
  at = writeHexPart(buf, at, extranonce2, "extranonce2");
  at = writeHexPart(buf, at, coinb2, "coinb2");
  return at === buf.length ? buf : buf.subarray(0, at);
}

/** Decodes `hex` into `buf` at `at`; returns the end. Anything but even-length hex throws as hexToBuffer does. */
function writeHexPart(buf: Buffer, at: number, hex: string, name: string): number {
  // Buffer#write stops at the first non-hex pair, so the count written tells whether all were hex.
  if ((hex.length & 1) !== 0 || buf.write(hex, at, "hex") * 2 !== hex.length) hexToBuffer(hex, name);
  return at + (hex.length >> 1);
}

/** buildCoinbase, plainly: the four parts decoded and concatenated. */
export function buildCoinbaseReference(coinb1: string, extranonce1: string, extranonce2: string, coinb2: string): Buffer {
  return Buffer.concat([
    hexToBuffer(coinb1, "coinb1"),
    hexToBuffer(extranonce1, "extranonce1"),
    hexToBuffer(extranonce2, "extranonce2"),
    hexToBuffer(coinb2, "coinb2"),
  ]);
}
