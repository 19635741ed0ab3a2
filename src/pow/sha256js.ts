/**
 * SHA-256 in plain JavaScript for short inputs. For 64-80 byte messages the cost of a node:crypto
 * call (~1.3 µs each, two per sha256d) exceeds the hashing itself; compressing in JS avoids that.
 */
// FIPS 180-4 round constants and initial hash value (sha256wasm.ts assembles them into its code).
export const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
export const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Int32Array(64);
const H = new Int32Array(8);

/** One compression of the 16 words already in W[0..15] into H. */
function compress(): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15];
    const w2 = W[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0;
    d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
}

const TAIL = new Uint8Array(128);

function loadBlock(bytes: Uint8Array, o: number): void {
  for (let i = 0; i < 16; i++) {
    const p = o + (i << 2);
    W[i] = (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
  }
}

/**
 * SHA-256's padding ends with the message length in bits, 64-bit big-endian: written into
 * b[end - 8, end) for a message of `lengthBytes` bytes (exact up to 2^53 bytes).
 */
export function putBitLength(b: Uint8Array, end: number, lengthBytes: number): void {
  const hi = Math.floor(lengthBytes / 0x20000000);
  const lo = (lengthBytes << 3) >>> 0;
  b[end - 8] = hi >>> 24;
  b[end - 7] = hi >>> 16;
  b[end - 6] = hi >>> 8;
  b[end - 5] = hi;
  b[end - 4] = lo >>> 24;
  b[end - 3] = lo >>> 16;
  b[end - 2] = lo >>> 8;
  b[end - 1] = lo;
}

/** sha256 of data[start, start + len) into H (not yet serialized). */
function hashInto(data: Uint8Array, start: number, len: number): void {
  H.set(IV);
  const full = len & ~63;
  for (let o = 0; o < full; o += 64) {
    loadBlock(data, start + o);
    compress();
  }
  // Tail: remaining bytes, 0x80, zeros, 64-bit big-endian bit length (one or two blocks).
  const rem = len - full;
  const tailLength = rem + 9 > 64 ? 128 : 64;
  TAIL.fill(0);
  for (let k = 0; k < rem; k++) TAIL[k] = data[start + full + k];
  TAIL[rem] = 0x80;
  putBitLength(TAIL, tailLength, len);
  for (let o = 0; o < tailLength; o += 64) {
    loadBlock(TAIL, o);
    compress();
  }
}

/** The second pass of sha256d over the first pass's H: the 32-byte digest is exactly one padded block. */
function secondPass(): void {
  for (let i = 0; i < 8; i++) W[i] = H[i];
  W[8] = 0x80000000 | 0;
  for (let i = 9; i < 15; i++) W[i] = 0;
  W[15] = 256;
  H.set(IV);
  compress();
}

/** sha256d in JavaScript; equal to sha256(sha256(data)). */
export function sha256dJs(data: Uint8Array): Buffer {
  hashInto(data, 0, data.length);
  secondPass();
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 8; i++) out.writeInt32BE(H[i], i * 4);
  return out;
}

export function sha256Js(data: Uint8Array): Buffer {
  hashInto(data, 0, data.length);
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 8; i++) out.writeInt32BE(H[i], i * 4);
  return out;
}

/**
 * Incremental SHA-256 in JavaScript, for long streams where node:crypto is not available (the
 * browser audit's share-log digest); Node code uses node:crypto's createHash("sha256"), and a
 * test compares the two on random and hostile chunkings. Lengths are exact up to 2^53 bytes.
 */
export class Sha256Js {
  private readonly state = Int32Array.from(IV);
  private readonly block = new Uint8Array(64);
  private blockLength = 0;
  private length = 0;
  private finished = false;

  update(data: Uint8Array): this {
    if (this.finished) throw new Error("sha256: update after digest");
    H.set(this.state);
    this.length += data.length;
    let o = 0;
    if (this.blockLength > 0) {
      const take = Math.min(64 - this.blockLength, data.length);
      this.block.set(data.subarray(0, take), this.blockLength);
      this.blockLength += take;
      o = take;
      if (this.blockLength === 64) {
        loadBlock(this.block, 0);
        compress();
        this.blockLength = 0;
      }
    }
    for (; o + 64 <= data.length; o += 64) {
      loadBlock(data, o);
      compress();
    }
    if (o < data.length) {
      this.block.set(data.subarray(o), 0);
      this.blockLength = data.length - o;
    }
    this.state.set(H);
    return this;
  }

  /** The 32-byte digest; the hash cannot be updated afterwards. */
  digest(): Buffer {
    if (this.finished) throw new Error("sha256: digest called twice");
    this.finished = true;
    H.set(this.state);
    const b = this.block;
    b.fill(0, this.blockLength);
    b[this.blockLength] = 0x80;
    if (this.blockLength + 9 > 64) {
      loadBlock(b, 0);
      compress();
      b.fill(0);
    }
    putBitLength(b, 64, this.length);
    loadBlock(b, 0);
    compress();
    const out = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) out.writeInt32BE(H[i], i * 4);
    return out;
  }
}
