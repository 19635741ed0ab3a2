/**
 * The payout-scheme model (docs/schemes.md): a miner of hash rate h in a pool of hash rate H on a
 * network of difficulty D. Every hash is a block with probability 1 / (D·2³²) and a share of
 * difficulty d with probability 1 / (d·2³²), so the miner finds blocks at rate h / (D·2³²) per
 * second and shares at h / (d·2³²); the pool finds blocks at H / (D·2³²). Amounts are in the
 * block reward's unit (satoshis); fee is a fraction.
 */

export type Scheme = "pplns" | "pps" | "fpps" | "solo";
export const SCHEMES: readonly Scheme[] = ["pplns", "pps", "fpps", "solo"];

export interface SchemeModel {
  /** Miner's hash rate, hashes per second. */
  hashrate: number;
  /** Pool's hash rate including the miner's, hashes per second (≥ hashrate). */
  poolHashrate: number;
  /** Network difficulty (bdiff: 1 = 2³² hashes per block). */
  networkDifficulty: number;
  /** Block subsidy, satoshis. */
  subsidy: number;
  /** Average transaction fees per block, satoshis (FPPS pays them; PPLNS and solo blocks carry them). */
  fees: number;
  /** Operator fee, fraction of 1 (0.01 = 100 bps). */
  fee: number;
  /** PPLNS window in units of the network difficulty (N = factor × D). */
  windowFactor: number;
  /** The miner's share difficulty (vardiff's: one share per `targetShareSeconds`). */
  shareDifficulty: number;
  /** Length of the period, seconds. */
  periodSeconds: number;
}

export const TWO_32 = 4294967296;

/** Expected blocks the miner's hash rate finds in the period: m = h·t / (D·2³²). */
export function expectedMinerBlocks(m: SchemeModel): number {
  return (m.hashrate * m.periodSeconds) / (m.networkDifficulty * TWO_32);
}

/**
 * Closed forms of the miner's income over the period (mean and standard deviation, satoshis):
 * - solo: compound Poisson, R·Poisson(m) with R = subsidy + fees: mean m·R, sd R·√m;
 * - pps: shares Poisson(m·D/d), each paid (d/D)·subsidy·(1−f): mean m·S·(1−f), sd S·(1−f)·√(m·d/D)
 *   (no variance from block luck; what is left is the count of shares, tiny as d ≪ D);
 * - fpps: as pps with subsidy + fees;
 * - pplns: mean m·R·(1−f); variance m·R²·(1−f)²·(q + d/(X·D) + d/D), q = h/H, the window of X·D
 *   difficulty-units. Leading terms as Rosenfeld, "Analysis of Bitcoin Pooled Mining Reward
 *   Systems" (2011), §6 (per share p·B²·(1/N + q) with p = d/D, N = X·D/d); the d/D term is the
 *   covariance of overlapping windows in this continuous-time model (derivation in docs/schemes.md).
 */
export function closedForm(scheme: Scheme, m: SchemeModel): { mean: number; std: number } {
  const blocks = expectedMinerBlocks(m);
  const R = m.subsidy + m.fees;
  const dD = m.shareDifficulty / m.networkDifficulty;
  switch (scheme) {
    case "solo":
      return { mean: blocks * R, std: R * Math.sqrt(blocks) };
    case "pps": {
      const perBlock = m.subsidy * (1 - m.fee);
      return { mean: blocks * perBlock, std: perBlock * Math.sqrt(blocks * dD) };
    }
    case "fpps": {
      const perBlock = R * (1 - m.fee);
      return { mean: blocks * perBlock, std: perBlock * Math.sqrt(blocks * dD) };
    }
    case "pplns": {
      const q = m.hashrate / m.poolHashrate;
      const B = R * (1 - m.fee);
      return { mean: blocks * B, std: B * Math.sqrt(blocks * (q + dD / m.windowFactor + dD)) };
    }
  }
}

