/**
 * One block's PPLNS window as the auditor collects it from the share log, oldest share first, in
 * typed-array columns: 32 bytes a share (id, address key, committed difficulty as whole and
 * fraction, credited units) and no object per share, so that a 10 000 000-share window takes
 * 320 MB and nothing for the garbage collector to trace.
 */

export class WindowColumns {
  ids: Float64Array;
  keys: Uint32Array;
  whole: Float64Array;
  frac: Float64Array;
  /** Credited units when exact as a number; NaN: the exact value is in `creditedBig`. */
  credited: Float64Array;
  readonly creditedBig = new Map<number, bigint>();
  length = 0;

  /** `capacity`: shares expected (grown by half again when exceeded). */
  constructor(capacity = 1024) {
    const n = Math.max(16, capacity);
    this.ids = new Float64Array(n);
    this.keys = new Uint32Array(n);
    this.whole = new Float64Array(n);
    this.frac = new Float64Array(n);
    this.credited = new Float64Array(n);
  }

  get lastId(): number {
    return this.length > 0 ? this.ids[this.length - 1] : 0;
  }

  push(id: number, key: number, whole: number, frac: number, credited: number | bigint): void {
    const i = this.length;
    if (i === this.ids.length) this.grow();
    this.ids[i] = id;
    this.keys[i] = key;
    this.whole[i] = whole;
    this.frac[i] = frac;
    if (typeof credited === "number") this.credited[i] = credited;
    else {
      this.credited[i] = NaN;
      this.creditedBig.set(i, credited);
    }
    this.length = i + 1;
  }

  /** The credited units of share `i`. */
  creditedAt(i: number): bigint {
    const c = this.credited[i];
    return Number.isNaN(c) ? this.creditedBig.get(i)! : BigInt(c);
  }

  private grow(): void {
    const n = Math.ceil(this.ids.length * 1.5);
    const f = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.ids = f(this.ids, (k) => new Float64Array(k));
    this.keys = f(this.keys, (k) => new Uint32Array(k));
    this.whole = f(this.whole, (k) => new Float64Array(k));
    this.frac = f(this.frac, (k) => new Float64Array(k));
    this.credited = f(this.credited, (k) => new Float64Array(k));
  }
}
