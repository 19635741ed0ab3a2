import { parseAbi } from "viem";

/**
 * The part of PayoutPool's ABI the off-chain tools use, kept in source so the CLI works without a
 * compile step. test/abi.test.ts checks every entry against the compiled artifact.
 */
export const payoutPoolAbi = parseAbi([
  "function token() view returns (address)",
  "function challengeWindow() view returns (uint64)",
  "function totalFunded() view returns (uint256)",
  "function claimed(address account) view returns (uint256)",
  "function activeRoot() view returns (bytes32 root, uint64 epoch, uint256 totalCumulative)",
  "function pendingRoot() view returns (bytes32 root, uint64 epoch, uint256 totalCumulative, uint64 validAt)",
  "function pausedUntil() view returns (uint64)",
  "function acceptableAt() view returns (uint64)",
  "function maxPause() view returns (uint64)",
  "function BATCH_NATIVE_TRANSFER_GAS() view returns (uint256)",
  "function claimable(address account, uint256 cumulativeAmount, bytes32[] proof) view returns (uint256)",
  "function fund(uint256 amount) payable",
  "function proposeRoot(uint64 epoch, bytes32 root, uint256 totalCumulative, bytes32 dataHash, string uri)",
  "function acceptRoot()",
  "function revokeRoot(uint64 epoch, bytes32 root)",
  "function claim(address account, uint256 cumulativeAmount, bytes32[] proof)",
  "function claimMany(address[] accounts, uint256[] cumulativeAmounts, bytes32[][] proofs)",
  "event Funded(address indexed from, uint256 amount, uint256 totalFunded)",
  "event RootProposed(uint64 indexed epoch, bytes32 root, uint256 totalCumulative, bytes32 dataHash, string uri, uint64 validAt)",
  "event RootAccepted(uint64 indexed epoch, bytes32 root, uint256 totalCumulative)",
  "event RootRevoked(uint64 indexed epoch, bytes32 root, address indexed guardian)",
  "event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount)",
  "struct Payment { address account; uint256 amount; uint256 cumulativeAmount; }",
  "event ClaimedMany(Payment[] payments)",
]);

export const erc20Abi = parseAbi([
  "function balanceOf(address) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
  "function decimals() view returns (uint8)",
  "function symbol() view returns (string)",
]);
