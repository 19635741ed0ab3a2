import * as pow from "../pow";
import { ErrorCode, StratumError } from "./errors";
import type { SessionJob } from "./jobs";

export interface SubmitParams {
  worker: string;
  jobId: string;
  /** Lower-case hex. */
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** 6th parameter (BIP310), lower-case 8 hex, or null when absent. */
  versionBits: string | null;
}

// Bound once: the re-exports of ../pow are getters, called per share otherwise.
const { hashToBigInt, merkleRootFromBranch, sha256d } = pow;

const HEX8_RE = /^[0-9a-fA-F]{8}$/;
const HEX_RE = /^[0-9a-fA-F]*$/;

function bad(message: string): StratumError {
  return new StratumError(ErrorCode.OTHER, message, "bad-params");
}

function field8(value: unknown, name: string): string {
  if (typeof value !== "string") throw bad(`${name} must be a hex string`);
  if (!HEX8_RE.test(value)) {
    throw bad(HEX_RE.test(value) ? `${name} must be 8 hex characters, got ${value.length}` : `${name} is not hex`);
  }
  return value.toLowerCase();
}

/** Validates mining.submit's params: [worker, job_id, extranonce2, ntime, nonce, (version_bits)]. */
export function parseSubmitParams(params: unknown[], extranonce2Size: number): SubmitParams {
  if (params.length < 5) throw bad(`mining.submit needs 5 or 6 params, got ${params.length}`);
  const [worker, jobId, en2, ntime, nonce, versionBits] = params;
  if (typeof worker !== "string") throw bad("worker name must be a string");
  if (typeof jobId !== "string" || jobId.length === 0 || jobId.length > 64) throw bad("job id must be a non-empty string");
  if (typeof en2 !== "string") throw bad("extranonce2 must be a hex string");
  if (en2.length !== extranonce2Size * 2) {
    throw bad(`extranonce2 must be ${extranonce2Size * 2} hex characters, got ${en2.length}`);
  }
  if (!HEX_RE.test(en2)) throw bad("extranonce2 is not hex");
  return {
    worker,
    jobId,
    extranonce2: en2.toLowerCase(),
    ntime: field8(ntime, "ntime"),
    nonce: field8(nonce, "nonce"),
    versionBits: versionBits === undefined || versionBits === null ? null : field8(versionBits, "version bits"),
  };
}

export interface HashedShare {
  coinbase: Buffer;
  header: Buffer;
  hash: Buffer;
  hashValue: bigint;
}

/**
 * The share's proof of work, assembled from the job's cached binary parts (no hex re-decoding of
 * coinb1/coinb2/branch). Equivalent to pow.verifyShareWork; the tests check that it agrees.
 */
export function hashShare(
  job: SessionJob,
  extranonce1: Buffer,
  extranonce2Hex: string,
  version: number,
  ntime: number,
  nonce: number,
): HashedShare {
  const c1 = job.parts.coinb1Buf;
  const c2 = job.parts.coinb2Buf;
  const en2Len = extranonce2Hex.length >>> 1;
  const coinbase = Buffer.allocUnsafe(c1.length + extranonce1.length + en2Len + c2.length);
  let off = c1.copy(coinbase, 0);
  off += extranonce1.copy(coinbase, off);
  off += coinbase.write(extranonce2Hex, off, "hex");
  c2.copy(coinbase, off);
  const tw = job.work.tw;
  const root = merkleRootFromBranch(sha256d(coinbase), tw.branchBufs);
  const header = Buffer.allocUnsafe(80);
  header.writeUInt32LE(version >>> 0, 0);
  tw.prevhashInternal.copy(header, 4);
  root.copy(header, 36);
  header.writeUInt32LE(ntime >>> 0, 68);
  header.writeUInt32LE(tw.nbitsValue, 72);
  header.writeUInt32LE(nonce >>> 0, 76);
  const hash = sha256d(header);
  return { coinbase, header, hash, hashValue: hashToBigInt(hash) };
}
