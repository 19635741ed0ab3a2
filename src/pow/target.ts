import { describe, hexToUint32, uint32ToHex } from "./hex";

/** Difficulty-1 target (bdiff): 0x00000000FFFF0000…0000. */
export const DIFF1 = 0x00000000ffff0000000000000000000000000000000000000000000000000000n;
export const MAX_TARGET = (1n << 256n) - 1n;

/** Compact "bits" (8 hex, big-endian as in getblocktemplate) -> target. */
export function bitsToTarget(bits: string): bigint {
  const compact = hexToUint32(bits, "bits");
  const size = compact >>> 24;
  const mantissa = compact & 0x007fffff;
  if (compact & 0x00800000) throw new RangeError(`bits ${bits}: negative target (sign bit set)`);
  const target = size <= 3 ? BigInt(mantissa >>> (8 * (3 - size))) : BigInt(mantissa) << BigInt(8 * (size - 3));
  if (target === 0n) throw new RangeError(`bits ${bits}: zero target`);
  if (target > MAX_TARGET) throw new RangeError(`bits ${bits}: target overflows 256 bits`);
  return target;
}

/** Target -> compact bits (Bitcoin Core's GetCompact; loses precision below the top 3 bytes). */
export function targetToBits(target: bigint): string {
  if (typeof target !== "bigint" || target <= 0n || target > MAX_TARGET) {
    throw new RangeError(`targetToBits: target must be in 1..2^256-1`);
  }
  let size = byteLength(target);
  let compact = size <= 3 ? Number(target) << (8 * (3 - size)) : Number(target >> BigInt(8 * (size - 3)));
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return uint32ToHex(((size << 24) | compact) >>> 0);
}

function byteLength(n: bigint): number {
  return Math.ceil(n.toString(16).length / 2);
}

// Bounds that keep bigint arithmetic cheap for hostile input like "1e999999999".
const MAX_DIGITS = 80;
const MAX_EXPONENT = 80;

interface Decimal {
  /** value = digits * 10^exp */
  digits: bigint;
  exp: number;
}

function parseDecimal(input: string | number): Decimal {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new RangeError(`difficulty must be a finite number, got ${input}`);
    text = String(input); // shortest round-trip form, e.g. 0.02 -> "0.02", 1e-9 -> "1e-9"
  } else if (typeof input === "string") {
    text = input.trim();
  } else {
    throw new RangeError(`difficulty must be a string or number, got ${typeof input}`);
  }
  const m = /^\+?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[1] === "" && (m[2] === undefined || m[2] === ""))) {
    throw new RangeError(`difficulty is not a positive decimal number: ${describe(input)}`);
  }
  const intPart = m[1];
  const fracPart = m[2] ?? "";
  const allDigits = (intPart + fracPart).replace(/^0+/, "");
  if (allDigits.length > MAX_DIGITS) throw new RangeError(`difficulty has too many digits: ${describe(input)}`);
  const e = m[3] === undefined ? 0 : Number(m[3]);
  if (!Number.isSafeInteger(e) || Math.abs(e) > MAX_EXPONENT) {
    throw new RangeError(`difficulty exponent out of range: ${describe(input)}`);
  }
  return { digits: BigInt(allDigits === "" ? "0" : allDigits), exp: e - fracPart.length };
}

/**
 * Share target for a difficulty, exact from its decimal form (never via a float):
 * target = floor(DIFF1 / difficulty), clamped to 2^256-1 for very small difficulties.
 */
export function difficultyToTarget(difficulty: string | number): bigint {
  const { digits, exp } = parseDecimal(difficulty);
  if (digits <= 0n) throw new RangeError(`difficulty must be > 0, got ${describe(difficulty)}`);
  const target = exp >= 0 ? DIFF1 / (digits * 10n ** BigInt(exp)) : (DIFF1 * 10n ** BigInt(-exp)) / digits;
  if (target === 0n) throw new RangeError(`difficulty too high (target would be 0): ${describe(difficulty)}`);
  return target > MAX_TARGET ? MAX_TARGET : target;
}

