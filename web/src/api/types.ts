/** Shapes of the pool's HTTP API (docs/api.md). Amounts are decimal strings, times milliseconds. */

export type Hex = `0x${string}`;

export interface PoolConfig {
  stratumUrl: string;
  rpcUrl: string;
  chainId: number;
  contract: Hex;
  /** 0x000… for the native coin. */
  token: Hex;
  assetSymbol: string;
  assetDecimals: number;
  /** The contract's challengeWindow() in seconds (read from the chain). */
  challengeWindow: number;
  /** Smallest units of the asset paid per satoshi of block reward. */
  unitsPerSatoshi?: string;
  powChain: "embedded" | "bitcoind";
  /** Smallest claimable amount the pool pays automatically, in units; null = automatic payouts are off. */
  payoutThreshold?: string | null;
  /** payout.scheme: "pplns", "pps" or "fpps" (absent from older pools: pplns). */
  payoutScheme?: "pplns" | "pps" | "fpps";
  /** PPS/FPPS: seconds between scheduled epochs (payout.intervalSeconds). */
  payoutIntervalSeconds?: number;
}

export interface PoolStats {
  hashrate: number;
  miners: number;
  workers: number;
  blocks: { found: number; confirmed: number; orphaned: number };
  chain: { height: number; networkDifficulty: string | number };
  currentEpoch: number | null;
  activeEpoch: number | null;
  pendingEpoch: number | null;
  contract: { balance: string; totalFunded: string; activeTotalCumulative: string; totalClaimed: string; outstanding: string };
  shares: { accepted: number; rejected: number };
  /**
   * The payout scheme and the operator's reserve against what it owes (issue 14). Amounts in the
   * asset's smallest unit: `owed` = credits of the latest built epoch not yet funded into the
   * contract plus `accrued`, the credits of the shares accepted since the last epoch was built
   * (an estimate; FPPS without its fee part); `reserve` = the operator key's balance of the asset (null: the API has no operator
   * key); `covered` = reserve ≥ owed (null when the reserve is unknown); `scheme` is the one the
   * next epoch is built under. Absent from older pools.
   */
  payout?: {
    scheme: "pplns" | "pps" | "fpps";
    intervalSeconds?: number;
    owed: string;
    /** Absent from older pools. */
    accrued?: string;
    reserve: string | null;
    covered: boolean | null;
    /** A change announced for a later epoch (payout.change): scheme and fee (basis points) from epoch `fromEpoch`; null when none. */
    change?: { fromEpoch: number; scheme: "pplns" | "pps" | "fpps"; feeBps: number } | null;
  };
}

export interface HashratePoint {
  t: number;
  hashrate: number;
  workers?: Record<string, number>;
}

export interface BlockFound {
  height: number;
  hash: string;
  reward: string;
  finder: string;
  worker: string;
  time: number;
  confirmations: number;
  status: "pending" | "confirmed" | "orphaned";
  epoch: number | null;
}

export interface MinerWorker {
  name: string;
  hashrate: number;
  lastShareAt: number | null;
  shares: number;
}

export interface MinerPayout {
  txHash: Hex;
  amount: string;
  time: number;
  status: string;
}

export interface MinerInfo {
  address: Hex;
  hashrate: number;
  workers: MinerWorker[];
  sharesInWindow: { count: number; difficulty: string | number };
  allocated: string;
  claimed: string;
  claimable: string;
  epochs: { epoch: number; delta: string; cumulative: string }[];
  payouts: MinerPayout[];
  /** Every payment the contract made to this address, from its events (wallet and CLI claims too), newest first. */
  claims?: MinerClaim[];
  /** Set aside by automatic payouts: its claim fails on its own (reason), retried at nextRetryAt (ms). */
  payoutAside: { reason: string; amount: string; epoch: number; since: number; attempts: number; nextRetryAt: number } | null;
}

export interface MinerClaim {
  txHash: Hex;
  blockNumber: number;
  time: number;
  sender: Hex;
  amount: string;
  cumulative: string;
  via: "claim" | "claimMany";
}

export type EpochState = "built" | "proposed" | "active" | "revoked";

export interface EpochSummary {
  epoch: number;
  root: Hex;
  totalCumulative: string;
  state: EpochState;
  /** Seconds; set while the root is pending. */
  validAt?: number | null;
  blocks: number[];
  dataHash: Hex;
  uri: string;
  proposeTx?: Hex | null;
  acceptTx?: Hex | null;
}

export interface ClaimProof {
  account: Hex;
  cumulative: string;
  proof: Hex[];
  epoch: number;
  root: Hex;
  contract: Hex;
  chainId: number;
}

export interface Payout {
  txHash: Hex;
  time: number;
  status: "sent" | "confirmed" | "failed";
  gasUsed: string | number | null;
  accounts: { account: Hex; amount: string }[];
}

export interface LiveUpdate {
  kind: "share" | "block" | "epoch" | "payout";
  [field: string]: unknown;
}
