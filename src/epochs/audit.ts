/**
 * The auditor's whole check of one epoch from its published files: data hash, share-log digest,
 * tree and root, continuity with the previous epoch, every allocation recomputed from the share
 * log, and (optionally) the proof of work of every share and that its coinbase pays the address
 * it is credited to (work-bound attribution: moving a share to another address would need the
 * work redone). Comparing root, totalCumulative and dataHash with the contract is the caller's
 * part (it needs an RPC): the report carries the three values.
 */
import fs from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { bitsToTarget, coinbasePayoutAddress, difficultyToTarget, hashToDisplayHex, verifyShareWork } from "../pow";
import { keccak256File, keccak256Hex } from "./digest";
import { parseEpochFile, type EpochFile } from "./format";
import { openShareLog, type ShareLogEntry } from "./sharelog";
import { AllocationRecomputer, compareAllocations, verifyContinuity, verifyTree } from "./verify";

export interface AuditOptions {
  /** Path of the epoch file. */
  epochFile: string;
  /** Path of its share log; default: the file named in the epoch file, next to it. */
  shareLog?: string;
  /** Path of the previous epoch's file (required unless this is epoch 1). */
  previousEpochFile?: string;
  /** Re-verify every share's proof of work and coinbase address (default true). */
  checkWork?: boolean;
  /** Called every `progressEvery` share lines. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface AuditReport {
  ok: boolean;
  epoch: number;
  root: Hex;
  totalCumulative: bigint;
  dataHash: Hex;
  shares: number;
  leaves: number;
  findings: string[];
}

/** Checks one share's proof of work and attribution; undefined when it holds. */
export function checkShareWork(e: ShareLogEntry): string | undefined {
  let work;
  try {
    work = verifyShareWork(e);
  } catch (err) {
    return `share ${e.id}: cannot rebuild its header: ${(err as Error).message}`;
  }
  const hash = hashToDisplayHex(work.hash);
  if (hash !== e.hash.toLowerCase()) return `share ${e.id}: header hashes to ${hash}, the log says ${e.hash}`;
  let target: bigint;
  try {
    target = difficultyToTarget(e.difficulty);
  } catch (err) {
    return `share ${e.id}: ${(err as Error).message}`;
  }
  const network = bitsToTarget(e.nbits);
  // A block is valid work even above the share target (the network target may be the easier one).
  if (work.hashValue > target && !(e.isBlock && work.hashValue <= network)) return `share ${e.id}: hash ${hash} does not meet difficulty ${e.difficulty}`;
  if (e.isBlock && work.hashValue > network) return `share ${e.id}: marked as a block but does not meet the network target ${e.nbits}`;
  const paid = coinbasePayoutAddress(e.coinb1);
  if (paid === undefined) return `share ${e.id}: its coinbase commits to no payout address`;
  if (paid !== e.address.toLowerCase()) return `share ${e.id}: credited to ${e.address} but its coinbase pays ${paid}`;
  return undefined;
}

export async function auditEpoch(options: AuditOptions): Promise<AuditReport> {
  const findings: string[] = [];
  const bytes = fs.readFileSync(options.epochFile);
  const dataHash = keccak256Hex(bytes);
  const file: EpochFile = parseEpochFile(bytes);

  const tree = verifyTree(file);
  findings.push(...tree.findings.map((f) => `tree: ${f}`));

  let previous: { file: EpochFile; dataHash: string } | null = null;
  if (options.previousEpochFile) {
    const prevBytes = fs.readFileSync(options.previousEpochFile);
    previous = { file: parseEpochFile(prevBytes), dataHash: keccak256Hex(prevBytes) };
  } else if (file.previous !== null) {
    findings.push(`continuity: epoch ${file.epoch} builds on epoch ${file.previous.epoch}; pass its file to check that no amount decreased`);
  }
  if (previous || file.previous === null) findings.push(...verifyContinuity(file, previous).map((f) => `continuity: ${f}`));

  const logPath = options.shareLog ?? path.join(path.dirname(options.epochFile), file.shareLog.file);
  const digest = await keccak256File(logPath);
  if (digest !== file.shareLog.digest.toLowerCase()) findings.push(`share log: keccak256 ${digest} differs from the digest in the epoch file ${file.shareLog.digest}`);

  const { header, entries } = await openShareLog(logPath);
  if (header.epoch !== file.epoch || header.blocks !== file.blocks.length) findings.push(`share log: header says epoch ${header.epoch} with ${header.blocks} blocks`);
  const recompute = new AllocationRecomputer(file);
  const checkWork = options.checkWork ?? true;
  const every = options.progressEvery ?? 10_000;
  let workFindings = 0;
  let done = 0;
  for await (const e of entries) {
    recompute.add(e);
    if (checkWork) {
      const bad = checkShareWork(e);
      if (bad && ++workFindings <= 20) findings.push(`work: ${bad}`);
    }
    if (++done % every === 0) options.onProgress?.(done, file.shareLog.lines);
  }
  options.onProgress?.(done, file.shareLog.lines);
  if (workFindings > 20) findings.push(`work: ${workFindings} shares failed in all`);
  const allocations = recompute.finish();
  findings.push(...recompute.findings.map((f) => `pplns: ${f}`));
  findings.push(...compareAllocations(file, allocations).map((f) => `allocation: ${f}`));

  return {
    ok: findings.length === 0,
    epoch: file.epoch,
    root: file.root,
    totalCumulative: BigInt(file.totalCumulative),
    dataHash,
    shares: done,
    leaves: file.leaves.accounts.length,
    findings,
  };
}
