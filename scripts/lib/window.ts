import { LOCAL_CHAIN_IDS, SAFE_MIN_CHALLENGE_WINDOW as SAFE_MIN_SECONDS } from "../../src/evm/preflight";
import { InputError } from "./env";

/** PayoutPool's own bounds of `challengeWindow` (MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW). */
export const CONTRACT_MIN_CHALLENGE_WINDOW = 1n;
export const CONTRACT_MAX_CHALLENGE_WINDOW = 30n * 24n * 3600n;

/** One hour off local development chains (src/evm/preflight.ts: the pool refuses the same at start). */
export const SAFE_MIN_CHALLENGE_WINDOW = BigInt(SAFE_MIN_SECONDS);

export { LOCAL_CHAIN_IDS };

/** Default window on a local development chain: short, but real (the countdown runs). */
export const LOCAL_DEFAULT_CHALLENGE_WINDOW = 60n;

/**
 * Checks a challenge window for deployment on chain `chainId`: within the contract's bounds, and at
 * least SAFE_MIN_CHALLENGE_WINDOW unless the chain is a local development chain.
 * @throws InputError naming CHALLENGE_WINDOW.
 */
export function checkChallengeWindow(window: bigint, chainId: number): bigint {
  if (window < CONTRACT_MIN_CHALLENGE_WINDOW || window > CONTRACT_MAX_CHALLENGE_WINDOW) {
    throw new InputError(
      `CHALLENGE_WINDOW must be between ${CONTRACT_MIN_CHALLENGE_WINDOW} and ${CONTRACT_MAX_CHALLENGE_WINDOW} seconds (the contract's bounds), got ${window}`,
    );
  }
  if (!LOCAL_CHAIN_IDS.has(chainId) && window < SAFE_MIN_CHALLENGE_WINDOW) {
    throw new InputError(
      `CHALLENGE_WINDOW ${window} s is below the safe minimum of ${SAFE_MIN_CHALLENGE_WINDOW} s on chain ${chainId}: miners, auditors and the guardian need that long to act on a bad root (only local development chains ${[...LOCAL_CHAIN_IDS].join(", ")} accept less)`,
    );
  }
  return window;
}
