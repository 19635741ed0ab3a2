/** Hex and byte helpers shared by the proof-of-work modules. */

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function isHex(value: unknown, bytes?: number): value is string {
  if (typeof value !== "string" || !HEX_RE.test(value)) return false;
  return bytes === undefined || value.length === bytes * 2;
}

/**
 * Decodes hex strictly. Buffer.from silently stops at the first bad character (and drops an odd
 * last one), so the decoded length tells whether every character was hex: the same rule as
 * isHex, without a second pass over the string (this is on every share's hot path).
 */
export function hexToBuffer(value: string, name = "hex", bytes?: number): Buffer {
  if (typeof value === "string" && (bytes === undefined || value.length === bytes * 2)) {
    const buf = Buffer.from(value, "hex");
    if (buf.length * 2 === value.length) return buf;
  }
  const want = bytes === undefined ? "even-length hex" : `${bytes * 2} hex characters`;
  throw new RangeError(`${name}: expected ${want}, got ${describe(value)}`);
}

/** Parses an 8-hex-character big-endian 32-bit field (version, nbits, ntime, nonce). */
export function hexToUint32(value: string, name: string): number {
  if (!isHex(value, 4)) throw new RangeError(`${name}: expected 8 hex characters, got ${describe(value)}`);
  return parseInt(value, 16) >>> 0;
}

export function uint32ToHex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}

export function reverseHex(hex: string, name = "hex"): string {
  return Buffer.from(hexToBuffer(hex, name)).reverse().toString("hex");
}

export function describe(value: unknown): string {
  if (typeof value === "string") return value.length > 80 ? `"${value.slice(0, 77)}..." (${value.length} chars)` : `"${value}"`;
  return String(value);
}

/** Bitcoin CompactSize ("varint"). */
export function encodeVarInt(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint: bad value ${n}`);
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(n, 1);
    return b;
  }
  if (n <= 0xffffffff) {
    const b = Buffer.alloc(5);
    b[0] = 0xfe;
    b.writeUInt32LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xff;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

/** A bounds-checked reader over serialized Bitcoin data; every overrun is a clear RangeError. */
export class ByteReader {
  offset: number;
  constructor(readonly buf: Buffer, offset = 0) {
    this.offset = offset;
  }
  get remaining(): number {
    return this.buf.length - this.offset;
  }
  need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new RangeError(`truncated data reading ${what} at byte ${this.offset} (need ${n}, have ${this.remaining})`);
    }
  }
  bytes(n: number, what = "bytes"): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  u8(what = "byte"): number {
    this.need(1, what);
    return this.buf[this.offset++];
  }
  u32(what = "uint32"): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  u64(what = "uint64"): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.offset);
    this.offset += 8;
    return v;
  }
  varInt(what = "varint"): number {
    const first = this.u8(what);
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.need(2, what);
      const v = this.buf.readUInt16LE(this.offset);
      this.offset += 2;
      return v;
    }
    if (first === 0xfe) return this.u32(what);
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what}: varint too large`);
    return Number(v);
  }
}
