/** Messages between the pool process and its Stratum worker processes (cluster.ts, cluster-worker.ts). */
import type { BlockTemplate, SubmitResult } from "../chain/types";
import type { StratumConfigInput } from "./config";
import type { AcceptedShare } from "./events";
import type { StratumStats } from "./metrics";

export type PrimaryMessage =
  | { t: "init"; index: number; count: number; config: StratumConfigInput; template: BlockTemplate | null; sourceKind: "embedded" | "bitcoind"; logLevel: string }
  | { t: "template"; template: BlockTemplate; newBlock: boolean }
  /** One error text per share of batch `seq` (null: stored). */
  | { t: "stored"; seq: number; errors: (string | null)[] }
  | { t: "submitted"; id: number; result: SubmitResult }
  | { t: "close"; timeoutMs: number };

export type WorkerMessage =
  | { t: "ready"; port: number }
  | { t: "failed"; error: string }
  | { t: "shares"; seq: number; batch: ShareBatch }
  | { t: "submit"; id: number; hex: string }
  | { t: "stats"; stats: StratumStats };

/** What shares of one job (one coinbase) have in common: sent once per batch. */
type JobPart = Pick<AcceptedShare, "address" | "difficulty" | "height" | "prevhash" | "coinb1" | "coinb2" | "merkleBranch" | "nbits">;
const JOB_FIELDS = ["address", "difficulty", "height", "prevhash", "coinb1", "coinb2", "merkleBranch", "nbits"] as const;
/** The fields each share has of its own, in this order, after its job's index. */
const SHARE_FIELDS = ["jobId", "worker", "extranonce1", "extranonce2", "version", "ntime", "nonce", "hash", "isBlock", "time"] as const;
const STRIDE = 1 + SHARE_FIELDS.length;

/**
 * Shares in transit from a worker: each job's common fields once, then a flat row per share (a
 * quarter of the bytes of the objects, and no per-share object for the serializer to walk).
 */
export interface ShareBatch {
  jobs: JobPart[];
  rows: (string | number | boolean)[];
}

export function encodeShares(shares: AcceptedShare[]): ShareBatch {
  const jobs: JobPart[] = [];
  const index = new Map<string, number>();
  const rows: (string | number | boolean)[] = [];
  for (const s of shares) {
    // Every common field in the key: a share is never given another job's values.
    const key = `${s.address}|${s.difficulty}|${s.height}|${s.prevhash}|${s.nbits}|${s.coinb1}|${s.coinb2}|${s.merkleBranch.join(",")}`;
    let j = index.get(key);
    if (j === undefined) {
      j = jobs.length;
      index.set(key, j);
      jobs.push({ address: s.address, difficulty: s.difficulty, height: s.height, prevhash: s.prevhash, coinb1: s.coinb1, coinb2: s.coinb2, merkleBranch: s.merkleBranch, nbits: s.nbits });
    }
    rows.push(j);
    for (const f of SHARE_FIELDS) rows.push(s[f]);
  }
  return { jobs, rows };
}

/** The shares `encodeShares` was given, field for field. TypeError on a malformed batch. */
export function decodeShares(batch: ShareBatch): AcceptedShare[] {
  const { jobs, rows } = batch;
  if (!Array.isArray(jobs) || !Array.isArray(rows) || rows.length % STRIDE !== 0) throw new TypeError("malformed share batch");
  const out: AcceptedShare[] = [];
  for (let i = 0; i < rows.length; i += STRIDE) {
    const job = jobs[rows[i] as number];
    if (job === undefined) throw new TypeError("malformed share batch: unknown job");
    const share = {} as Record<string, unknown>;
    for (const f of JOB_FIELDS) share[f] = job[f];
    for (let k = 0; k < SHARE_FIELDS.length; k++) share[SHARE_FIELDS[k]] = rows[i + 1 + k];
    out.push(share as unknown as AcceptedShare);
  }
  return out;
}
