/**
 * An accepted share as the Stratum server emits it: everything needed to re-verify its proof of
 * work and to credit it. All hex fields are exactly as they went over the wire (Stratum's byte
 * orders), so an auditor can replay the header assembly from pow/.
 */
export interface AcceptedShare {
  /** Payout address, lower-case 0x hex (also committed inside coinb1). */
  address: string;
  worker: string;
  /** Difficulty the share was credited at, exact decimal string (may be < 1, e.g. "0.02"). */
  difficulty: string;
  jobId: string;
  /** Height of the block the job was building. */
  height: number;
  /** mining.notify prevhash (word-swapped hex). */
  prevhash: string;
  coinb1: string;
  coinb2: string;
  extranonce1: string;
  extranonce2: string;
  merkleBranch: string[];
  /** Final block version used in the header, 8 hex BE (after version rolling). */
  version: string;
  nbits: string;
  ntime: string;
  nonce: string;
  /** sha256d of the header, display (big-endian) hex. */
  hash: string;
  /** True when the share met the network target (a block). */
  isBlock: boolean;
  /** Milliseconds since the epoch when it was accepted. */
  time: number;
}

export interface FoundBlock {
  height: number;
  hash: string;
  /** Subsidy + fees, smallest unit, decimal string. */
  reward: string;
  address: string;
  worker: string;
  submitted: boolean;
  submitError?: string;
  time: number;
}

/**
 * Where accepted shares go. The server acknowledges a share to the miner only after `record`
 * resolves (durable storage), so a store must not resolve before the share is safe.
 */
export interface ShareSink {
  record(share: AcceptedShare): Promise<void>;
  recordBlock?(block: FoundBlock, share: AcceptedShare): Promise<void>;
}
