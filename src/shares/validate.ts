import type { AcceptedShare, FoundBlock } from "../stratum/events";
import { parseDifficulty } from "./difficulty";

export class ShareValidationError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "ShareValidationError";
  }
}

/** A share checked and split into what the store writes. */
export interface ShareRow {
  address: string;
  whole: number;
  frac: number;
  worker: string;
  job: JobRow;
  extranonce1: string;
  extranonce2: string;
  version: string;
  ntime: string;
  nonce: string;
  hash: string;
  isBlock: boolean;
  time: number;
}

/** The per-job part of a share (identical for every share of one job sent to one connection). */
export interface JobRow {
  jobId: string;
  height: number;
  prevhash: string;
  nbits: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const LOWER_ADDRESS = /^0x[0-9a-f]{40}$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const HEX32 = /^[0-9a-fA-F]{64}$/;
const HEX4 = /^[0-9a-fA-F]{8}$/;
const MAX_COINBASE_PART_HEX = 20_000;

function fail(field: string, why: string, value: unknown): never {
  const shown = typeof value === "string" ? JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value) : String(value);
  throw new ShareValidationError(`share ${field} ${why}: ${shown}`);
}

function hex(field: string, value: unknown, max: number): string {
  if (typeof value !== "string" || value.length > max || !HEX.test(value)) fail(field, `must be hex of at most ${max} digits`, value);
  return value;
}

function fixed(field: string, value: unknown, re: RegExp, what: string): string {
  if (typeof value !== "string" || !re.test(value)) fail(field, `must be ${what}`, value);
  return value;
}

/**
 * Checks every field of an accepted share; throws ShareValidationError naming the bad one. The
 * job's fields (coinbase parts, branch, …) are checked once per job: a share whose job matches
 * one in `jobs` reuses that already-checked JobRow.
 */
export function validateShare(share: AcceptedShare, jobs?: JobCache): ShareRow {
  if (share === null || typeof share !== "object") throw new ShareValidationError("share must be an object");
  const given = fixed("address", share.address, ADDRESS, "a 0x-prefixed 20-byte hex address");
  const address = LOWER_ADDRESS.test(given) ? given : given.toLowerCase();
  if (typeof share.worker !== "string" || share.worker.length > 256) fail("worker", "must be a string of at most 256 characters", share.worker);
  let parts;
  try {
    parts = parseDifficulty(share.difficulty);
  } catch (err) {
    throw new ShareValidationError(`share difficulty: ${(err as Error).message}`);
  }
  let job = jobs?.lookup(share);
  if (job === undefined) {
    job = validateJob(share);
    jobs?.add(job);
  }
  const extranonce1 = hex("extranonce1", share.extranonce1, 64);
  const extranonce2 = hex("extranonce2", share.extranonce2, 64);
  const version = fixed("version", share.version, HEX4, "8 hex digits");
  const ntime = fixed("ntime", share.ntime, HEX4, "8 hex digits");
  const nonce = fixed("nonce", share.nonce, HEX4, "8 hex digits");
  const hash = fixed("hash", share.hash, HEX32, "64 hex digits");
  if (typeof share.isBlock !== "boolean") fail("isBlock", "must be a boolean", share.isBlock);
  if (!Number.isSafeInteger(share.time) || share.time < 0) fail("time", "must be milliseconds since the epoch", share.time);
  return { address, whole: parts.whole, frac: parts.frac, worker: share.worker, job, extranonce1, extranonce2, version, ntime, nonce, hash, isBlock: share.isBlock, time: share.time };
}

