/**
 * Fills a real share store with a large cold epoch: `accounts` shares of difficulty 1, each from
 * its own payout address, the last one a block, confirmed at depth 1 — so that the next epoch
 * credits every one of the `accounts` addresses (the PPLNS window, N = 2 × the block's network
 * difficulty, is larger than the whole history). Used by test/epochs.worker.test.ts and by the
 * "while a 1 000 000-account epoch builds" row of bench/stratum.ts.
 *
 * The shares are well-formed store rows (one job, no merkle branch, a short coinbase) but are not
 * mined: the builder never re-checks proof of work (the auditor does, and is not run on these).
 */
import { difficultyToTarget, targetToBits } from "../src/pow";
import type { ShareStore } from "../src/shares";
import type { AcceptedShare } from "../src/stratum/events";

/** Network difficulty of the block's job: its window (2 × this, in difficulty 1 shares) exceeds the history. */
function networkBits(accounts: number): string {
  return targetToBits(difficultyToTarget(String(Math.max(1, accounts))));
}

/** The i-th distinct payout address (lower-case; spread over the whole key space by a multiplicative hash). */
export function fillAddress(i: number): string {
  const a = (Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, "0");
  const b = (Math.imul(i + 7, 0x85ebca6b) >>> 0).toString(16).padStart(8, "0");
  return `0x${a}${b}${(i >>> 0).toString(16).padStart(24, "0")}`;
}

/**
 * Records the shares and the block; resolves with the block's hash once it is confirmed.
 * Throughput is the store's group commit (tens of thousands of shares/s).
 */
export async function fillColdEpoch(store: ShareStore, accounts: number, opts: { reward?: bigint; height?: number } = {}): Promise<string> {
  if (!Number.isSafeInteger(accounts) || accounts < 1) throw new RangeError("accounts must be a positive integer");
  const height = opts.height ?? 900_000;
  const nbits = networkBits(accounts);
  const job = {
    jobId: "fill",
    height,
    prevhash: "11".repeat(32),
    coinb1: "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0a03",
    coinb2: "ffffffff0100f2052a010000001600" + "ab".repeat(20) + "00000000",
    merkleBranch: [] as string[],
    nbits,
  };
  const share = (i: number, isBlock: boolean): AcceptedShare => ({
    address: fillAddress(i),
    worker: "w",
    difficulty: "1",
    ...job,
    extranonce1: "00000001",
    extranonce2: (i >>> 0).toString(16).padStart(8, "0"),
    version: "20000000",
    ntime: "66000000",
    nonce: (i >>> 0).toString(16).padStart(8, "0"),
    hash: (isBlock ? "00000000" : "ff") + (i >>> 0).toString(16).padStart(isBlock ? 56 : 62, "0"),
    isBlock,
    time: 1_700_000_000_000 + i,
  });
  const IN_FLIGHT = 10_000;
  for (let start = 0; start < accounts - 1; start += IN_FLIGHT) {
    const end = Math.min(accounts - 1, start + IN_FLIGHT);
    const pending: Promise<number>[] = [];
    for (let i = start; i < end; i++) pending.push(store.recordShare(share(i, false)));
    await Promise.all(pending);
  }
  const last = share(accounts - 1, true);
  await store.recordBlock({ height, hash: last.hash, reward: (opts.reward ?? 312_500_000n).toString(), address: last.address, worker: last.worker, submitted: true, time: last.time }, last);
  await store.updateBlock(last.hash, { status: "confirmed", confirmations: 1 });
  return last.hash;
}
