/**
 * The satoshi → asset rule of an epoch file (docs/accounting.md, "Units"): a block's reward in the
 * file is its coinbase value in satoshis × `asset.unitsPerSatoshi`, in the asset's smallest unit,
 * and everything after it (fee, PPLNS split, ledger, tree, funding) is in that unit. A file
 * without `asset` (written before the field existed) pays one smallest unit per satoshi.
 */
import type { EpochFile, EpochHeader } from "./format";

/** Satoshis per bitcoin: a satoshi is 10^-8 of a coin. */
export const SATOSHI_DECIMALS = 8;

/** What the epoch's amounts are counted in: the PayoutPool's asset and the satoshi mapping. */
export interface EpochAsset {
  /** The token's symbol() (or the native coin's), for people: never used in arithmetic. */
  symbol: string;
  /** The token's decimals() (18 for the native coin). */
  decimals: number;
  /** Smallest units of the asset per satoshi of block reward: 10^(decimals − 8), as a decimal string. */
  unitsPerSatoshi: string;
}

/** 10^(decimals − 8): the only mapping that pays a satoshi as a satoshi's worth; undefined below 8 decimals. */
export function exactUnitsPerSatoshi(decimals: number): bigint | undefined {
  return Number.isInteger(decimals) && decimals >= SATOSHI_DECIMALS ? 10n ** BigInt(decimals - SATOSHI_DECIMALS) : undefined;
}

/** The file's units per satoshi (1 when it states no asset). */
export function unitsPerSatoshiOf(file: Pick<EpochHeader, "asset">): bigint {
  return file.asset ? BigInt(file.asset.unitsPerSatoshi) : 1n;
}

/** A block reward in the asset's smallest unit, from its coinbase value in satoshis. */
export function rewardInUnits(satoshis: bigint, unitsPerSatoshi: bigint): bigint {
  return satoshis * unitsPerSatoshi;
}

/**
 * Why an asset's mapping cannot be honoured, or undefined: decimals ≥ 8 and unitsPerSatoshi is
 * 10^(decimals − 8), or 1 (one smallest unit per satoshi: what a pool started without
 * evm.unitsPerSatoshi pays, stated as such in its files). Names `asset.unitsPerSatoshi`.
 */
export function assetProblem(a: EpochAsset): string | undefined {
  const exact = exactUnitsPerSatoshi(a.decimals);
  if (exact === undefined) return `asset.decimals is ${a.decimals}: fewer than a satoshi's 8, so satoshi amounts cannot be paid exactly`;
  if (!/^[1-9]\d*$/.test(a.unitsPerSatoshi)) return `asset.unitsPerSatoshi must be a positive integer, got ${JSON.stringify(a.unitsPerSatoshi)}`;
  const ups = BigInt(a.unitsPerSatoshi);
  if (ups !== exact && ups !== 1n) return `asset.unitsPerSatoshi is ${ups}, but ${a.symbol} has ${a.decimals} decimals: one satoshi is ${exact} of its smallest units`;
  return undefined;
}

/**
 * The file's asset is consistent (assetProblem) and each block's reward is a whole number of
 * satoshis' worth. Whether a reward equals its coinbase value × unitsPerSatoshi needs the chain:
 * src/audit/chaincheck.ts checks it. Findings name `asset.unitsPerSatoshi`.
 */
export function verifyAsset(file: EpochFile): string[] {
  const a = file.asset;
  if (!a) return [];
  const problem = assetProblem(a);
  if (problem) return [problem];
  const ups = BigInt(a.unitsPerSatoshi);
  const findings: string[] = [];
  file.blocks.forEach((b, i) => {
    if (BigInt(b.reward) % ups !== 0n) findings.push(`block ${i} (${b.hash}): reward ${b.reward} is not a whole number of satoshis at asset.unitsPerSatoshi ${ups}`);
  });
  return findings;
}
