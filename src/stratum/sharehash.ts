/**
 * The Stratum server's per-share proof of work on the WebAssembly sha256d (src/pow/sha256wasm.ts):
 * the coinbase, the merkle pairs and the header are built in the arena's memory and hashed there,
 * with nothing allocated but the 32-byte header hash the duplicate filter keeps. `hashShare`
 * (shares.ts) stays the plain reference; test/stratum.sharehash.test.ts compares the two on random
 * and hostile inputs.
 */
import { hashToBigInt, Sha256dArena } from "../pow";
import type { HashedShare } from "./shares";
import { hashShare } from "./shares";
import type { SessionJob } from "./jobs";

/** Largest coinbase hashed in the arena (bytes); a larger one goes through `hashShare`. */
export const ARENA_COINBASE_MAX = 16 * 1024;

export class ShareHasher {
  private readonly arena = new Sha256dArena();
  private readonly coinbase = this.arena.alloc(ARENA_COINBASE_MAX);
  /** acc ‖ branch step; acc (bytes 0-31) is where each digest lands. */
  private readonly pair = this.arena.alloc(64);
  private readonly header = this.arena.alloc(80);
  private readonly digest = this.arena.alloc(32);
  private coinbaseLength = 0;
  private fallback: HashedShare | null = null;

  /**
   * The share's header hash (a fresh 32-byte Buffer, internal byte order) and its value as a
   * little-endian 256-bit number, exactly as `hashShare` computes them. The coinbase and header of
   * this share stay readable through `lastCoinbase` and `lastHeader` until the next call.
   * `extranonce2Hex` must be valid hex of the job's extranonce2 size (parseSubmitParams checks it).
   */
  hash(job: SessionJob, extranonce1: Buffer, extranonce2Hex: string, version: number, ntime: number, nonce: number): { hash: Buffer; hashValue: bigint } {
    const c1 = job.parts.coinb1Buf;
    const c2 = job.parts.coinb2Buf;
    const length = c1.length + extranonce1.length + (extranonce2Hex.length >>> 1) + c2.length;
    if (length > ARENA_COINBASE_MAX) {
      this.fallback = hashShare(job, extranonce1, extranonce2Hex, version, ntime, nonce);
      return { hash: this.fallback.hash, hashValue: this.fallback.hashValue };
    }
    this.fallback = null;
    const cb = this.coinbase;
    let off = c1.copy(cb, 0);
    off += extranonce1.copy(cb, off);
    off += cb.write(extranonce2Hex, off, "hex");
    c2.copy(cb, off);
    this.coinbaseLength = length;
    const arena = this.arena;
    const pair = this.pair;
    arena.sha256dInto(cb, length, pair, 0);
    const branch = job.work.tw.branchBufs;
    for (let i = 0; i < branch.length; i++) {
      branch[i].copy(pair, 32);
      arena.sha256dInto(pair, 64, pair, 0);
    }
    const tw = job.work.tw;
    const header = this.header;
    header.writeUInt32LE(version >>> 0, 0);
    tw.prevhashInternal.copy(header, 4);
    pair.copy(header, 36, 0, 32);
    header.writeUInt32LE(ntime >>> 0, 68);
    header.writeUInt32LE(tw.nbitsValue, 72);
    header.writeUInt32LE(nonce >>> 0, 76);
    const d = this.digest;
    arena.sha256dInto(header, 80, d, 0);
    const hash = Buffer.from(d);
    return { hash, hashValue: hashToBigInt(hash) };
  }

  /** A copy of the last hashed share's coinbase transaction (non-witness serialization). */
  lastCoinbase(): Buffer {
    return this.fallback !== null ? this.fallback.coinbase : Buffer.from(this.coinbase.subarray(0, this.coinbaseLength));
  }

  /** A copy of the last hashed share's 80-byte header. */
  lastHeader(): Buffer {
    return this.fallback !== null ? this.fallback.header : Buffer.from(this.header);
  }
}
