import { sha256d, hashToBigInt } from "./hash";
import { hexToUint32, uint32ToHex } from "./hex";
import { prevhashFromNotify } from "./prevhash";
import { buildCoinbase } from "./coinbase";
import { merkleRootFromBranch } from "./merkle";

export interface HeaderParams {
  /** 8 hex, big-endian (as in mining.notify / mining.submit). */
  version: string;
  /** mining.notify form (word-swapped). */
  prevhash: string;
  /** 32 bytes, internal order. */
  merkleRoot: Buffer;
  ntime: string;
  nbits: string;
  nonce: string;
}

/** The 80-byte block header; version, ntime, nbits and nonce arrive big-endian and go in little-endian. */
export function buildHeader(p: HeaderParams): Buffer {
  if (!Buffer.isBuffer(p.merkleRoot) || p.merkleRoot.length !== 32) throw new RangeError("merkleRoot must be 32 bytes");
  const header = Buffer.allocUnsafe(80); // every byte is written below
  header.writeUInt32LE(hexToUint32(p.version, "version"), 0);
  // prevhashFromNotify, decoded in place: 64 hex characters, each 4-byte word byte-swapped.
  if (typeof p.prevhash !== "string" || p.prevhash.length !== 64 || header.write(p.prevhash, 4, "hex") !== 32) prevhashFromNotify(p.prevhash);
  header.subarray(4, 36).swap32();
  p.merkleRoot.copy(header, 36);
  header.writeUInt32LE(hexToUint32(p.ntime, "ntime"), 68);
  header.writeUInt32LE(hexToUint32(p.nbits, "nbits"), 72);
  header.writeUInt32LE(hexToUint32(p.nonce, "nonce"), 76);
  return header;
}

/** BIP310 version rolling: (version & ~mask) | (bits & mask), not XOR. */
export function applyVersionRolling(jobVersion: string, versionBits: string, mask: string): string {
  const v = hexToUint32(jobVersion, "version");
  const b = hexToUint32(versionBits, "version bits");
  const m = hexToUint32(mask, "version mask");
  return uint32ToHex((v & ~m) | (b & m));
}

/** True when the submitted version bits touch only bits inside the negotiated mask. */
export function versionBitsWithinMask(bits: string, mask: string): boolean {
  const b = hexToUint32(bits, "version bits");
  const m = hexToUint32(mask, "version mask");
  return (b & ~m) === 0;
}

export interface ShareWork {
  coinb1: string;
  coinb2: string;
  extranonce1: string;
  extranonce2: string;
  merkleBranch: (string | Buffer)[];
  /** Final header version (after version rolling), 8 hex BE. */
  version: string;
  /** mining.notify form. */
  prevhash: string;
  nbits: string;
  ntime: string;
  nonce: string;
}

export interface ShareWorkResult {
  header: Buffer;
  hash: Buffer;
  /** hash as a little-endian 256-bit number, to compare with targets. */
  hashValue: bigint;
  /** Non-witness coinbase. */
  coinbase: Buffer;
}

/** Re-assembles a share exactly as the miner did and hashes it. Throws RangeError on malformed fields. */
export function verifyShareWork(s: ShareWork): ShareWorkResult {
  const coinbase = buildCoinbase(s.coinb1, s.extranonce1, s.extranonce2, s.coinb2);
  const merkleRoot = merkleRootFromBranch(sha256d(coinbase), s.merkleBranch);
  const header = buildHeader({
    version: s.version,
    prevhash: s.prevhash,
    merkleRoot,
    ntime: s.ntime,
    nbits: s.nbits,
    nonce: s.nonce,
  });
  return new Work(header, sha256d(header), coinbase);
}

/** A ShareWorkResult whose hashValue (a bigint: allocations) is made only when read. */
class Work implements ShareWorkResult {
  private value?: bigint;
  constructor(
    readonly header: Buffer,
    readonly hash: Buffer,
    readonly coinbase: Buffer,
  ) {}

  get hashValue(): bigint {
    return (this.value ??= hashToBigInt(this.hash));
  }
}