const HASHRATE_UNITS: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15, e: 1e18, z: 1e21 };

/** Parses "1.2TH/s", "500 GH/s", "3e15", "1.2T": hashes per second. Throws RangeError naming `field`. */
export function parseHashrate(text: string, field: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmgtpez]?)(?:h(?:\/s)?)?\s*$/i.exec(text);
  const v = m ? Number(m[1]) * HASHRATE_UNITS[m[2].toLowerCase()] : NaN;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${field}: expected a hash rate like "1.2TH/s" or "500GH/s", got ${JSON.stringify(text)}`);
  return v;
}

const PERIOD_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** Parses "30d", "1w", "12h", "3600s": seconds. */
export function parsePeriod(text: string, field: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*([smhdw])\s*$/i.exec(text);
  const v = m ? Number(m[1]) * PERIOD_UNITS[m[2].toLowerCase()] : NaN;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${field}: expected a period like "1d", "7d" or "30d", got ${JSON.stringify(text)}`);
  return v;
}

/** Formats hashes per second with an SI prefix ("1.2 TH/s"). */
export function formatHashrate(v: number): string {
  const units = ["", "k", "M", "G", "T", "P", "E", "Z"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))} ${units[i]}H/s`;
}

/** Checks a model's fields; throws RangeError naming the first bad one. */
export function checkModel(m: SchemeModel): SchemeModel {
  const positive: (keyof SchemeModel)[] = ["hashrate", "poolHashrate", "networkDifficulty", "windowFactor", "shareDifficulty", "periodSeconds"];
  for (const k of positive) if (!(typeof m[k] === "number" && Number.isFinite(m[k]) && m[k] > 0)) throw new RangeError(`${k} must be a positive number, got ${m[k]}`);
  for (const k of ["subsidy", "fees"] as const) if (!(Number.isFinite(m[k]) && m[k] >= 0)) throw new RangeError(`${k} must be a number >= 0, got ${m[k]}`);
  if (!(m.fee >= 0 && m.fee < 1)) throw new RangeError(`fee must be a fraction in [0, 1), got ${m.fee}`);
  if (m.poolHashrate < m.hashrate) throw new RangeError(`poolHashrate (${m.poolHashrate}) must include the miner's hashrate (${m.hashrate})`);
  if (m.shareDifficulty > m.networkDifficulty) throw new RangeError("shareDifficulty must not exceed the network difficulty");
  return m;
}

/** What a user types (the CLI's flags, the page's form), in the units they think in. */
export interface ModelInputs {
  /** H/s. */
  hashrate: number;
  /** H/s, including the miner's. */
  poolHashrate: number;
  networkDifficulty: number;
  /** BTC. */
  subsidyBtc: number;
  /** BTC, average per block. */
  feesBtc: number;
  feeBps: number;
  windowFactor: number;
  /** The miner's vardiff aims at one share per this many seconds. */
  shareSeconds: number;
  periodSeconds: number;
}

export const SATOSHIS_PER_BTC = 1e8;

/** The model both the CLI and the page simulate, from the same inputs (so that their figures agree). */
export function modelFromInputs(i: ModelInputs): SchemeModel {
  return checkModel({
    hashrate: i.hashrate,
    poolHashrate: i.poolHashrate,
    networkDifficulty: i.networkDifficulty,
    subsidy: Math.round(i.subsidyBtc * SATOSHIS_PER_BTC),
    fees: Math.round(i.feesBtc * SATOSHIS_PER_BTC),
    fee: i.feeBps / 10_000,
    windowFactor: i.windowFactor,
    shareDifficulty: Math.min(i.networkDifficulty, (i.hashrate * i.shareSeconds) / TWO_32),
    periodSeconds: i.periodSeconds,
  });
}

/** Satoshis (a float from the simulation) as BTC with 8 decimals, as the CLI table and the page print them. */
export function btcText(sats: number): string {
  return (sats / SATOSHIS_PER_BTC).toFixed(8);
}
