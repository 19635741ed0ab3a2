import { displayHexToInternal, sha256d } from "./hash";
import { hexToBuffer } from "./hex";

/**
 * Stratum merkle branch for a block whose first transaction is the coinbase and whose other
 * transactions have the given txids (display hex). Entries are the raw sha256d digests (internal
 * byte order) as hex, exactly as sent in mining.notify.
 */
export function merkleBranch(txidsDisplayHex: string[]): string[] {
  const branch: Buffer[] = [];
  let level: (Buffer | null)[] = [null, ...txidsDisplayHex.map((t, i) => displayHexToInternal(t, `txid[${i}]`))];
  while (level.length > 1) {
    branch.push(level[1]!);
    if (level.length % 2 === 1) level.push(level[level.length - 1]);
    const next: (Buffer | null)[] = [null];
    for (let i = 2; i < level.length; i += 2) next.push(sha256d(Buffer.concat([level[i]!, level[i + 1]!])));
    level = next;
  }
  return branch.map((b) => b.toString("hex"));
}

/** Folds sha256d(acc ‖ branch[i]) starting from the coinbase hash (all internal byte order). */
export function merkleRootFromBranch(coinbaseHash: Buffer, branch: (string | Buffer)[]): Buffer {
  if (!Buffer.isBuffer(coinbaseHash) || coinbaseHash.length !== 32) throw new RangeError("coinbase hash must be 32 bytes");
  let acc = coinbaseHash;
  const pair = Buffer.alloc(64);
  for (let i = 0; i < branch.length; i++) {
    const step = branch[i];
    const stepBuf = typeof step === "string" ? hexToBuffer(step, `merkleBranch[${i}]`, 32) : step;
    if (!Buffer.isBuffer(stepBuf) || stepBuf.length !== 32) throw new RangeError(`merkleBranch[${i}] must be 32 bytes`);
    acc.copy(pair, 0);
    stepBuf.copy(pair, 32);
    acc = sha256d(pair);
  }
  return acc;
}

/** The full merkle root of a list of txids in internal byte order (Bitcoin's odd-level duplication). */
export function merkleRootOfTxids(txidsInternal: Buffer[]): Buffer {
  if (txidsInternal.length === 0) throw new RangeError("merkle root of an empty list");
  let level = txidsInternal;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = i + 1 < level.length ? level[i + 1] : level[i];
      next.push(sha256d(Buffer.concat([level[i], right])));
    }
    level = next;
  }
  return level[0];
}
