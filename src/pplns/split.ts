/** How one block's reward is split: the operator fee, then the rest pro rata to PPLNS weights. */

export const MAX_FEE_BPS = 10_000;

export interface SplitInput {
  /** The block reward (subsidy + fees) in the smallest unit. */
  reward: bigint;
  /** Operator fee in basis points (0..10000). */
  feeBps: number;
  /** Receives the fee (required when feeBps > 0, and when there are no weights). */
  feeAddress?: string;
  /** Credited difficulty units per address (lower-case 0x hex, unique, weight > 0). */
  weights: ReadonlyArray<{ address: string; weight: bigint }>;
}

export interface SplitResult {
  /** floor(reward × feeBps / 10000), or the whole reward when no share has weight. */
  fee: bigint;
  /** reward − fee, distributed over the weights. */
  distributed: bigint;
  /** Amount per address, fee included in the fee address's amount; only amounts > 0. Sums to reward. */
  allocations: Map<string, bigint>;
}

const ADDRESS = /^0x[0-9a-f]{40}$/;

/** splitReward's rule for a weight's address: lower-case 0x hex, else a TypeError naming it. */
export function checkSplitAddress(address: string): void {
  if (!ADDRESS.test(address)) throw new TypeError(`address must be lower-case 0x hex: ${address}`);
}

/**
 * fee = floor(reward × bps / 10000) goes to the fee address; the remaining R is split pro rata:
 * each address gets floor(R × w / W), and the R − Σ floor units left over go one each to the
 * addresses with the largest remainders (R × w mod W), ties to the lower address. The result sums
 * exactly to `reward`, every amount is ≥ 0, and an address's amount never falls when only its
 * weight grows.
 */
export function splitReward(input: SplitInput): SplitResult {
  const { reward, feeBps, feeAddress, weights } = input;
  checkCommon(reward, feeBps, feeAddress);
  const seen = new Set<string>();
  for (const { address, weight } of weights) {
    checkSplitAddress(address);
    if (seen.has(address)) throw new Error(`duplicate address in weights: ${address}`);
    seen.add(address);
    if (typeof weight !== "bigint" || weight <= 0n) throw new RangeError(`weight of ${address} must be a positive bigint`);
  }
  const columns = splitRewardColumns({ reward, feeBps, feeAddress, addresses: weights.map((w) => w.address), weights: weights.map((w) => w.weight) });
  const allocations = new Map<string, bigint>();
  const add = (address: string, amount: bigint) => {
    if (amount > 0n) allocations.set(address, (allocations.get(address) ?? 0n) + amount);
  };
  if (feeAddress !== undefined) add(feeAddress, columns.fee);
  weights.forEach((w, i) => add(w.address, columns.amounts[i]));
  return { fee: columns.fee, distributed: columns.distributed, allocations };
}

export interface SplitColumnsInput {
  reward: bigint;
  feeBps: number;
  feeAddress?: string;
  /** Lower-case 0x addresses, unique (not checked here: the PPLNS window gives one entry per account). */
  addresses: readonly string[];
  /** Positive weights, parallel to `addresses`. */
  weights: readonly bigint[];
}

/**
 * splitReward over parallel arrays, for windows with a million participants (no Map, no object
 * per participant): amounts[i] is what addresses[i] gets; the fee is returned apart.
 */
export function splitRewardColumns(input: SplitColumnsInput): { fee: bigint; distributed: bigint; amounts: bigint[] } {
  const { reward, feeBps, feeAddress, addresses, weights } = input;
  checkCommon(reward, feeBps, feeAddress);
  const n = weights.length;
  if (addresses.length !== n) throw new RangeError("addresses and weights differ in length");
  let total = 0n;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (typeof w !== "bigint" || w <= 0n) throw new RangeError(`weight of ${addresses[i]} must be a positive bigint`);
    if (typeof addresses[i] !== "string" || addresses[i].length !== 42) throw new TypeError(`address must be lower-case 0x hex: ${String(addresses[i])}`);
    total += w;
  }
  if (total === 0n) {
    if (reward > 0n && feeAddress === undefined) throw new Error("no shares in the window and no fee address to receive the reward");
    return { fee: reward, distributed: 0n, amounts: [] };
  }
  const fee = (reward * BigInt(feeBps)) / BigInt(MAX_FEE_BPS);
  const distributed = reward - fee;
  const amounts = new Array<bigint>(n);
  const remainders = new Array<bigint>(n);
  let assigned = 0n;
  for (let i = 0; i < n; i++) {
    const product = distributed * weights[i];
    const q = product / total;
    amounts[i] = q;
    remainders[i] = product % total;
    assigned += q;
  }
  const leftover = Number(distributed - assigned); // < n
  for (const i of largestRemainders(remainders, total, addresses, leftover)) amounts[i] += 1n;
  return { fee, distributed, amounts };
}

function checkCommon(reward: bigint, feeBps: number, feeAddress: string | undefined): void {
  if (typeof reward !== "bigint" || reward < 0n) throw new RangeError(`reward must be a non-negative bigint, got ${String(reward)}`);
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > MAX_FEE_BPS) throw new RangeError(`fee must be an integer 0..10000 basis points, got ${feeBps}`);
  if (feeAddress !== undefined && !ADDRESS.test(feeAddress)) throw new TypeError(`fee address must be lower-case 0x hex: ${feeAddress}`);
  if (feeBps > 0 && feeAddress === undefined) throw new TypeError("a fee address is required when the fee is not zero");
}

/**
 * Indices of the `count` largest remainders, ties to the lower address. Exact: for large inputs
 * a float approximation finds the cut, and every index whose approximation lies near the cut is
 * ordered with exact bigint comparisons.
 */
function largestRemainders(remainders: bigint[], divisor: bigint, addresses: readonly string[], count: number): number[] {
  if (count === 0) return [];
  const n = remainders.length;
  const exactOrder = (a: number, b: number) =>
    remainders[a] > remainders[b] ? -1 : remainders[a] < remainders[b] ? 1 : addresses[a] < addresses[b] ? -1 : 1;
  if (n <= 4096) {
    const idx = [...Array(n).keys()].sort(exactOrder);
    return idx.slice(0, count);
  }
  // approx[i] = remainders[i] / divisor in [0, 1), off by at most a few ulps (~1e-15).
  const d = Number(divisor);
  const approx = new Float64Array(n);
  for (let i = 0; i < n; i++) approx[i] = Number(remainders[i]) / d;
  const sorted = Float64Array.from(approx).sort();
  const cut = sorted[n - count]; // the count-th largest approximation
  const EPS = 1e-9; // far above the approximation error, far below anything that matters for speed
  const chosen: number[] = [];
  const near: number[] = [];
  for (let i = 0; i < n; i++) {
    if (approx[i] > cut + EPS) chosen.push(i); // certainly above the true cut
    else if (approx[i] >= cut - EPS) near.push(i);
  }
  near.sort(exactOrder);
  const need = count - chosen.length;
  if (need < 0 || need > near.length) throw new Error("internal: largest-remainder selection out of bounds");
  return chosen.concat(near.slice(0, need));
}
