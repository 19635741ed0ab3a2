/**
 * A set of 32-byte header hashes (sha256d of an 80-byte block header), with an optional number
 * stored per hash: the duplicate filter of "one header, one credit" (DESIGN), used by the Stratum
 * server (one set per previous block) and by the auditor (hash → share id over a share log).
 *
 * Each hash is kept as its first 16 bytes (the least significant 128 bits of the hash read as a
 * little-endian number: never the zero bytes that proof of work forces into the top) in a flat
 * open-addressing table with linear probing: 16 bytes a slot (24 with a number kept per hash, in
 * the same slot: one cache line per lookup), no object per entry, so that tens of millions of
 * shares fit in a few hundred MiB and never burden the garbage collector. Two different headers
 * are taken for one only if 128 bits of their sha256d agree.
 *
 * `ReferenceHeaderHashSet` below is the plain version (a Map keyed by the hex hash) that the tests
 * compare this one with on random and hostile inputs.
 */

/** `add` returned this: the hash was not in the set and now is. */
export const HASH_ADDED = -1;
/** `add` returned this: the set holds `maxEntries` hashes already; nothing was added. */
export const HASH_SET_FULL = -2;

const MIN_CAPACITY = 1 << 10;

export interface HeaderHashSetOptions {
  /** Slots allocated at first (rounded up to a power of two); the table doubles past `maxLoad`. */
  initialCapacity?: number;
  /**
   * Fraction of slots that may be taken before the table doubles, 0.5 (default: short probe runs,
   * the share path) to 0.9 (less memory: the auditor's one table for a whole epoch sizes it at 0.75).
   */
  maxLoad?: number;
  /** At most this many hashes; `add` returns HASH_SET_FULL beyond. Default unbounded. */
  maxEntries?: number;
  /** Keep a number (0 ≤ value ≤ 2^53 - 1) per hash. */
  withValues?: boolean;
}

export class HeaderHashSet {
  /**
   * Slot i at keys[i × stride]: the four key words, then (with values) the value as its low and
   * high 32 bits, so that a lookup and its value share one cache line.
   */
  private keys: Uint32Array;
  private readonly stride: number;
  private mask: number;
  private count = 0;
  private readonly maxLoad: number;
  readonly maxEntries: number;

  constructor(opts: HeaderHashSetOptions = {}) {
    this.maxLoad = opts.maxLoad ?? 0.5;
    if (!(this.maxLoad >= 0.5 && this.maxLoad <= 0.9)) throw new RangeError(`HeaderHashSet: maxLoad must be in 0.5..0.9, got ${opts.maxLoad}`);
    let cap = MIN_CAPACITY;
    while (cap < (opts.initialCapacity ?? 0)) cap *= 2;
    this.stride = opts.withValues ? 6 : 4;
    this.keys = new Uint32Array(cap * this.stride);
    this.mask = cap - 1;
    this.maxEntries = opts.maxEntries ?? Number.MAX_SAFE_INTEGER;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.keys.byteLength;
  }

  /**
   * Adds `hash` (≥ 16 bytes, internal byte order as sha256d returns it) with `value`. Returns
   * HASH_ADDED when it was new, HASH_SET_FULL when the set is at `maxEntries`, otherwise the value
   * stored with the earlier copy (0 without values): the hash is a duplicate.
   */
  add(hash: Uint8Array, value = 0): number {
    return this.addAt(hash, 0, value);
  }

  /** `add` for the hash held at `bytes[offset]` (no subarray per call on the auditor's path). */
  addAt(bytes: Uint8Array, offset: number, value = 0): number {
    const a = word(bytes, offset);
    const b = word(bytes, offset + 4);
    const c = word(bytes, offset + 8);
    const d = lastWord(bytes, offset, a, b, c);
    const slot = this.find(a, b, c, d);
    if (slot >= 0) return this.valueAt(slot);
    if (this.count >= this.maxEntries) return HASH_SET_FULL;
    if (this.count + 1 > this.maxLoad * (this.mask + 1)) this.grow();
    this.put(a, b, c, d, value);
    this.count++;
    return HASH_ADDED;
  }

  has(hash: Uint8Array): boolean {
    return this.findHash(hash) >= 0;
  }

  /** The value stored with `hash`, or undefined when absent. */
  get(hash: Uint8Array): number | undefined {
    const slot = this.findHash(hash);
    if (slot < 0) return undefined;
    return this.valueAt(slot);
  }