function validateJob(share: AcceptedShare): JobRow {
  if (typeof share.jobId !== "string" || share.jobId.length === 0 || share.jobId.length > 64) fail("jobId", "must be a non-empty string of at most 64 characters", share.jobId);
  if (!Number.isSafeInteger(share.height) || share.height < 0) fail("height", "must be a non-negative integer", share.height);
  const prevhash = fixed("prevhash", share.prevhash, HEX32, "64 hex digits");
  const coinb1 = hex("coinb1", share.coinb1, MAX_COINBASE_PART_HEX);
  const coinb2 = hex("coinb2", share.coinb2, MAX_COINBASE_PART_HEX);
  if (!Array.isArray(share.merkleBranch) || share.merkleBranch.length > 64) fail("merkleBranch", "must be an array of at most 64 hashes", share.merkleBranch);
  share.merkleBranch.forEach((b, i) => fixed(`merkleBranch[${i}]`, b, HEX32, "64 hex digits"));
  const nbits = fixed("nbits", share.nbits, HEX4, "8 hex digits");
  return { jobId: share.jobId, height: share.height, prevhash, nbits, coinb1, coinb2, merkleBranch: share.merkleBranch.slice() };
}

/** True when a share was built on exactly this job. */
function sameJob(job: JobRow, s: AcceptedShare): boolean {
  if (job.jobId !== s.jobId || job.height !== s.height || job.prevhash !== s.prevhash || job.nbits !== s.nbits) return false;
  if (job.coinb1 !== s.coinb1 || job.coinb2 !== s.coinb2 || !Array.isArray(s.merkleBranch) || job.merkleBranch.length !== s.merkleBranch.length) return false;
  for (let i = 0; i < job.merkleBranch.length; i++) if (job.merkleBranch[i] !== s.merkleBranch[i]) return false;
  return true;
}

/**
 * Recently seen jobs by (jobId, coinb1): the coinbase differs per payout address, the job id per
 * template. A hit must match in full. Bounded: cleared when it grows past `limit`.
 */
export class JobCache {
  private readonly byJobId = new Map<string, Map<string, JobRow>>();
  private size = 0;
  constructor(private readonly limit = 100_000) {}

  lookup(share: AcceptedShare): JobRow | undefined {
    const job = this.byJobId.get(share.jobId)?.get(share.coinb1);
    return job !== undefined && sameJob(job, share) ? job : undefined;
  }

  add(job: JobRow): void {
    if (this.size >= this.limit) {
      this.byJobId.clear();
      this.size = 0;
    }
    let inner = this.byJobId.get(job.jobId);
    if (!inner) this.byJobId.set(job.jobId, (inner = new Map()));
    if (!inner.has(job.coinb1)) this.size++;
    inner.set(job.coinb1, job);
  }
}

export interface BlockRow {
  height: number;
  hash: string;
  reward: bigint;
  finder: string;
  worker: string;
  submitted: boolean;
  submitError: string | null;
  time: number;
}

export function validateBlock(block: FoundBlock, share: ShareRow): BlockRow {
  if (block === null || typeof block !== "object") throw new ShareValidationError("block must be an object");
  if (!Number.isSafeInteger(block.height) || block.height < 0) throw new ShareValidationError(`block height must be a non-negative integer: ${block.height}`);
  if (typeof block.hash !== "string" || !HEX32.test(block.hash)) throw new ShareValidationError(`block hash must be 64 hex digits: ${block.hash}`);
  if (typeof block.reward !== "string" || !/^\d{1,78}$/.test(block.reward)) throw new ShareValidationError(`block reward must be a decimal integer string: ${block.reward}`);
  if (!Number.isSafeInteger(block.time) || block.time < 0) throw new ShareValidationError(`block time must be milliseconds since the epoch: ${block.time}`);
  const finder = typeof block.address === "string" && ADDRESS.test(block.address) ? block.address.toLowerCase() : share.address;
  return {
    height: block.height,
    hash: block.hash.toLowerCase(),
    reward: BigInt(block.reward),
    finder,
    worker: typeof block.worker === "string" && block.worker !== "" ? block.worker : share.worker,
    submitted: block.submitted === true,
    submitError: typeof block.submitError === "string" ? block.submitError.slice(0, 1000) : null,
    time: block.time,
  };
}
