/**
 * Difficulty units: the integer form of a share's difficulty used for PPLNS weights.
 *
 * 1 difficulty = 10^12 units (`UNITS_PER_DIFFICULTY`), so every difficulty with at most 12
 * decimals is exact: 0.02, 1e-6, 2^-12 = 0.000244140625 all are. A difficulty is stored as two
 * integers, its whole part and its 12-decimal fraction, because one 64-bit column at this scale
 * would cap a share at ~9.2e6 difficulty; as two columns the whole part may reach 2^53 - 1
 * (~9.007e15) while both halves stay exact JavaScript numbers (which the PPLNS hot loop adds
 * without allocating bigints).
 */

export const DIFFICULTY_DECIMALS = 12;
export const UNITS_PER_DIFFICULTY = 10n ** BigInt(DIFFICULTY_DECIMALS);
/** As a number, for the split (whole, frac) arithmetic. */
export const FRAC_SCALE = 1e12;
/** Largest whole part a share's difficulty may have (so both halves are exact JS numbers). */
export const MAX_DIFFICULTY_WHOLE = Number.MAX_SAFE_INTEGER;

export class DifficultyError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "DifficultyError";
  }
}

/** A difficulty split into whole part and fraction × 10^12, both exact non-negative integers. */
export interface DifficultyParts {
  whole: number;
  frac: number;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses an exact decimal difficulty ("0.02", "65536", "1.5"). Rejects anything else: signs,
 * exponents, more than 12 decimals, zero, or a whole part above 2^53 - 1.
 */
export function parseDifficulty(text: unknown): DifficultyParts {
  if (typeof text !== "string") throw new DifficultyError(`difficulty must be a decimal string, got ${typeof text}`);
  if (text.length > 40) throw new DifficultyError(`difficulty string too long: ${text.slice(0, 40)}…`);
  const m = DECIMAL.exec(text);
  if (!m) throw new DifficultyError(`difficulty is not a plain decimal number: ${JSON.stringify(text)}`);
  const fracText = (m[2] ?? "").replace(/0+$/, "");
  if (fracText.length > DIFFICULTY_DECIMALS) {
    throw new DifficultyError(`difficulty ${text} has more than ${DIFFICULTY_DECIMALS} decimals`);
  }
  const wholeBig = BigInt(m[1]);
  if (wholeBig > BigInt(MAX_DIFFICULTY_WHOLE)) throw new DifficultyError(`difficulty ${text} is too large`);
  const whole = Number(wholeBig);
  const frac = fracText === "" ? 0 : Number(fracText.padEnd(DIFFICULTY_DECIMALS, "0"));
  if (whole === 0 && frac === 0) throw new DifficultyError("difficulty must be greater than zero");
  return { whole, frac };
}

/** Difficulty units of an exact decimal difficulty string. */
export function difficultyToUnits(text: string): bigint {
  const { whole, frac } = parseDifficulty(text);
  return partsToUnits(whole, frac);
}

export function partsToUnits(whole: number, frac: number): bigint {
  return BigInt(whole) * UNITS_PER_DIFFICULTY + BigInt(frac);
}

export function unitsToParts(units: bigint): DifficultyParts {
  if (units < 0n) throw new DifficultyError(`negative difficulty units: ${units}`);
  const whole = units / UNITS_PER_DIFFICULTY;
  if (whole > BigInt(MAX_DIFFICULTY_WHOLE)) throw new DifficultyError(`difficulty units too large: ${units}`);
  return { whole: Number(whole), frac: Number(units % UNITS_PER_DIFFICULTY) };
}

/** Canonical decimal form: no trailing zeros in the fraction, no fraction when it is zero. */
export function formatDifficultyParts(whole: number, frac: number): string {
  if (frac === 0) return String(whole);
  return `${whole}.${String(frac).padStart(DIFFICULTY_DECIMALS, "0").replace(/0+$/, "")}`;
}

/** Exact decimal form of any non-negative number of units (also window sizes beyond 2^53 difficulty). */
export function unitsToDifficulty(units: bigint): string {
  if (units < 0n) throw new DifficultyError(`negative difficulty units: ${units}`);
  const whole = units / UNITS_PER_DIFFICULTY;
  const frac = units % UNITS_PER_DIFFICULTY;
  if (frac === 0n) return whole.toString();
  return `${whole}.${frac.toString().padStart(DIFFICULTY_DECIMALS, "0").replace(/0+$/, "")}`;
}

const ANY_DECIMAL = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$/;

/**
 * Units of a positive decimal difficulty in plain or exponent form ("0.001", "1e-5"), rounded
 * down to whole units (12 decimals), at least 1 unit. What the Stratum server sends and credits:
 * a difficulty with more decimals than the store holds is never sent. Throws DifficultyError on
 * anything but a positive decimal.
 */
export function difficultyToUnitsFloor(text: string): bigint {
  const m = typeof text === "string" && text.length <= 40 ? ANY_DECIMAL.exec(text) : null;
  if (!m) throw new DifficultyError(`difficulty is not a positive decimal number: ${JSON.stringify(text)}`);
  const digits = BigInt(m[1] + (m[2] ?? ""));
  const shift = DIFFICULTY_DECIMALS - (m[2] ?? "").length + Number(m[3] ?? 0);
  const units = shift >= 0 ? digits * 10n ** BigInt(shift) : digits / 10n ** BigInt(-shift);
  if (digits === 0n) throw new DifficultyError("difficulty must be greater than zero");
  if (units / UNITS_PER_DIFFICULTY > BigInt(MAX_DIFFICULTY_WHOLE)) throw new DifficultyError(`difficulty ${text} is too large`);
  return units > 0n ? units : 1n;
}
