import { DIFF1, bitsToTarget } from "../pow/target";
import { UNITS_PER_DIFFICULTY } from "../shares/difficulty";

/** A positive decimal with at most 6 decimals, as an exact fraction num / den. */
export interface Factor {
  num: bigint;
  den: bigint;
}

export const DEFAULT_FACTOR = "2";

/** Parses the PPLNS factor ("2", "1.5", 2). */
export function parseFactor(factor: string | number): Factor {
  const text = typeof factor === "number" ? String(factor) : factor;
  const m = typeof text === "string" ? /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(text) : null;
  if (!m) throw new RangeError(`PPLNS factor must be a positive decimal with at most 6 decimals, got ${String(factor)}`);
  const fracDigits = m[2] ?? "";
  const den = 10n ** BigInt(fracDigits.length);
  const num = BigInt(m[1] + fracDigits);
  if (num === 0n) throw new RangeError("PPLNS factor must be greater than zero");
  return { num, den };
}

/** Network difficulty of compact `nbits`, in difficulty units (floor of DIFF1 / target × 10^12). */
export function networkDifficultyUnits(nbits: string): bigint {
  return (DIFF1 * UNITS_PER_DIFFICULTY) / bitsToTarget(nbits);
}

/**
 * N = factor × network difficulty, in units: floor(factor × DIFF1 × 10^12 / target(nbits)),
 * computed in one integer division so that an auditor gets exactly the same N. At least 1.
 */
export function windowUnitsForBits(nbits: string, factor: string | number = DEFAULT_FACTOR): bigint {
  const { num, den } = parseFactor(factor);
  const n = (num * DIFF1 * UNITS_PER_DIFFICULTY) / (den * bitsToTarget(nbits));
  return n > 0n ? n : 1n;
}
