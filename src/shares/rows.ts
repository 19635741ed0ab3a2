/** Row mapping and input checks shared by the SQLite and PostgreSQL stores. */
import { ShareStoreError, type BlockRecord, type BlockStatus, type EpochRecord, type EpochState, type LedgerDelta, type LedgerDeltaList } from "./types";

export function toBlock(r: Record<string, unknown>): BlockRecord {
  return {
    height: Number(r.height),
    hash: r.hash as string,
    reward: BigInt(r.reward as string),
    finder: r.finder as string,
    worker: r.worker as string,
    shareId: Number(r.share_id),
    nbits: r.nbits as string,
    submitted: r.submitted === 1 || r.submitted === true,
    submitError: (r.submit_error as string | null) ?? null,
    status: r.status as BlockStatus,
    confirmations: Number(r.confirmations),
    epoch: r.epoch === null || r.epoch === undefined ? null : Number(r.epoch),
    time: Number(r.time),
  };
}

export function toEpoch(r: Record<string, unknown>): EpochRecord {
  return {
    number: Number(r.number),
    blocks: JSON.parse(r.blocks as string) as string[],
    root: r.root as string,
    totalCumulative: BigInt(r.total_cumulative as string),
    reward: BigInt(r.reward as string),
    accounts: Number(r.accounts),
    filePath: r.file_path as string,
    dataHash: r.data_hash as string,
    shareLogPath: r.share_log_path as string,
    shareLogDigest: r.share_log_digest as string,
    state: r.state as EpochState,
    proposeTx: (r.propose_tx as string | null) ?? null,
    acceptTx: (r.accept_tx as string | null) ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function checkBlockUpdate(update: { status?: BlockStatus; confirmations?: number }): void {
  if (update.status !== undefined && !["pending", "confirmed", "orphaned"].includes(update.status)) {
    throw new ShareStoreError(`invalid block status ${String(update.status)}`);
  }
  if (update.confirmations !== undefined && (!Number.isSafeInteger(update.confirmations) || update.confirmations < 0)) {
    throw new ShareStoreError(`invalid confirmations ${String(update.confirmations)}`);
  }
}

export function checkEpochInput(e: Omit<EpochRecord, "state" | "proposeTx" | "acceptTx" | "createdAt" | "updatedAt">, deltas: LedgerDeltaList): void {
  checkEpochFields(e);
  for (let i = 0; i < deltas.length; i++) checkDelta(deltas.at(i)!);
}

/** checkEpochInput's checks of the epoch's own fields. */
export function checkEpochFields(e: Omit<EpochRecord, "state" | "proposeTx" | "acceptTx" | "createdAt" | "updatedAt">): void {
  if (!Number.isSafeInteger(e.number) || e.number < 1) throw new ShareStoreError(`invalid epoch number ${e.number}`);
  // A PPLNS epoch pays at least one block; a scheduled PPS/FPPS epoch may take none (its credits are shares).
  if (!Array.isArray(e.blocks)) throw new ShareStoreError("an epoch's blocks must be an array");
  if (!/^0x[0-9a-f]{64}$/.test(e.root)) throw new ShareStoreError(`invalid root ${e.root}`);
  if (!/^0x[0-9a-f]{64}$/.test(e.dataHash)) throw new ShareStoreError(`invalid data hash ${e.dataHash}`);
}

/** checkEpochInput's check of one ledger change (SQLite runs it row by row, in its chunks). */
export function checkDelta(d: LedgerDelta): void {
  if (!/^0x[0-9a-f]{40}$/.test(d.address)) throw new ShareStoreError(`invalid ledger address ${d.address}`);
  if (d.delta < 0n || d.cumulative < d.delta) throw new ShareStoreError(`invalid ledger change for ${d.address}`);
}
