/**
 * One block's PPLNS window as the auditor collects it from the share log, oldest share first, in
 * typed-array columns: 20 bytes a share (id, address key, committed difficulty in units) and no
 * object per share, so that a 10 000 000-share window takes 200 MB and nothing for the garbage
 * collector to trace. What is rare is kept aside by index: a difficulty beyond 2^53 units, and a
 * credited amount that differs from the share's full units (in an honest log, only the oldest
 * share's, which the window may cut).
 */
import { partsToUnits, UNITS_PER_DIFFICULTY } from "../shares/difficulty";

const SCALE = Number(UNITS_PER_DIFFICULTY);

export class WindowColumns {
  ids: Float64Array;
  keys: Uint32Array;
  /** whole × 10^12 + frac when exact as a number; NaN: the parts are in `bigUnits`. */
  units: Float64Array;
  private readonly bigUnits = new Map<number, { whole: number; frac: number }>();
  /** Credited units where they differ from the share's units. */
  private readonly credits = new Map<number, bigint>();
  length = 0;

  /** `capacity`: shares expected (grown by half again when exceeded). */
  constructor(capacity = 1024) {
    const n = Math.max(16, capacity);
    this.ids = new Float64Array(n);
    this.keys = new Uint32Array(n);
    this.units = new Float64Array(n);
  }

  get lastId(): number {
    return this.length > 0 ? this.ids[this.length - 1] : 0;
  }

  /** Appends a share: its difficulty as (whole, fraction × 10^12), its credited units. */
  push(id: number, key: number, whole: number, frac: number, credited: number | bigint): void {
    const i = this.length;
    if (i === this.ids.length) this.grow();
    this.ids[i] = id;
    this.keys[i] = key;
    const u = whole * SCALE + frac;
    if (whole <= Math.floor((Number.MAX_SAFE_INTEGER - frac) / SCALE) && Number.isSafeInteger(u)) {
      this.units[i] = u;
      if (typeof credited !== "number" || credited !== u) this.credits.set(i, BigInt(credited));
    } else {
      this.units[i] = NaN;
      this.bigUnits.set(i, { whole, frac });
      if (BigInt(credited) !== partsToUnits(whole, frac)) this.credits.set(i, BigInt(credited));
    }
    this.length = i + 1;
  }

  /** The whole difficulty of share `i`. */
  wholeAt(i: number): number {
    const u = this.units[i];
    if (Number.isNaN(u)) return this.bigUnits.get(i)!.whole;
    let w = Math.floor(u / SCALE);
    if (w * SCALE > u) w--;
    else if ((w + 1) * SCALE <= u) w++;
    return w;
  }

  /** The fraction × 10^12 of share `i`'s difficulty. */
  fracAt(i: number, whole = this.wholeAt(i)): number {
    const u = this.units[i];
    return Number.isNaN(u) ? this.bigUnits.get(i)!.frac : u - whole * SCALE;
  }

  /** Share `i`'s difficulty in units. */
  unitsAt(i: number): bigint {
    const u = this.units[i];
    if (!Number.isNaN(u)) return BigInt(u);
    const big = this.bigUnits.get(i)!;
    return partsToUnits(big.whole, big.frac);
  }

  /** The credited units of share `i`. */
  creditedAt(i: number): bigint {
    return this.credits.get(i) ?? this.unitsAt(i);
  }

  /** True when share `i` is credited other than its full units. */
  creditDiffers(i: number): boolean {
    return this.credits.has(i);
  }

  private grow(): void {
    const n = Math.ceil(this.ids.length * 1.5);
    const ids = new Float64Array(n);
    ids.set(this.ids);
    this.ids = ids;
    const keys = new Uint32Array(n);
    keys.set(this.keys);
    this.keys = keys;
    const units = new Float64Array(n);
    units.set(this.units);
    this.units = units;
  }
}
