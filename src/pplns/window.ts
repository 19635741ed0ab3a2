import { FRAC_SCALE, UNITS_PER_DIFFICULTY, partsToUnits, unitsToParts } from "../shares/difficulty";

/** What a PPLNS window covered: enough for an auditor to check the window's edges. */
export interface WindowSummary {
  /** N, the window size in difficulty units. */
  windowUnits: bigint;
  /** Units credited: N, or less when the whole share history is shorter than N. */
  coveredUnits: bigint;
  /** True when the shares covered N (false: the window is the whole history). */
  complete: boolean;
  shareCount: number;
  /** Oldest share in the window (possibly credited only in part); undefined when empty. */
  firstShareId: number | undefined;
  /** Newest share (the block-finding share). */
  lastShareId: number | undefined;
  /** Units credited to the oldest share: its full difficulty, or only the part inside the window. */
  firstShareCredit: bigint;
  /** The oldest share's full difficulty in units. */
  firstShareUnits: bigint;
}

export interface KeyWeight {
  key: number;
  weight: bigint;
}

const SAFE = Number.MAX_SAFE_INTEGER;
const FRAC_FOLD = 2 ** 52; // fold a fraction sum into the whole part before it can lose precision

/**
 * Walks a PPLNS window from the block-finding share back in time and sums each account's
 * credited difficulty. Pure and incremental: the caller feeds shares newest first, from a
 * database cursor or an array, until `add` returns false.
 *
 * Accounts are dense integer keys (the caller maps them to addresses). Weights are kept as exact
 * (whole, fraction × 10^12) pairs of JS numbers, spilling to bigint only when a sum would pass
 * 2^53: the same result as summing bigints, several times faster on 10^7-share windows.
 */
export class WindowAccumulator {
  readonly windowUnits: bigint;
  private readonly nWhole: number;
  private readonly nFrac: number;
  /** Totals beyond 2^52 whole difficulty would lose precision as numbers: track them as bigint. */
  private readonly bigTotals: boolean;
  private totalWhole = 0;
  private totalFrac = 0;
  private totalBig = 0n;
  private whole = new Float64Array(1024);
  private frac = new Float64Array(1024);
  private spilled: Map<number, bigint> | undefined;
  private touched: number[] = [];
  private isOpen = true;
  private count = 0;
  private firstId: number | undefined;
  private lastId: number | undefined;
  private oldestWhole = 0;
  private oldestFrac = 0;
  private firstCredit = 0n;

  constructor(windowUnits: bigint) {
    if (typeof windowUnits !== "bigint" || windowUnits <= 0n) throw new RangeError(`window size must be a positive bigint, got ${windowUnits}`);
    this.windowUnits = windowUnits;
    const nWhole = windowUnits / UNITS_PER_DIFFICULTY;
    this.bigTotals = nWhole >= BigInt(FRAC_FOLD);
    this.nWhole = this.bigTotals ? 0 : Number(nWhole);
    this.nFrac = Number(windowUnits % UNITS_PER_DIFFICULTY);
  }

  /** True while the window still needs older shares. */
  get open(): boolean {
    return this.isOpen;
  }

  /** Adds the next older share given as exact units. Returns `open`. */
  add(key: number, units: bigint, id: number): boolean {
    const { whole, frac } = unitsToParts(units);
    return this.addParts(key, whole, frac, id);
  }

  /**
   * Adds the next older share: account key, difficulty as (whole, fraction × 10^12), share id.
   * Returns `open` afterwards; adding to a closed window is an error.
   */
  addParts(key: number, whole: number, frac: number, id: number): boolean {
    if (!this.isOpen) throw new Error("the PPLNS window is already full");
    if (!(key >= 0 && key <= 0xffffffff && Number.isInteger(key))) throw new RangeError(`invalid account key ${key}`);
    if (!(Number.isSafeInteger(whole) && whole >= 0 && Number.isInteger(frac) && frac >= 0 && frac < FRAC_SCALE) || whole + frac === 0) {
      throw new RangeError(`invalid share difficulty parts (${whole}, ${frac}) for share ${id}`);
    }
    if (!Number.isSafeInteger(id)) throw new RangeError(`invalid share id ${id}`);
    if (this.firstId !== undefined && id >= this.firstId) {
      throw new RangeError(`shares must come newest first with decreasing ids: ${id} after ${this.firstId}`);
    }
    if (this.lastId === undefined) this.lastId = id;
    this.firstId = id;
    this.oldestWhole = whole;
    this.oldestFrac = frac;
    this.count++;

    let inside: boolean;
    if (this.bigTotals) {
      const units = partsToUnits(whole, frac);
      inside = this.totalBig + units < this.windowUnits;
      if (inside) this.totalBig += units;
    } else {
      let tw = this.totalWhole + whole;
      let tf = this.totalFrac + frac;
      if (tf >= FRAC_SCALE) {
        tf -= FRAC_SCALE;
        tw += 1;
      }
      inside = tw < this.nWhole || (tw === this.nWhole && tf < this.nFrac);
      if (inside) {
        this.totalWhole = tw;
        this.totalFrac = tf;
      }
    }
    if (inside) {
      this.credit(key, whole, frac);
      return true;
    }
    // This share reaches N: only the part of it inside the window counts.
    const units = partsToUnits(whole, frac);
    const covered = this.bigTotals ? this.totalBig : BigInt(this.totalWhole) * UNITS_PER_DIFFICULTY + BigInt(this.totalFrac);
    const remaining = this.windowUnits - covered;
    const credit = remaining < units ? remaining : units;
    const parts = unitsToParts(credit);
    this.credit(key, parts.whole, parts.frac);
    this.firstCredit = credit;
    this.isOpen = false;
    return false;
  }

