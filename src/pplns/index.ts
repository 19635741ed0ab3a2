/**
 * PPLNS: pure functions, no I/O. A block's window is the last N = factor × network difficulty
 * difficulty-units of shares ending at (and including) the block-finding share; the reward minus
 * the operator fee is split pro rata to the units each address has inside the window.
 */
import { pplnsWeights, type WeightedShare, type WindowSummary } from "./window";
import { splitReward, type SplitResult } from "./split";

export * from "./window";
export * from "./split";
export * from "./network";

export interface BlockAllocationInput {
  /** Shares newest first, starting with the block-finding share. */
  sharesNewestFirst: Iterable<WeightedShare>;
  /** N in difficulty units (see windowUnitsForBits). */
  windowUnits: bigint;
  reward: bigint;
  feeBps: number;
  feeAddress?: string;
}

export interface BlockAllocation extends SplitResult {
  window: WindowSummary;
  weights: Map<string, bigint>;
}

/** Window + split for one block, from an in-memory sequence of shares. */
export function allocateBlock(input: BlockAllocationInput): BlockAllocation {
  const { weights, summary } = pplnsWeights(input.sharesNewestFirst, input.windowUnits);
  const split = splitReward({
    reward: input.reward,
    feeBps: input.feeBps,
    feeAddress: input.feeAddress,
    weights: [...weights].map(([address, weight]) => ({ address, weight })),
  });
  return { ...split, window: summary, weights };
}