  /** Removes `hash`; true when it was there. (Backward-shift deletion: no tombstones.) */
  delete(hash: Uint8Array): boolean {
    let i = this.findHash(hash);
    if (i < 0) return false;
    const k = this.keys;
    const mask = this.mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const o = j * this.stride;
      if ((k[o] | k[o + 1] | k[o + 2] | k[o + 3]) === 0) break;
      const home = k[o] & mask;
      // Move j back into the hole at i when its home slot is not inside (i, j] (cyclically).
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        k.copyWithin(i * this.stride, o, o + this.stride);
        i = j;
      }
    }
    k.fill(0, i * this.stride, (i + 1) * this.stride);
    this.count--;
    return true;
  }

  clear(): void {
    this.keys = new Uint32Array(MIN_CAPACITY * this.stride);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  private valueAt(slot: number): number {
    if (this.stride !== 6) return 0;
    const o = slot * 6;
    return this.keys[o + 4] + this.keys[o + 5] * 0x100000000;
  }

  private findHash(hash: Uint8Array): number {
    const a = word(hash, 0);
    const b = word(hash, 4);
    const c = word(hash, 8);
    return this.find(a, b, c, lastWord(hash, 0, a, b, c));
  }

  private find(a: number, b: number, c: number, d: number): number {
    const k = this.keys;
    const mask = this.mask;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      const o = i * this.stride;
      const a2 = k[o];
      const b2 = k[o + 1];
      const c2 = k[o + 2];
      const d2 = k[o + 3];
      if (a2 === a && b2 === b && c2 === c && d2 === d) return i;
      if ((a2 | b2 | c2 | d2) === 0) return -1;
    }
  }

  private put(a: number, b: number, c: number, d: number, value: number): void {
    const k = this.keys;
    const mask = this.mask;
    let i = a & mask;
    const stride = this.stride;
    let o = i * stride;
    while ((k[o] | k[o + 1] | k[o + 2] | k[o + 3]) !== 0) {
      i = (i + 1) & mask;
      o = i * stride;
    }
    k[o] = a;
    k[o + 1] = b;
    k[o + 2] = c;
    k[o + 3] = d;
    if (stride === 6) {
      k[o + 4] = value % 0x100000000;
      k[o + 5] = Math.floor(value / 0x100000000);
    }
  }

  private grow(): void {
    const oldKeys = this.keys;

    const cap = (this.mask + 1) * 2;
    const stride = this.stride;
    this.keys = new Uint32Array(cap * stride);
    this.mask = cap - 1;
    for (let i = 0; i < oldKeys.length; i += stride) {
      if ((oldKeys[i] | oldKeys[i + 1] | oldKeys[i + 2] | oldKeys[i + 3]) !== 0) {
        this.put(oldKeys[i], oldKeys[i + 1], oldKeys[i + 2], oldKeys[i + 3], stride === 6 ? oldKeys[i + 4] + oldKeys[i + 5] * 0x100000000 : 0);
      }
    }
  }
}

function word(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** The fourth word; an all-zero key marks an empty slot, so the hash whose low 128 bits are zero is kept with 1 here. */
function lastWord(b: Uint8Array, o: number, a0: number, b0: number, c0: number): number {
  const d = word(b, o + 12);
  return (a0 | b0 | c0 | d) === 0 ? 1 : d;
}

/**
 * The plain reference of HeaderHashSet (a Map over the first 16 bytes in hex), with the same
 * results, for tests.
 */
export class ReferenceHeaderHashSet {
  private readonly map = new Map<string, number>();
  constructor(private readonly maxEntries = Number.MAX_SAFE_INTEGER) {}
  get size(): number {
    return this.map.size;
  }
  add(hash: Uint8Array, value = 0): number {
    const key = keyOf(hash);
    const old = this.map.get(key);
    if (old !== undefined) return old;
    if (this.map.size >= this.maxEntries) return HASH_SET_FULL;
    this.map.set(key, value);
    return HASH_ADDED;
  }
  has(hash: Uint8Array): boolean {
    return this.map.has(keyOf(hash));
  }
  get(hash: Uint8Array): number | undefined {
    return this.map.get(keyOf(hash));
  }
  delete(hash: Uint8Array): boolean {
    return this.map.delete(keyOf(hash));
  }
}

function keyOf(hash: Uint8Array): string {
  return Buffer.from(hash.subarray(0, 16)).toString("hex");
}
