/**
 * Digests of files and byte strings, fed incrementally so that multi-gigabyte share logs need no
 * more memory than a chunk:
 * - keccak256 (the `keccak` package's native binding): epoch files (the contract's `dataHash`),
 *   and the share logs of epoch files written before SHA-256 (`shareLog.hash: "keccak256"`);
 * - SHA-256 (node:crypto, or src/pow/sha256js.ts in the browser): share logs (`shareLog.hash:
 *   "sha256"`), 4-8× faster here than keccak256 on the 7 GB log of a 10 000 000-share epoch,
 *   which the audit reads on one thread.
 */
import * as crypto from "node:crypto";
import fs from "node:fs";
import type { Hex } from "viem";

interface KeccakHash {
  update(data: Buffer | string): KeccakHash;
  digest(): Buffer;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createKeccakHash = require("keccak") as (algorithm: "keccak256") => KeccakHash;

/** The digests a share log may be named by in an epoch file (`shareLog.hash`). */
export const SHARE_LOG_HASHES = ["sha256", "keccak256"] as const;
export type ShareLogHash = (typeof SHARE_LOG_HASHES)[number];
/** What new share logs are digested with. */
export const SHARE_LOG_HASH: ShareLogHash = "sha256";

/** An incremental digest; `hex()` ends it. */
export interface StreamDigest {
  update(data: Buffer | string): this;
  hex(): Hex;
}

abstract class Incremental implements StreamDigest {
  private finished = false;
  protected abstract feed(data: Buffer): void;
  protected abstract final(): Uint8Array;

  update(data: Buffer | string): this {
    if (this.finished) throw new Error("digest already finished");
    this.feed(typeof data === "string" ? Buffer.from(data, "utf8") : data);
    return this;
  }

  hex(): Hex {
    if (this.finished) throw new Error("digest already finished");
    this.finished = true;
    return `0x${Buffer.from(this.final()).toString("hex")}`;
  }
}

/** Incremental keccak256. */
export class Keccak256 extends Incremental {
  private readonly hash = createKeccakHash("keccak256");
  protected feed(data: Buffer): void {
    this.hash.update(data);
  }
  protected final(): Uint8Array {
    return this.hash.digest();
  }
}

/** Incremental SHA-256 (single, not Bitcoin's double). */
export class Sha256 extends Incremental {
  private readonly hash = crypto.createHash("sha256");
  protected feed(data: Buffer): void {
    this.hash.update(data);
  }
  protected final(): Uint8Array {
    return this.hash.digest();
  }
}

/** A new incremental digest of the named kind. */
export function createDigest(hash: ShareLogHash): StreamDigest {
  return hash === "sha256" ? new Sha256() : new Keccak256();
}

export function keccak256Hex(data: Buffer | string): Hex {
  return new Keccak256().update(data).hex();
}

/** The named digest of a byte string (a share log's, as its epoch file names it). */
export function digestHex(hash: ShareLogHash, data: Buffer | string): Hex {
  return createDigest(hash).update(data).hex();
}

/** The named digest of a file's exact bytes. */
export async function digestFile(hash: ShareLogHash, file: string): Promise<Hex> {
  const k = createDigest(hash);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) k.update(chunk as Buffer);
  return k.hex();
}
