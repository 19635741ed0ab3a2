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
 * The table grows by doubling, incrementally (issue 15): the new table takes new hashes at once and
 * each `add` moves a few slots of the old one over, so that no single share pays for copying
 * millions of entries (a 70 ms stop of the Stratum loop at a few million shares on one block).
 * Lookups read both tables until the move is done.
 *
 * `ReferenceHeaderHashSet` below is the plain version (a Map keyed by the hex hash) that the tests
 * compare this one with on random and hostile inputs.
 */

/** `add` returned this: the hash was not in the set and now is. */
export const HASH_ADDED = -1;
/** `add` returned this: the set holds `maxEntries` hashes already; nothing was added. */
export const HASH_SET_FULL = -2;

const MIN_CAPACITY = 1 << 10;
/**
 * Old slots moved per `add` while a move is under way. The new table's load limit is twice the
 * entries, so `count` adds remain before it grows again, and the old table has count / maxLoad ≤
 * 2 × count slots: 8 a step finishes the move a quarter of the way there.
 */
const MOVE_STEP = 8;

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
  /** The table being moved into `keys` (read-only meanwhile), or null; slots below `moved` are done. */
  private old: Uint32Array | null = null;
  private oldMask = 0;
  private moved = 0;
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
    return this.keys.byteLength + (this.old?.byteLength ?? 0);
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
    const slot = this.find(this.keys, this.mask, a, b, c, d);
    if (slot >= 0) return this.valueAt(this.keys, slot);
    if (this.old !== null) {
      const o = this.find(this.old, this.oldMask, a, b, c, d);
      if (o >= 0) return this.valueAt(this.old, o);
    }
    if (this.count >= this.maxEntries) return HASH_SET_FULL;
    if (this.old !== null) this.moveSome(MOVE_STEP);
    else if (this.count + 1 > this.maxLoad * (this.mask + 1)) this.grow();
    this.put(a, b, c, d, value);
    this.count++;
    return HASH_ADDED;
  }

  has(hash: Uint8Array): boolean {
    return this.get(hash) !== undefined;
  }

  /** The value stored with `hash`, or undefined when absent. */
  get(hash: Uint8Array): number | undefined {
    const a = word(hash, 0);
    const b = word(hash, 4);
    const c = word(hash, 8);
    const d = lastWord(hash, 0, a, b, c);
    const slot = this.find(this.keys, this.mask, a, b, c, d);
    if (slot >= 0) return this.valueAt(this.keys, slot);
    if (this.old === null) return undefined;
    const o = this.find(this.old, this.oldMask, a, b, c, d);
    return o >= 0 ? this.valueAt(this.old, o) : undefined;
  }

  /**
   * Removes `hash`; true when it was there. (Backward-shift deletion: no tombstones. Rare: a move
   * under way is finished first, so that the old table stays read-only.)
   */
  delete(hash: Uint8Array): boolean {
    if (this.old !== null) this.moveSome(Infinity);
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
    this.old = null;
    this.count = 0;
  }

  private valueAt(k: Uint32Array, slot: number): number {
    if (this.stride !== 6) return 0;
    const o = slot * 6;
    return k[o + 4] + k[o + 5] * 0x100000000;
  }

  /** The slot of `hash` in the current table (no move under way: see delete), or -1. */
  private findHash(hash: Uint8Array): number {
    const a = word(hash, 0);
    const b = word(hash, 4);
    const c = word(hash, 8);
    return this.find(this.keys, this.mask, a, b, c, lastWord(hash, 0, a, b, c));
  }

  private find(k: Uint32Array, mask: number, a: number, b: number, c: number, d: number): number {
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

  /** Doubles the table: new hashes go to the new one at once, the old one moves over in steps. */
  private grow(): void {
    this.old = this.keys;
    this.oldMask = this.mask;
    this.moved = 0;
    const cap = (this.mask + 1) * 2;
    this.keys = new Uint32Array(cap * this.stride);
    this.mask = cap - 1;
  }

  /** Moves up to `slots` slots of the old table into the new one; drops the old table when done. */
  private moveSome(slots: number): void {
    const old = this.old!;
    const stride = this.stride;
    const total = this.oldMask + 1;
    const end = Math.min(total, this.moved + slots);
    for (let s = this.moved; s < end; s++) {
      const i = s * stride;
      if ((old[i] | old[i + 1] | old[i + 2] | old[i + 3]) !== 0) {
        this.put(old[i], old[i + 1], old[i + 2], old[i + 3], stride === 6 ? old[i + 4] + old[i + 5] * 0x100000000 : 0);
      }
    }
    this.moved = end;
    if (end === total) this.old = null;
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
