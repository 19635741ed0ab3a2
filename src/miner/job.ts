import { bitsToTarget, difficultyToTarget, prevhashFromNotify } from "../pow";

/** A mining.notify job as the miner keeps it, with the share target in force when it arrived. */
export interface MinerJob {
  id: string;
  prevhash: string;
  prevhashInternal: Buffer;
  coinb1: Buffer;
  coinb2: Buffer;
  branch: Buffer[];
  version: number;
  nbits: number;
  nbitsHex: string;
  ntime: number;
  clean: boolean;
  difficulty: string;
  shareTarget: bigint;
  networkTarget: bigint;
  receivedAt: number;
}

const HEX8 = /^[0-9a-fA-F]{8}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Parses mining.notify params; throws with the reason when malformed (a stock miner would ignore it). */
export function parseNotify(params: unknown[], difficulty: string, now = Date.now()): MinerJob {
  const [id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
  if (typeof id !== "string" || id.length === 0) throw new Error("notify: job_id must be a non-empty string");
  if (typeof prevhash !== "string" || !HEX64.test(prevhash)) throw new Error("notify: prevhash must be 64 hex characters");
  if (typeof coinb1 !== "string" || !HEX.test(coinb1)) throw new Error("notify: coinb1 must be hex");
  if (typeof coinb2 !== "string" || !HEX.test(coinb2)) throw new Error("notify: coinb2 must be hex");
  if (!Array.isArray(branch) || !branch.every((b) => typeof b === "string" && HEX64.test(b))) {
    throw new Error("notify: merkle branch entries must be 64 hex characters");
  }
  for (const [name, v] of [["version", version], ["nbits", nbits], ["ntime", ntime]] as const) {
    if (typeof v !== "string" || !HEX8.test(v)) throw new Error(`notify: ${name} must be 8 hex characters`);
  }
  return {
    id,
    prevhash,
    prevhashInternal: prevhashFromNotify(prevhash),
    coinb1: Buffer.from(coinb1, "hex"),
    coinb2: Buffer.from(coinb2, "hex"),
    branch: (branch as string[]).map((b) => Buffer.from(b, "hex")),
    version: parseInt(version as string, 16) >>> 0,
    nbits: parseInt(nbits as string, 16) >>> 0,
    nbitsHex: (nbits as string).toLowerCase(),
    ntime: parseInt(ntime as string, 16) >>> 0,
    clean: clean === true,
    difficulty,
    shareTarget: difficultyToTarget(difficulty),
    networkTarget: bitsToTarget(nbits as string),
    receivedAt: now,
  };
}
