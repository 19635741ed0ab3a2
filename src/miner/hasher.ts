import { hashToBigInt, merkleRootFromBranch, sha256d } from "../pow";
import type { MinerJob } from "./job";

export interface FoundNonce {
  nonce: number;
  hash: Buffer;
  hashValue: bigint;
}

/** Most significant 32 bits of a 256-bit target, for a cheap first comparison. */
function topWord(target: bigint): number {
  return Number(target >> 224n);
}

/**
 * One unit of work: a job with a fixed extranonce2 and version, whose header only varies in its
 * nonce. scan() hashes a range of nonces and returns those meeting the target.
 */
export class WorkUnit {
  readonly header = Buffer.alloc(80);
  nextNonce = 0;

  constructor(
    readonly job: MinerJob,
    readonly extranonce1: Buffer,
    readonly extranonce2: Buffer,
    /** Final header version (after rolling). */
    readonly version: number,
    /** The 6th submit parameter when rolling, else null. */
    readonly versionBits: number | null,
  ) {
    const coinbase = Buffer.concat([job.coinb1, extranonce1, extranonce2, job.coinb2]);
    const root = merkleRootFromBranch(sha256d(coinbase), job.branch);
    const h = this.header;
    h.writeUInt32LE(version >>> 0, 0);
    job.prevhashInternal.copy(h, 4);
    root.copy(h, 36);
    h.writeUInt32LE(job.ntime, 68);
    h.writeUInt32LE(job.nbits, 72);
  }

  get exhausted(): boolean {
    return this.nextNonce > 0xffffffff;
  }

  /** Hashes up to `count` nonces from nextNonce; returns those whose hash is ≤ target. */
  scan(count: number, target: bigint): FoundNonce[] {
    const found: FoundNonce[] = [];
    const h = this.header;
    const top = topWord(target);
    const end = Math.min(this.nextNonce + count, 0x100000000);
    for (let n = this.nextNonce; n < end; n++) {
      h.writeUInt32LE(n, 76);
      const hash = sha256d(h);
      if (hash.readUInt32LE(28) > top) continue;
      const value = hashToBigInt(hash);
      if (value <= target) found.push({ nonce: n, hash, hashValue: value });
    }
    this.nextNonce = end;
    return found;
  }
}