/** DIFF1 / target as a float, for display and vardiff arithmetic. */
export function targetToDifficulty(target: bigint): number {
  if (typeof target !== "bigint" || target <= 0n) throw new RangeError("targetToDifficulty: target must be > 0");
  const SCALE = 10n ** 30n;
  return Number((DIFF1 * SCALE) / target) / 1e30;
}

/** Difficulty of compact bits (bits 1d00ffff -> 1). */
export function bitsToDifficulty(bits: string): number {
  return targetToDifficulty(bitsToTarget(bits));
}

/**
 * A short, exact, plain decimal (no exponent) for a difficulty: 6 significant digits.
 * The same string goes into set_difficulty and is the credited difficulty, so that the miner's
 * target and the pool's agree.
 */
export function formatDifficulty(d: number, significantDigits = 6): string {
  if (typeof d !== "number" || !Number.isFinite(d) || d <= 0) {
    throw new RangeError(`formatDifficulty: difficulty must be a finite number > 0, got ${d}`);
  }
  const [mant, expText] = d.toExponential(significantDigits - 1).split("e");
  const digits = mant.replace(".", "").replace(/0+$/, "") || "0";
  // value = 0.d1d2d3... * 10^(exp+1)
  const pointPos = Number(expText) + 1;
  let out: string;
  if (pointPos <= 0) out = "0." + "0".repeat(-pointPos) + digits;
  else if (pointPos >= digits.length) out = digits + "0".repeat(pointPos - digits.length);
  else out = digits.slice(0, pointPos) + "." + digits.slice(pointPos);
  return out;
}

/** Difficulty units per difficulty (10^12): the exact integer form shares are credited in (shares/difficulty.ts). */
export const DIFFICULTY_UNIT_SCALE = 10n ** 12n;

/** Share target of a difficulty given in units (difficulty × 10^12): floor(DIFF1 × 10^12 / units). */
export function unitsToTarget(units: bigint): bigint {
  if (typeof units !== "bigint" || units <= 0n) throw new RangeError(`difficulty units must be a positive bigint, got ${String(units)}`);
  const target = (DIFF1 * DIFFICULTY_UNIT_SCALE) / units;
  if (target === 0n) throw new RangeError(`difficulty too high (target would be 0): ${units} units`);
  return target > MAX_TARGET ? MAX_TARGET : target;
}

/**
 * The highest share difficulty, in units, whose share target is still at or above `networkTarget`
 * (so that every block is a share), rounded down to `significantDigits` significant digits:
 * floor(DIFF1 × 10^12 / networkTarget), then truncated. At least 1 unit (10^-12 difficulty).
 * Used to clamp every difficulty the pool sets to the network's (DESIGN: "No share difficulty
 * above the network's").
 */
export function networkDifficultyUnits(networkTarget: bigint, significantDigits = 6): bigint {
  if (typeof networkTarget !== "bigint" || networkTarget <= 0n) throw new RangeError("networkDifficultyUnits: target must be > 0");
  const exact = (DIFF1 * DIFFICULTY_UNIT_SCALE) / networkTarget;
  const digits = exact.toString().length;
  const drop = digits > significantDigits ? 10n ** BigInt(digits - significantDigits) : 1n;
  const units = (exact / drop) * drop;
  return units > 0n ? units : 1n;
}

/** A target as 32 bytes little-endian (the byte order of a sha256d hash), for hashAtMost. */
export function targetToBytesLE(target: bigint): Uint8Array {
  if (typeof target !== "bigint" || target < 0n || target > MAX_TARGET) throw new RangeError("targetToBytesLE: target must be in 0..2^256-1");
  const out = new Uint8Array(32);
  let t = target;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

/**
 * hash (32 bytes, internal order: a little-endian number) ≤ target (targetToBytesLE), without a
 * bigint: the same answer as hashToBigInt(hash) <= target (a test compares them).
 */
export function hashAtMost(hash: Uint8Array, targetLE: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (hash[i] !== targetLE[i]) return hash[i] < targetLE[i];
  }
  return true;
}
