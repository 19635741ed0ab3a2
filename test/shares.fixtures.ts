/** Shares with real proof of work at test difficulties, for the epoch, audit and store tests. */
import { bitsToTarget, buildCoinbaseParts, difficultyToTarget, hashToDisplayHex, verifyShareWork } from "../src/pow";
import { difficultyToUnits } from "../src/shares/difficulty";
import type { AcceptedShare } from "../src/stratum/events";

export interface TestShareSpec {
  address: string;
  height: number;
  /** Distinguishes shares of one miner (becomes extranonce2) and sets `time`. */
  seq: number;
  /** Distinguishes miners (becomes extranonce1). */
  miner: number;
  nbits: string;
  /** The difficulty the job's coinbase commits to. */
  committed: string;
  /** What the share record says it was credited at (honestly: `committed`). */
  credited?: string;
  isBlock: boolean;
  prevhash?: string;
  merkleBranch?: string[];
  jobId?: string;
}

/**
 * Grinds nonces until the header meets the committed difficulty (and is a block exactly when
 * `isBlock`); a block whose committed difficulty is above the network's (a forgery) only needs to
 * meet the network target.
 */
export function mineTestShare(spec: TestShareSpec): AcceptedShare {
  const { coinb1, coinb2 } = buildCoinbaseParts({
    height: spec.height,
    payoutAddress: spec.address,
    shareDifficultyUnits: difficultyToUnits(spec.committed),
    extranonce1Size: 4,
    extranonce2Size: 4,
    outputs: [{ value: 5_000_000_000n, script: Buffer.from("51", "hex") }],
  });
  const shareTarget = difficultyToTarget(spec.committed);
  const networkTarget = bitsToTarget(spec.nbits);
  const job = {
    coinb1,
    coinb2,
    extranonce1: spec.miner.toString(16).padStart(8, "0"),
    extranonce2: spec.seq.toString(16).padStart(8, "0"),
    merkleBranch: spec.merkleBranch ?? ["11".repeat(32)],
    version: "20000000",
    prevhash: spec.prevhash ?? spec.height.toString(16).padStart(64, "0"),
    nbits: spec.nbits,
    ntime: "66000000",
  };
  for (let nonce = 0; ; nonce++) {
    const nonceHex = nonce.toString(16).padStart(8, "0");
    const work = verifyShareWork({ ...job, nonce: nonceHex });
    const block = work.hashValue <= networkTarget;
    if (block === spec.isBlock && (work.hashValue <= shareTarget || (block && shareTarget < networkTarget))) {
      return {
        ...job,
        address: spec.address,
        worker: "rig",
        difficulty: spec.credited ?? spec.committed,
        jobId: spec.jobId ?? `h${spec.height}`,
        height: spec.height,
        nonce: nonceHex,
        hash: hashToDisplayHex(work.hash),
        isBlock: spec.isBlock,
        time: 1_700_000_000_000 + spec.seq,
      };
    }
  }
}
