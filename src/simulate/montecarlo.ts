/**
 * Monte Carlo of a miner's income under each payout scheme (the model in model.ts and
 * docs/schemes.md): seeded and reproducible, the same numbers in Node and the browser. Runs in a
 * worker (src/simulate/worker.ts for the CLI, web/src/pages/schemes/worker.ts for the page).
 */
import { closedForm, checkModel, TWO_32, type Scheme, type SchemeModel } from "./model";
import { Rng } from "./rng";

export interface SimulationOptions {
  schemes: Scheme[];
  /** Independent periods simulated (default 2000). */
  runs?: number;
  seed?: number;
  /** Points of the cumulative-income curve over the period (default 48). */
  timelinePoints?: number;
  /** Histogram bins (default 40). */
  bins?: number;
  /** PPS/FPPS operator reserve: solvent with probability 1 − epsilon over the period (default 0.01). */
  epsilon?: number;
}

export interface SchemeResult {
  scheme: Scheme;
  mean: number;
  std: number;
  p5: number;
  p50: number;
  p95: number;
  /** Share of runs in which the miner earned nothing. */
  pZero: number;
  closedForm: { mean: number; std: number };
  histogram: { from: number; width: number; counts: number[] };
  /** Cumulative income at `timeline.t[k]` seconds: mean and 5th/95th percentiles over the runs. */
  timeline: { t: number[]; mean: number[]; p5: number[]; p95: number[] };
  /** PPS/FPPS: the operator's reserve (satoshis) that covered the worst deficit in 1 − ε of runs. */
  operatorReserve?: number;
}

export interface SimulationResult {
  model: SchemeModel;
  runs: number;
  seed: number;
  epsilon: number;
  results: SchemeResult[];
}

