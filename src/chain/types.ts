import type { EventEmitter } from "node:events";

/** A transaction of a block template (as bitcoind's getblocktemplate gives it). */
export interface TemplateTransaction {
  /** Raw transaction, hex (with witness data when it has any). */
  data: string;
  /** txid, display (big-endian) hex. */
  txid: string;
  /** wtxid, display hex. */
  hash: string;
  fee: bigint;
}

/** The work the pool builds jobs from: one block template. */
export interface BlockTemplate {
  height: number;
  /** Previous block hash, display (big-endian) hex, 64 chars. */
  previousBlockHash: string;
  version: number;
  /** Compact target, 8 hex chars (big-endian, as getblocktemplate's "bits"). */
  bits: string;
  curtime: number;
  mintime: number;
  /** Subsidy + fees in the chain's smallest unit. */
  coinbaseValue: bigint;
  transactions: TemplateTransaction[];
  /** Output script (hex) of the segwit witness commitment, when the template has one. */
  defaultWitnessCommitment?: string;
  /** Identifier of this template (changes whenever the template does). */
  id: string;
}

export interface SubmitResult {
  accepted: boolean;
  /** bitcoind's reject reason (e.g. "duplicate", "high-hash") or a transport error. */
  reason?: string;
}

/**
 * One interface, two implementations (embedded local chain, bitcoind RPC).
 * Emits "template" (template: BlockTemplate, newBlock: boolean) whenever the work changes;
 * newBlock=true means the previous block hash changed and older jobs are stale.
 */
export interface TemplateSource extends EventEmitter {
  readonly kind: "embedded" | "bitcoind";
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The latest template (throws if start() has not produced one yet). */
  current(): BlockTemplate;
  /** Submits a full serialized block (hex). */
  submitBlock(blockHex: string): Promise<SubmitResult>;
  /** Confirmations of a block by hash (0 = unknown or orphaned), for epoch confirmation. */
  confirmations(blockHash: string): Promise<number>;
}
