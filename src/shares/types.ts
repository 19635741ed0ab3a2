import type { AcceptedShare, FoundBlock, ShareSink } from "../stratum/events";

/** A share as stored: the accepted share (difficulty in canonical decimal form) plus its id. */
export interface StoredShare extends AcceptedShare {
  /** Store-assigned, increasing in commit order on SQLite (in allocation order on PostgreSQL). */
  id: number;
}

/** The part of a share the PPLNS walk reads, in bulk. */
export interface ShareWeightRow {
  id: number;
  /** Dense integer id of the payout address (see ShareStore.accountAddresses). */
  account: number;
  /** Difficulty: whole part and fraction × 10^12 (see shares/difficulty.ts). */
  whole: number;
  frac: number;
}

export type BlockStatus = "pending" | "confirmed" | "orphaned";

export interface BlockRecord {
  height: number;
  hash: string;
  /** Subsidy + fees, smallest unit. */
  reward: bigint;
  /** Payout address of the finder. */
  finder: string;
  worker: string;
  /** Id of the block-finding share: the newest share of the block's PPLNS window. */
  shareId: number;
  /** Compact network target of the job the block was found on. */
  nbits: string;
  submitted: boolean;
  submitError: string | null;
  status: BlockStatus;
  confirmations: number;
  /** Epoch that paid this block, or null while unpaid. */
  epoch: number | null;
  time: number;
}

export type EpochState = "built" | "proposed" | "accepted" | "revoked";

export interface EpochRecord {
  number: number;
  /** Hashes of the blocks this epoch pays, ascending height. */
  blocks: string[];
  root: string;
  /** Sum of every cumulative amount in the tree. */
  totalCumulative: bigint;
  /** Sum of the rewards of this epoch's blocks (what the tree grew by). */
  reward: bigint;
  accounts: number;
  filePath: string;
  /** keccak256 of the epoch file's bytes (proposeRoot's dataHash). */
  dataHash: string;
  shareLogPath: string;
  shareLogDigest: string;
  state: EpochState;
  proposeTx: string | null;
  acceptTx: string | null;
  createdAt: number;
  updatedAt: number;
}

/** One account's change in one epoch. */
export interface LedgerDelta {
  address: string;
  delta: bigint;
  cumulative: bigint;
}

/**
 * An epoch's ledger changes as the stores read them: by index, in order. An array is one; the
 * build worker's packed columns (PackedLedgerDeltas) are another, so that a million-account epoch
 * never becomes a million objects held on the event loop's heap.
 */
export interface LedgerDeltaList {
  readonly length: number;
  /** The change at `i` (0 ≤ i < length). */
  at(i: number): LedgerDelta | undefined;
}

/**
 * The epoch files and share logs a pool publishes, kept in the store (PostgreSQL) so that every
 * process of a pool serves them and a committer elected after another continues from them, on
 * whatever machine (issue 15). Stored in chunks, with the size and SHA-256 checked when read back.
 */
export interface PublishedFiles {
  /** Stores the file at `filePath` under `name` (its base name), replacing one of that name. */
  put(name: string, filePath: string): Promise<void>;
  /** The stored file's size and SHA-256 (hex), or undefined when the store has none of that name. */
  info(name: string): Promise<{ size: number; sha256: string } | undefined>;
  /** Writes the stored file to `filePath` (atomically); false when the store has none of that name. Throws when it reads back damaged. */
  restore(name: string, filePath: string): Promise<boolean>;
}

export interface ShareStore extends ShareSink {
  readonly kind: "sqlite" | "postgres";
  /** Published files kept in the store: PostgreSQL only (a SQLite store is one process's, beside its files). */
  readonly files?: PublishedFiles;
  /** Stores a share (group commit) and resolves with its id once the transaction is durable. */
  recordShare(share: AcceptedShare): Promise<number>;
  /** ShareSink: same as recordShare. */
  record(share: AcceptedShare): Promise<void>;
  /**
   * Stores a found block (idempotent by hash) and links it to its share, storing the share too
   * when it is not stored yet. Resolves once durable.
   */
  recordBlock(block: FoundBlock, share: AcceptedShare): Promise<void>;

  /** Highest share id, 0 when empty. */
  lastShareId(): Promise<number>;
  shareCount(): Promise<number>;
  /** Full shares with fromId ≤ id ≤ toId, ascending, fetched `batch` at a time. */
  sharesInRange(fromId: number, toId: number, batch?: number): AsyncIterable<StoredShare>;
  /** Weight rows with id ≤ fromId, newest first, in batches (the PPLNS walk). */
  weightsNewestFirst(fromId: number, batch?: number): AsyncIterable<ShareWeightRow[]>;
  /** Addresses of account ids (as used in ShareWeightRow). */
  accountAddresses(ids: readonly number[]): Promise<Map<number, string>>;

  blocks(filter?: { status?: BlockStatus; unpaid?: boolean }): Promise<BlockRecord[]>;
  block(hash: string): Promise<BlockRecord | undefined>;
  /** Chain tracking: status and depth of a block. */
  updateBlock(hash: string, update: { status?: BlockStatus; confirmations?: number }): Promise<void>;

  epochs(): Promise<EpochRecord[]>;
  epoch(number: number): Promise<EpochRecord | undefined>;
  latestEpoch(): Promise<EpochRecord | undefined>;
  /**
   * Records a built epoch atomically: the epoch row (state "built"), its blocks marked paid, and
   * the ledger advanced by `deltas`. Fails if the epoch exists (not revoked), is not the next
   * one, or a block is already paid.
   */
  recordEpoch(epoch: Omit<EpochRecord, "state" | "proposeTx" | "acceptTx" | "createdAt" | "updatedAt">, deltas: LedgerDeltaList): Promise<void>;
  /** Committer progress: proposed / accepted, with transaction hashes. */
  updateEpochState(number: number, update: { state: Exclude<EpochState, "built" | "revoked">; proposeTx?: string; acceptTx?: string }): Promise<void>;
  /**
   * Marks the latest epoch revoked and rolls its ledger changes and block assignments back, so
   * that an explicit rebuild can produce a new epoch with the same number.
   */
  revokeEpoch(number: number): Promise<void>;

  /** Current cumulative amount per address (through the latest recorded epoch). */
  ledger(): Promise<Map<string, bigint>>;
  /** Cumulative amounts as of epoch `number` (each address's latest change at or before it). */
  ledgerAt(number: number): Promise<Map<string, bigint>>;
  /** Changes recorded for one epoch. */
  ledgerDeltas(number: number): Promise<LedgerDelta[]>;
  /** One address's changes, by epoch ascending (indexed: cheap however large the epochs are). */
  ledgerHistory(address: string): Promise<Array<LedgerDelta & { epoch: number }>>;

  /** Schema version after migrations. */
  schemaVersion(): Promise<number>;
  /** A value of the store's `meta` table (e.g. the deployment it is bound to: shares/binding.ts). */
  getMeta(key: string): Promise<string | undefined>;
  /** Sets a `meta` value only if the key is absent; resolves with the value now stored. */
  setMetaOnce(key: string, value: string): Promise<string>;
  /** Flushes pending writes, then closes. */
  close(): Promise<void>;
}

export class ShareStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShareStoreError";
  }
}