/** Simulates `runs` periods per scheme. Throws RangeError on a bad model or option. */
export function simulate(model: SchemeModel, opts: SimulationOptions): SimulationResult {
  checkModel(model);
  const runs = opts.runs ?? 2000;
  const seed = opts.seed ?? 1;
  const points = opts.timelinePoints ?? 48;
  const epsilon = opts.epsilon ?? 0.01;
  if (!Number.isInteger(runs) || runs < 10 || runs > 1_000_000) throw new RangeError(`runs must be an integer in 10..1000000, got ${runs}`);
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${epsilon}`);
  if (opts.schemes.length === 0) throw new RangeError("choose at least one scheme");
  const t = Array.from({ length: points }, (_, k) => (model.periodSeconds * (k + 1)) / points);
  const results = opts.schemes.map((scheme, i) => {
    // One stream per scheme, so that adding a scheme never changes another's figures.
    const rng = new Rng((seed + Math.imul(i + 1, 0x9e3779b1)) >>> 0);
    const paths = Array.from({ length: runs }, () => runPath(scheme, model, t, rng));
    const totals = Float64Array.from(paths, (p) => p[points - 1]);
    let operatorReserve: number | undefined;
    if (scheme === "pps" || scheme === "fpps") {
      const deficits = Float64Array.from({ length: runs }, () => operatorDeficit(scheme, model, rng));
      operatorReserve = quantile(deficits.sort(), 1 - epsilon);
    }
    return summarize(scheme, model, totals, paths, t, opts.bins ?? 40, operatorReserve);
  });
  return { model, runs, seed, epsilon, results };
}

/** One period: the miner's cumulative income at each time of `t`. */
function runPath(scheme: Scheme, m: SchemeModel, t: number[], rng: Rng): Float64Array {
  const out = new Float64Array(t.length);
  const R = m.subsidy + m.fees;
  if (scheme === "pplns") {
    const paid = pplnsPayments(m, rng);
    let k = 0;
    let sum = 0;
    for (let i = 0; i < t.length; i++) {
      while (k < paid.times.length && paid.times[k] <= t[i]) sum += paid.amounts[k++];
      out[i] = sum;
    }
    return out;
  }
  // Solo: blocks; PPS/FPPS: shares, each worth d/D of a block's subsidy (and fees).
  const rate = scheme === "solo" ? m.hashrate / (m.networkDifficulty * TWO_32) : m.hashrate / (m.shareDifficulty * TWO_32);
  const value = scheme === "solo" ? R : (m.shareDifficulty / m.networkDifficulty) * (scheme === "pps" ? m.subsidy : R) * (1 - m.fee);
  let prev = 0;
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    count += rng.poisson(rate * (t[i] - prev));
    prev = t[i];
    out[i] = count * value;
  }
  return out;
}

/**
 * PPLNS over one period: the pool's blocks arrive at rate H/(D·2³²); each pays the miner
 * R·(1−f)·min(1, d·n/(X·D)), n = the miner's shares in the window, the last X·D difficulty-units
 * of the pool's work, i.e. the τ = X·D·2³²/H seconds before the block. Overlapping windows share
 * their counts: the miner's shares are counted per segment between window edges.
 */
function pplnsPayments(m: SchemeModel, rng: Rng): { times: number[]; amounts: number[] } {
  const poolRate = m.poolHashrate / (m.networkDifficulty * TWO_32);
  const shareRate = m.hashrate / (m.shareDifficulty * TWO_32);
  const tau = (m.windowFactor * m.networkDifficulty * TWO_32) / m.poolHashrate;
  const B = (m.subsidy + m.fees) * (1 - m.fee);
  const times: number[] = [];
  for (let at = rng.exponential(poolRate); at <= m.periodSeconds; at += rng.exponential(poolRate)) times.push(at);
  const n = times.length;
  const amounts = new Array<number>(n);
  if (n === 0) return { times, amounts };
  // Edges: every window start (T−τ) and end (T), merged in order; prefix counts at each edge.
  const startPrefix = new Float64Array(n);
  const endPrefix = new Float64Array(n);
  let i = 0; // next start
  let j = 0; // next end
  let edge = times[0] - tau;
  let prefix = 0;
  while (j < n) {
    const nextStart = i < n ? times[i] - tau : Infinity;
    const nextEnd = times[j];
    const at = Math.min(nextStart, nextEnd);
    prefix += rng.poisson(shareRate * (at - edge));
    edge = at;
    if (nextStart <= nextEnd) startPrefix[i++] = prefix;
    else endPrefix[j++] = prefix;
  }
  const unitsPerShare = m.shareDifficulty / (m.windowFactor * m.networkDifficulty);
  for (let k = 0; k < n; k++) amounts[k] = B * Math.min(1, (endPrefix[k] - startPrefix[k]) * unitsPerShare);
  return { times, amounts };
}

/**
 * PPS/FPPS from the operator's side over one period: it pays the pool's expected value
 * continuously, c = (1−f)·P·H/(D·2³²) per second (P = subsidy, or subsidy + fees), and receives
 * R = subsidy + fees per block found. The deficit is the largest amount paid but not yet earned.
 */
function operatorDeficit(scheme: Scheme, m: SchemeModel, rng: Rng): number {
  const poolRate = m.poolHashrate / (m.networkDifficulty * TWO_32);
  const R = m.subsidy + m.fees;
  const c = (1 - m.fee) * (scheme === "pps" ? m.subsidy : R) * poolRate;
  let worst = 0;
  let received = 0;
  for (let at = rng.exponential(poolRate); at <= m.periodSeconds; at += rng.exponential(poolRate)) {
    worst = Math.max(worst, c * at - received);
    received += R;
  }
  return Math.max(worst, c * m.periodSeconds - received);
}

function summarize(scheme: Scheme, m: SchemeModel, totals: Float64Array, paths: Float64Array[], t: number[], bins: number, operatorReserve?: number): SchemeResult {
  const runs = totals.length;
  let sum = 0;
  let zero = 0;
  for (const v of totals) {
    sum += v;
    if (v === 0) zero++;
  }
  const mean = sum / runs;
  let sq = 0;
  for (const v of totals) sq += (v - mean) ** 2;
  const sorted = Float64Array.from(totals).sort();
  const lo = sorted[0];
  const hi = sorted[runs - 1];
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of totals) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  const timeline = { t, mean: [] as number[], p5: [] as number[], p95: [] as number[] };
  for (let k = 0; k < t.length; k++) {
    const col = Float64Array.from(paths, (p) => p[k]).sort();
    let s = 0;
    for (const v of col) s += v;
    timeline.mean.push(s / runs);
    timeline.p5.push(quantile(col, 0.05));
    timeline.p95.push(quantile(col, 0.95));
  }
  return {
    scheme,
    mean,
    std: Math.sqrt(sq / (runs - 1)),
    p5: quantile(sorted, 0.05),
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    pZero: zero / runs,
    closedForm: closedForm(scheme, m),
    histogram: { from: lo, width, counts },
    timeline,
    ...(operatorReserve !== undefined ? { operatorReserve } : {}),
  };
}

/** The q-quantile of ascending `sorted` (linear interpolation between order statistics). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
