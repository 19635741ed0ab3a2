/**
 * keccak256 of files and byte strings (epoch files, share logs): the `keccak` package's native
 * binding, fed incrementally so that multi-gigabyte share logs need no more memory than a chunk.
 */
import fs from "node:fs";
import type { Hex } from "viem";

interface KeccakHash {
  update(data: Buffer | string): KeccakHash;
  digest(): Buffer;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createKeccakHash = require("keccak") as (algorithm: "keccak256") => KeccakHash;

/** Incremental keccak256. */
export class Keccak256 {
  private readonly hash = createKeccakHash("keccak256");
  private finished = false;

  update(data: Buffer | string): this {
    if (this.finished) throw new Error("keccak256 already finished");
    this.hash.update(typeof data === "string" ? Buffer.from(data, "utf8") : data);
    return this;
  }

  hex(): Hex {
    this.finished = true;
    return `0x${this.hash.digest().toString("hex")}`;
  }
}

export function keccak256Hex(data: Buffer | string): Hex {
  return new Keccak256().update(data).hex();
}

/** keccak256 of a file's exact bytes. */
export async function keccak256File(file: string): Promise<Hex> {
  const k = new Keccak256();
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) k.update(chunk as Buffer);
  return k.hex();
}
