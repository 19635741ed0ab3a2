/**
 * Dense keys (0, 1, 2, …) for the payout addresses of an epoch, in order of first sight: the
 * auditor's window columns hold a key per share instead of an address string, so a 10 000 000-share
 * window costs 4 bytes a share and no string hashing.
 *
 * Canonical addresses (`0x` + 40 lower-case hex digits) are kept as their 20 bytes in a flat
 * open-addressing table (linear probing, seeded hash: the addresses come from the operator's file,
 * so an unseeded hash would let it pile them into one probe run); any other spelling is kept as
 * its own string in a Map, as the reference keyed every address string. A canonical address given
 * as bytes or as text gets the same key.
 *
 * `ReferenceAddressKeys` is the plain version (a Map over the strings) the tests compare it with.
 */
const CANONICAL = /^0x[0-9a-f]{40}$/;

export class AddressKeys {
  /** Per slot: key + 1 (0 = empty). */
  private slots: Int32Array;
  private mask: number;
  /** The canonical addresses' bytes, 20 per key (other spellings leave their 20 bytes unused). */
  private bytes: Uint8Array;
  private readonly others = new Map<string, number>();
  /** The address text of every key. */
  readonly addresses: string[] = [];
  private readonly seed = globalThis.crypto.getRandomValues(new Uint32Array(1))[0] | 1;
  private readonly scratch = Buffer.alloc(20);
  private canonical = 0;

  /**
   * `expected`: about how many addresses (sizes the tables). `shared`: the tables start in
   * SharedArrayBuffers, so that `view()` can hand the keys given so far to worker threads.
   */
  constructor(expected = 1024, shared = false) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    const size = Math.max(1024, expected) * 20;
    this.slots = shared ? new Int32Array(new SharedArrayBuffer(cap * 4)) : new Int32Array(cap);
    this.mask = cap - 1;
    this.bytes = shared ? new Uint8Array(new SharedArrayBuffer(size)) : new Uint8Array(size);
  }

  /**
   * The canonical addresses keyed so far, for AddressKeyLookup on another thread (null when the
   * tables are not shared: the constructor's `shared`, and no growth since). Keys given after this
   * call are never answered by the view, so what it reads never changes under it.
   */
  view(): AddressKeysView | null {
    if (!(this.slots.buffer instanceof SharedArrayBuffer) || !(this.bytes.buffer instanceof SharedArrayBuffer)) return null;
    return { slots: this.slots, bytes: this.bytes, seed: this.seed, keys: this.addresses.length };
  }

  get size(): number {
    return this.addresses.length;
  }

  /** The key of an address given as text (any spelling). */
  keyOf(address: string): number {
    if (!CANONICAL.test(address)) {
      let k = this.others.get(address);
      if (k === undefined) {
        k = this.addresses.length;
        this.addresses.push(address);
        this.others.set(address, k);
      }
      return k;
    }
    this.scratch.write(address.slice(2), 0, 20, "hex");
    return this.keyOfBytes(this.scratch, 0, address);
  }

  /**
   * The key of the canonical address held as 20 bytes at `src[offset]`; `text`, when the caller
   * has it, saves making the string for a new address.
   */
  keyOfBytes(src: Uint8Array, offset: number, text?: string): number {
    const h = addressHash(this.seed, src, offset);
    const slots = this.slots;
    const mask = this.mask;
    const bytes = this.bytes;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k1 = slots[i];
      if (k1 === 0) break;
      const o = (k1 - 1) * 20;
      let same = true;
      for (let j = 0; j < 20; j++) {
        if (bytes[o + j] !== src[offset + j]) {
          same = false;
          break;
        }
      }
      if (same) return k1 - 1;
    }
    const k = this.addresses.length;
    this.addresses.push(text ?? "0x" + Buffer.from(src.buffer, src.byteOffset + offset, 20).toString("hex"));
    if ((k + 1) * 20 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(src.subarray(offset, offset + 20), k * 20);
    if ((this.canonical + 1) * 2 > this.slots.length) this.grow();
    this.canonical++;
    this.place(h, k);
    return k;
  }

  private place(h: number, k: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = k + 1;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < old.length; i++) {
      const k1 = old[i];
      if (k1 !== 0) this.place(addressHash(this.seed, this.bytes, (k1 - 1) * 20), k1 - 1); // only canonical keys have slots
    }
  }
}

/** The plain reference of AddressKeys: a Map over the address strings. */
export class ReferenceAddressKeys {
  private readonly map = new Map<string, number>();
  readonly addresses: string[] = [];
  get size(): number {
    return this.addresses.length;
  }
  keyOf(address: string): number {
    let k = this.map.get(address);
    if (k === undefined) {
      k = this.addresses.length;
      this.addresses.push(address);
      this.map.set(address, k);
    }
    return k;
  }
  keyOfBytes(src: Uint8Array, offset: number): number {
    return this.keyOf("0x" + Buffer.from(src.buffer, src.byteOffset + offset, 20).toString("hex"));
  }
}

/** What AddressKeys.view() hands to another thread: shared tables, the hash seed, and how many keys it answers. */
export interface AddressKeysView {
  slots: Int32Array;
  bytes: Uint8Array;
  seed: number;
  /** Keys below this were given before the view was taken: the only ones it answers. */
  keys: number;
}

/**
 * AddressKeys' keys read on another thread (the audit's workers, so that the main thread does not
 * look up every share's address): the key of a canonical address given as bytes, or -1 when the
 * view does not answer it (an address keyed after the view was taken, or never): the owner of the
 * AddressKeys then keys it. Read-only; the owner may go on adding keys meanwhile — slots only ever
 * go from empty to a key, and keys past the view's count are passed over, so the bytes compared
 * are ones written before the view was taken.
 */
export class AddressKeyLookup {
  private readonly mask: number;

  constructor(private readonly view: AddressKeysView) {
    this.mask = view.slots.length - 1;
  }

  keyOfBytes(src: Uint8Array, offset: number): number {
    const { slots, bytes, keys } = this.view;
    const mask = this.mask;
    for (let i = addressHash(this.view.seed, src, offset) & mask; ; i = (i + 1) & mask) {
      const k1 = slots[i];
      if (k1 === 0) return -1;
      if (k1 > keys) continue;
      const o = (k1 - 1) * 20;
      let j = 0;
      while (j < 20 && bytes[o + j] === src[offset + j]) j++;
      if (j === 20) return k1 - 1;
    }
  }
}

/** A seeded mix of an address's five words (multiply–xorshift, as in murmur3's finalizer). */
function addressHash(seed: number, b: Uint8Array, o: number): number {
  let h = seed;
  for (let j = 0; j < 20; j += 4) {
    let w = (b[o + j] | (b[o + j + 1] << 8) | (b[o + j + 2] << 16) | (b[o + j + 3] << 24)) >>> 0;
    w = Math.imul(w, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