  private credit(key: number, whole: number, frac: number): void {
    if (key >= this.whole.length) this.grow(key);
    const w = this.whole;
    const f = this.frac;
    if (w[key] === 0 && f[key] === 0 && this.spilled?.get(key) === undefined) this.touched.push(key);
    let sum = w[key] + whole;
    if (sum > SAFE) {
      this.spill(key, w[key]);
      sum = whole;
    }
    w[key] = sum;
    let fs = f[key] + frac;
    if (fs >= FRAC_FOLD) {
      let carry = Math.floor(fs / FRAC_SCALE);
      fs -= carry * FRAC_SCALE;
      if (fs < 0) {
        carry--;
        fs += FRAC_SCALE;
      }
      let ws = w[key] + carry;
      if (ws > SAFE) {
        this.spill(key, w[key]);
        ws = carry;
      }
      w[key] = ws;
    }
    f[key] = fs;
  }

  private spill(key: number, whole: number): void {
    this.spilled ??= new Map();
    this.spilled.set(key, (this.spilled.get(key) ?? 0n) + BigInt(whole) * UNITS_PER_DIFFICULTY);
  }

  private grow(key: number): void {
    let size = this.whole.length;
    while (size <= key) size *= 2;
    const w = new Float64Array(size);
    w.set(this.whole);
    const f = new Float64Array(size);
    f.set(this.frac);
    this.whole = w;
    this.frac = f;
  }

  /** Credited units per account key (keys with a positive weight), ascending by key. */
  weights(): KeyWeight[] {
    const { keys, weights } = this.weightColumns();
    return keys.map((key, i) => ({ key, weight: weights[i] }));
  }

  /** weights() as parallel arrays (no object per account: windows can hold a million). */
  weightColumns(): { keys: number[]; weights: bigint[] } {
    const keys = Float64Array.from(this.touched).sort();
    const outKeys: number[] = [];
    const weights: bigint[] = [];
    const w = this.whole;
    const f = this.frac;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const extra = this.spilled?.get(key);
      // As a number whole × 10^12 + frac is exact up to 2^53 (and any result past it is ≥ 2^53):
      // one bigint instead of three for most accounts.
      const asNumber = w[key] * FRAC_SCALE + f[key];
      const units = asNumber <= SAFE ? BigInt(asNumber) : BigInt(w[key]) * UNITS_PER_DIFFICULTY + BigInt(f[key]);
      const weight = extra === undefined ? units : extra + units;
      if (weight > 0n) {
        outKeys.push(key);
        weights.push(weight);
      }
    }
    return { keys: outKeys, weights };
  }

  summary(): WindowSummary {
    const complete = !this.isOpen;
    const coveredUnits = complete
      ? this.windowUnits
      : this.bigTotals
        ? this.totalBig
        : BigInt(this.totalWhole) * UNITS_PER_DIFFICULTY + BigInt(this.totalFrac);
    const oldest = partsToUnits(this.oldestWhole, this.oldestFrac);
    return {
      windowUnits: this.windowUnits,
      coveredUnits,
      complete,
      shareCount: this.count,
      firstShareId: this.firstId,
      lastShareId: this.lastId,
      firstShareCredit: complete ? this.firstCredit : oldest,
      firstShareUnits: oldest,
    };
  }
}

/** One share as the window needs it. */
export interface WeightedShare {
  id: number;
  address: string;
  /** Difficulty units (10^12 per difficulty 1). */
  units: bigint;
}

/**
 * Convenience over WindowAccumulator for shares with string addresses: walks `sharesNewestFirst`
 * until N units are covered and returns the weight per address plus the window summary.
 */
export function pplnsWeights(sharesNewestFirst: Iterable<WeightedShare>, windowUnits: bigint): { weights: Map<string, bigint>; summary: WindowSummary } {
  const acc = new WindowAccumulator(windowUnits);
  const keys = new Map<string, number>();
  const addresses: string[] = [];
  for (const share of sharesNewestFirst) {
    let key = keys.get(share.address);
    if (key === undefined) {
      key = addresses.length;
      keys.set(share.address, key);
      addresses.push(share.address);
    }
    if (!acc.add(key, share.units, share.id)) break;
  }
  const weights = new Map<string, bigint>();
  for (const { key, weight } of acc.weights()) weights.set(addresses[key], weight);
  return { weights, summary: acc.summary() };
}
