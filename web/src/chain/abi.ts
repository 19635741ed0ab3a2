import { parseAbi } from "viem";
import { erc20Abi, payoutPoolAbi } from "../../../src/evm/payoutPoolAbi";

/** The contract's custom errors, so that a revert reads as its name rather than raw data. */
const payoutPoolErrors = parseAbi([
  "error Paused(uint64 until)",
  "error InvalidProof(address account, uint256 cumulativeAmount)",
  "error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed)",
  "error NativeTransferFailed(address to, uint256 amount)",
  "error ZeroAddress()",
]);

export const poolAbi = [...payoutPoolAbi, ...payoutPoolErrors] as const;
export { erc20Abi };
