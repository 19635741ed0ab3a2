/**
 * PPS and FPPS credits: pure integer arithmetic, no I/O (shared by the epoch builder and the
 * auditor, so both get exactly the same amounts).
 *
 * A share of committed difficulty d (its coinbase's commitment, in difficulty units u = d × 10^12)
 * mined at height h, on a chain whose bits at h give target T (network difficulty D = DIFF1 / T):
 *
 *   PPS:  credit = floor( u × T × S(h) × U × (10000 − bps) / (10^12 × DIFF1 × 10000) )
 *   FPPS: credit = floor( u × T × U × (10000 − bps) × (S(h) × n + F) / (10^12 × DIFF1 × 10000 × n) )
 *
 * i.e. d / D × (subsidy + average fees) × (1 − fee), with one floor per share, where S(h) is the
 * block subsidy at h in satoshis (the chain's halving schedule), U the epoch's
 * asset.unitsPerSatoshi, bps the operator fee in basis points, F the sum of the per-block fees (in
 * satoshis) of the n = min(144, h − 1) blocks before h (heights h − n .. h − 1; the genesis block
 * never counts), and n = 0 taken as no fee term (FPPS then pays as PPS). Amounts are in the asset's
 * smallest unit. The fee is applied to the fee term as to the subsidy.
 *
 * Why one floor per share: a share's credit depends only on the share and the chain, never on who
 * else mined or in which epoch it is paid; an address's delta is the exact sum of its shares'
 * credits, and what the floors leave (under one smallest unit per share) stays with the operator.
 */
import { DIFF1, bitsToTarget } from "../pow/target";
import { UNITS_PER_DIFFICULTY } from "../shares/difficulty";

export const PAYOUT_SCHEMES = ["pplns", "pps", "fpps"] as const;
export type PayoutScheme = (typeof PAYOUT_SCHEMES)[number];
/** The schemes whose epochs close on a schedule and pay every share its expected value. */
export type PerShareScheme = Exclude<PayoutScheme, "pplns">;

/** Blocks whose fees FPPS averages: the 144 before the share's height (about a day of blocks). */
export const FEE_WINDOW_BLOCKS = 144;

/** The rule written into every PPS/FPPS epoch file (`scheme.rounding`), as ROUNDING_RULE is for PPLNS. */
export const SCHEME_ROUNDING_RULE =
  "credit per share = floor(units × target(nbits at its height) × unitsPerSatoshi × (10000 − bps) × (subsidy(height) × n + fees) / (10^12 × DIFF1 × 10000 × n)); PPS: fees = 0, n = 1; FPPS: fees = the per-block fees of the n = min(144, height − 1) blocks before height; delta = sum of the address's credits; floor remainders stay with the operator";

/** A chain's block subsidy: `initial` satoshis at height 0, halved every `halvingInterval` blocks (64 halvings: 0). */
export interface SubsidySchedule {
  /** Satoshis, decimal string. */
  initial: string;
  halvingInterval: number;
}

/** Bitcoin's schedule (mainnet, testnet, signet): 50 BTC halved every 210 000 blocks (consensus, validation.cpp GetBlockSubsidy). */
export const BITCOIN_SUBSIDY: SubsidySchedule = { initial: "5000000000", halvingInterval: 210_000 };
/** Regtest's (and the embedded chain's default): 50 BTC halved every 150 blocks (chainparams.cpp, regtest nSubsidyHalvingInterval). */
export const REGTEST_SUBSIDY: SubsidySchedule = { initial: "5000000000", halvingInterval: 150 };

/** Block subsidy at `height`, in satoshis. */
export function subsidyAt(height: number, schedule: SubsidySchedule): bigint {
  if (!Number.isSafeInteger(height) || height < 0) throw new RangeError(`height must be a non-negative integer, got ${height}`);
  if (!Number.isSafeInteger(schedule.halvingInterval) || schedule.halvingInterval < 1) throw new RangeError(`halvingInterval must be a positive integer, got ${schedule.halvingInterval}`);
  if (!/^(0|[1-9]\d*)$/.test(schedule.initial)) throw new RangeError(`subsidy.initial must be a decimal integer string, got ${JSON.stringify(schedule.initial)}`);
  const halvings = Math.floor(height / schedule.halvingInterval);
  return halvings >= 64 ? 0n : BigInt(schedule.initial) >> BigInt(halvings);
}

/** The heights whose fees FPPS averages for a share mined at `height`: [from, to], empty when to < from. */
export function feeWindow(height: number, blocks = FEE_WINDOW_BLOCKS): { from: number; to: number; n: number } {
  const to = height - 1;
  const from = Math.max(1, height - blocks);
  return { from, to, n: Math.max(0, to - from + 1) };
}

export interface ShareCreditInput {
  /** Committed share difficulty in units (difficulty × 10^12). */
  units: bigint;
  /** Compact bits of the chain at the share's height. */
  nbits: string;
  /** Block subsidy at the share's height, satoshis. */
  subsidy: bigint;
  /** Operator fee, basis points 0..10000. */
  feeBps: number;
  /** Smallest units of the asset per satoshi. */
  unitsPerSatoshi: bigint;
  /** FPPS only: the sum of the fee window's per-block fees (satoshis) and its block count n. */
  fees?: { sum: bigint; blocks: number };
}

const BPS = 10_000n;

/** One share's credit in the asset's smallest unit (see the module comment for the formula). */
export function shareCredit(i: ShareCreditInput): bigint {
  if (i.units <= 0n) throw new RangeError(`share units must be positive, got ${i.units}`);
  if (!Number.isInteger(i.feeBps) || i.feeBps < 0 || i.feeBps > 10_000) throw new RangeError(`feeBps must be 0..10000, got ${i.feeBps}`);
  if (i.subsidy < 0n || i.unitsPerSatoshi < 1n) throw new RangeError("subsidy must be ≥ 0 and unitsPerSatoshi ≥ 1");
  const target = bitsToTarget(i.nbits);
  const keep = BPS - BigInt(i.feeBps);
  const n = i.fees && i.fees.blocks > 0 ? BigInt(i.fees.blocks) : 1n;
  const feeSum = i.fees && i.fees.blocks > 0 ? i.fees.sum : 0n;
  if (feeSum < 0n) throw new RangeError(`fees must be ≥ 0, got ${feeSum}`);
  const num = i.units * target * i.unitsPerSatoshi * keep * (i.subsidy * n + feeSum);
  const den = UNITS_PER_DIFFICULTY * DIFF1 * BPS * n;
  return num / den;
}

/** The scheme named by a config or file value, or undefined. */
export function parseScheme(v: unknown): PayoutScheme | undefined {
  return typeof v === "string" && (PAYOUT_SCHEMES as readonly string[]).includes(v) ? (v as PayoutScheme) : undefined;
}
