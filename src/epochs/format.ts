/**
 * The epoch file: one JSON document per on-chain epoch, enough for anyone to rebuild its root and,
 * with the share log, every allocation in it. Written in one canonical layout (fixed key order,
 * one leaf per line) so that the same epoch always has the same bytes, hence the same keccak256
 * data hash, which is what proposeRoot stores on chain.
 */
import fs from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { TREE_OPTIONS } from "../merkle";
import { Keccak256, SHARE_LOG_HASHES, type ShareLogHash } from "./digest";
import type { EpochAsset } from "./units";
import { parseScheme, type PayoutScheme, type PerShareScheme, type SubsidySchedule } from "../schemes/credit";
import { PacedSync } from "./paced-sync";

export const EPOCH_FILE_FORMAT = "pplns-epoch";
export const EPOCH_FILE_VERSION = 1;
export const LEAF_FIELDS = ["account", "cumulative", "delta"] as const;
export const ROUNDING_RULE = "fee = floor(reward * bps / 10000); rest pro rata by window units, floor, leftover units to the largest remainders, ties to the lower address";

/** The PPLNS window of one block, as recomputed by anyone from the share log. */
export interface EpochBlockWindow {
  /** N in difficulty units (10^12 per difficulty 1) = floor(factor × DIFF1 × 10^12 / target(nbits)). */
  units: string;
  /** Units actually credited: N, or less when the history is shorter than N (complete = false). */
  coveredUnits: string;
  complete: boolean;
  firstShareId: number;
  lastShareId: number;
  shareCount: number;
  /** Units credited to the oldest share (the only one that may count in part). */
  firstShareCredit: string;
  /**
   * Share ids inside firstShareId..lastShareId that are not in the window, each with its reason
   * (e.g. an id a PostgreSQL sequence handed out to a transaction that never committed). Absent
   * when the ids are contiguous; an unlisted gap is an audit finding.
   */
  gaps?: EpochWindowGap[];
}

/** A run of share ids (from..to, inclusive) missing from a window, and why. */
export interface EpochWindowGap {
  from: number;
  to: number;
  reason: string;
}

/**
 * A change of the fee or the PPLNS factor, announced ahead: written in every epoch file from the
 * one that announces it until the epoch before `fromEpoch`; from `fromEpoch` on, the file's own
 * `fee.bps` and `pplns.factor` carry the new values. An auditor finds any change that was not
 * announced this way an epoch or more ahead.
 */
export interface EpochParameters {
  fromEpoch: number;
  feeBps: number;
  factor: string;
  /** The payout scheme from `fromEpoch` on, when the announcement changes it (absent: unchanged). */
  scheme?: PayoutScheme;
}

/**
 * A PPS or FPPS epoch (absent: PPLNS). It closes on a schedule, not on found blocks: it credits
 * every accepted share with ids firstShareId..lastShareId (the share log lists each once, `block`
 * 0, `credited` its full committed units), each its expected value (src/schemes/credit.ts,
 * `rounding`); found blocks go to the operator, so the file's `blocks` is empty and `reward` is the
 * sum of the credits. Shares follow on from the previous epoch's (its scheme.lastShareId, or the
 * newest block share of a PPLNS epoch) with no id skipped unless listed in `gaps`.
 */
export interface EpochScheme {
  name: PerShareScheme;
  rounding: string;
  /** The chain's subsidy schedule the credits used (an auditor checks it is the chain's). */
  subsidy: SubsidySchedule;
  /** FPPS: blocks whose fees are averaged (144). Absent for PPS. */
  feeBlocks?: number;
  firstShareId: number;
  lastShareId: number;
  shareCount: number;
  gaps?: EpochWindowGap[];
}

export interface EpochBlock {
  height: number;
  hash: string;
  /** Subsidy + fees paid to the pool, in the asset's smallest unit: coinbase satoshis × asset.unitsPerSatoshi. */
  reward: string;
  finder: string;
  /** The block-finding share (the newest share of the window). */
  shareId: number;
  /** Network target of the block's job, from which N follows. */
  nbits: string;
  window: EpochBlockWindow;
  /** Operator fee taken from this block. */
  fee: string;
}

export interface EpochHeader {
  format: typeof EPOCH_FILE_FORMAT;
  version: typeof EPOCH_FILE_VERSION;
  /** `payoutScript`: the pool's coinbase output script (hex) that every block and share pays. */
  chain: { pow: string; evmChainId: number; payoutScript?: string };
  contract: string;
  /**
   * What every amount of the file is counted in (src/epochs/units.ts). Absent in files written
   * before the field existed: one smallest unit per satoshi.
   */
  asset?: EpochAsset;
  epoch: number;
  /** The epoch this one builds on (its leaves are this epoch's starting ledger), or null for the first. */
  previous: { epoch: number; root: Hex; dataHash: Hex } | null;
  pplns: { factor: string; unitsPerDifficulty: string; rounding: string };
  fee: { bps: number; address: string | null };
  /** An announced change of fee, factor or scheme (absent when none is pending). */
  parameters?: EpochParameters;
  /** PPS/FPPS: the scheduled epoch's shares and rules (absent: a PPLNS epoch). */
  scheme?: EpochScheme;
  blocks: EpochBlock[];
  /** `hash`: the share log's digest, "sha256" since share-log digests moved off keccak256 (older files say "keccak256"). */
  shareLog: { file: string; hash: ShareLogHash; digest: Hex; lines: number };
  /** Sum of the blocks' rewards: what the ledger grew by in this epoch. */
  reward: string;
  totalCumulative: string;
  root: Hex;
  tree: typeof TREE_OPTIONS;
  leafFields: typeof LEAF_FIELDS;
}

/** Leaves in tree order (account ascending), as parallel arrays (a million objects would be slow). */
export interface EpochLeaves {
  accounts: string[];
  cumulative: bigint[];
  delta: bigint[];
}

export interface EpochFile extends EpochHeader {
  leaves: EpochLeaves;
}

export class EpochFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EpochFormatError";
  }
}

/** The file's text, in chunks: the header as indented JSON, then one `[account, cumulative, delta]` per line. */
export function* epochFileChunks(header: EpochHeader, leaves: EpochLeaves): Generator<string> {
  const n = leaves.accounts.length;
  if (leaves.cumulative.length !== n || leaves.delta.length !== n) throw new EpochFormatError("leaf columns differ in length");
  const head = JSON.stringify(header, null, 2);
  yield head.slice(0, head.length - 2) + ',\n  "leaves": [';
  const CHUNK = 20_000;
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    let text = "";
    for (let i = start; i < end; i++) {
      text += `${i === 0 ? "\n" : ",\n"}    ["${leaves.accounts[i]}","${decimal(leaves.cumulative[i])}","${decimal(leaves.delta[i])}"]`;
    }
    yield text;
  }
  yield "\n  ]\n}\n";
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Decimal text of an amount (via a number when exact: several times faster than bigint's). */
function decimal(v: bigint): string {
  return v <= SAFE && v >= 0n ? String(Number(v)) : v.toString();
}

export function serializeEpochFile(file: EpochFile): Buffer {
  const { leaves, ...header } = file;
  return Buffer.from([...epochFileChunks(header, leaves)].join(""), "utf8");
}

/**
 * Writes the file atomically (temporary file, fsync, rename) and returns keccak256 of its bytes
 * and its size. A crash leaves either no file or the complete one.
 */
export function writeEpochFile(file: string, header: EpochHeader, leaves: EpochLeaves): { dataHash: Hex; bytes: number } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  const k = new Keccak256();
  const paced = new PacedSync(fd);
  let bytes = 0;
  try {
    for (const chunk of epochFileChunks(header, leaves)) {
      const buf = Buffer.from(chunk, "utf8");
      k.update(buf);
      fs.writeSync(fd, buf);
      paced.wrote(buf.length);
      bytes += buf.length;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return { dataHash: k.hex(), bytes };
}

// ---- reading ------------------------------------------------------------------------------------

const HEX32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-f]{40}$/;
const UINT = /^(0|[1-9]\d{0,77})$/;

function need(cond: boolean, what: string): asserts cond {
  if (!cond) throw new EpochFormatError(`epoch file: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function uintString(v: unknown, what: string): string {
  need(typeof v === "string" && UINT.test(v), `${what} must be a decimal integer string`);
  return v as string;
}

function safeInt(v: unknown, what: string, min = 0): number {
  need(Number.isSafeInteger(v) && (v as number) >= min, `${what} must be an integer ≥ ${min}`);
  return v as number;
}

/** Every key each object of the format may have (an unknown one is reported, never silently read). */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": ["format", "version", "chain", "contract", "asset", "epoch", "previous", "pplns", "fee", "parameters", "scheme", "blocks", "shareLog", "reward", "totalCumulative", "root", "tree", "leafFields", "leaves"],
  chain: ["pow", "evmChainId", "payoutScript"],
  asset: ["symbol", "decimals", "unitsPerSatoshi"],
  previous: ["epoch", "root", "dataHash"],
  pplns: ["factor", "unitsPerDifficulty", "rounding"],
  fee: ["bps", "address"],
  parameters: ["fromEpoch", "feeBps", "factor", "scheme"],
  scheme: ["name", "rounding", "subsidy", "feeBlocks", "firstShareId", "lastShareId", "shareCount", "gaps"],
  subsidy: ["initial", "halvingInterval"],
  block: ["height", "hash", "reward", "finder", "shareId", "nbits", "window", "fee"],
  window: ["units", "coveredUnits", "complete", "firstShareId", "lastShareId", "shareCount", "firstShareCredit", "gaps"],
  gap: ["from", "to", "reason"],
  shareLog: ["file", "hash", "digest", "lines"],
};

function unknownKeys(v: unknown, kind: string, where: string, out: ((field: string) => void) | undefined): void {
  if (!out || !isObject(v)) return;
  const known = KNOWN_KEYS[kind];
  for (const k of Object.keys(v)) if (!known.includes(k)) out(where === "" ? k : `${where}.${k}`);
}

/**
 * Parses and checks the structure of an epoch file (not its arithmetic: see verify.ts).
 * `onUnknownField` is called with the path of every key the format does not define (an auditor
 * reports them: a field it does not read could carry what it should have checked).
 */
export function parseEpochFile(bytes: Buffer | string, onUnknownField?: (field: string) => void): EpochFile {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === "string" ? bytes : bytes.toString("utf8"));
  } catch (err) {
    throw new EpochFormatError(`epoch file is not valid JSON: ${(err as Error).message}`);
  }
  need(isObject(doc), "top level must be an object");
  unknownKeys(doc, "", "", onUnknownField);
  for (const k of ["chain", "asset", "previous", "pplns", "fee", "parameters", "scheme", "shareLog"]) unknownKeys(doc[k], k, k, onUnknownField);
  if (isObject(doc.scheme)) {
    unknownKeys(doc.scheme.subsidy, "subsidy", "scheme.subsidy", onUnknownField);
    if (Array.isArray(doc.scheme.gaps)) doc.scheme.gaps.forEach((g: unknown, j: number) => unknownKeys(g, "gap", `scheme.gaps[${j}]`, onUnknownField));
  }
  if (Array.isArray(doc.blocks)) {
    doc.blocks.forEach((b: unknown, i: number) => {
      unknownKeys(b, "block", `blocks[${i}]`, onUnknownField);
      if (isObject(b)) {
        unknownKeys(b.window, "window", `blocks[${i}].window`, onUnknownField);
        if (isObject(b.window) && Array.isArray(b.window.gaps)) b.window.gaps.forEach((g: unknown, j: number) => unknownKeys(g, "gap", `blocks[${i}].window.gaps[${j}]`, onUnknownField));
      }
    });
  }
  need(doc.format === EPOCH_FILE_FORMAT, `format must be "${EPOCH_FILE_FORMAT}"`);
  need(doc.version === EPOCH_FILE_VERSION, `unsupported version ${String(doc.version)} (this reader knows ${EPOCH_FILE_VERSION})`);
  need(isObject(doc.chain) && typeof doc.chain.pow === "string" && Number.isSafeInteger(doc.chain.evmChainId), "chain must be { pow, evmChainId }");
  need(typeof doc.contract === "string" && /^0x[0-9a-fA-F]{40}$/.test(doc.contract), "contract must be an address");
  let asset: EpochAsset | undefined;
  if (doc.asset !== undefined) {
    const a = doc.asset;
    need(isObject(a) && typeof a.symbol === "string" && Number.isSafeInteger(a.decimals) && (a.decimals as number) >= 0 && (a.decimals as number) <= 77, "asset must be { symbol, decimals (0..77), unitsPerSatoshi }");
    need(uintString(a.unitsPerSatoshi, "asset.unitsPerSatoshi") !== "0", "asset.unitsPerSatoshi must be at least 1");
    asset = { symbol: a.symbol as string, decimals: a.decimals as number, unitsPerSatoshi: a.unitsPerSatoshi as string };
  }
  const epoch = safeInt(doc.epoch, "epoch", 1);
  let previous: EpochHeader["previous"] = null;
  if (doc.previous !== null) {
    need(isObject(doc.previous), "previous must be null or an object");
    const p = doc.previous;
    need(HEX32.test(String(p.root)) && HEX32.test(String(p.dataHash)), "previous.root and previous.dataHash must be 32-byte hex");
    previous = { epoch: safeInt(p.epoch, "previous.epoch", 1), root: p.root as Hex, dataHash: p.dataHash as Hex };
  }
  need(isObject(doc.pplns) && typeof doc.pplns.factor === "string" && typeof doc.pplns.unitsPerDifficulty === "string", "pplns must be { factor, unitsPerDifficulty, rounding }");
  need(isObject(doc.fee) && Number.isInteger(doc.fee.bps) && (doc.fee.address === null || ADDRESS.test(String(doc.fee.address))), "fee must be { bps, address }");
  need(doc.chain.payoutScript === undefined || (typeof doc.chain.payoutScript === "string" && /^([0-9a-f]{2})+$/.test(doc.chain.payoutScript)), "chain.payoutScript must be lower-case hex");
  let parameters: EpochParameters | undefined;
  if (doc.parameters !== undefined) {
    const p = doc.parameters;
    need(isObject(p) && typeof p.factor === "string" && Number.isInteger(p.feeBps) && (p.feeBps as number) >= 0 && (p.feeBps as number) <= 10_000, "parameters must be { fromEpoch, feeBps (0..10000), factor }");
    need(p.scheme === undefined || parseScheme(p.scheme) !== undefined, "parameters.scheme must be pplns, pps or fpps");
    parameters = { fromEpoch: safeInt(p.fromEpoch, "parameters.fromEpoch", 1), feeBps: p.feeBps as number, factor: p.factor as string, ...(p.scheme !== undefined ? { scheme: p.scheme as PayoutScheme } : {}) };
  }
  const scheme = doc.scheme === undefined ? undefined : parseSchemeSection(doc.scheme);
  if (scheme) need(Array.isArray(doc.blocks) && doc.blocks.length === 0, "blocks must be empty in a PPS/FPPS epoch (found blocks go to the operator)");
  else need(Array.isArray(doc.blocks) && doc.blocks.length > 0, "blocks must be a non-empty array");
  const blocks = (doc.blocks as unknown[]).map((b, i) => parseBlock(b, i));
  need(isObject(doc.shareLog) && typeof doc.shareLog.file === "string" && HEX32.test(String(doc.shareLog.digest)), "shareLog must be { file, hash, digest, lines }");
  need((SHARE_LOG_HASHES as readonly unknown[]).includes(doc.shareLog.hash), `shareLog.hash must be one of ${SHARE_LOG_HASHES.join(", ")}`);
  safeInt(doc.shareLog.lines, "shareLog.lines");
  uintString(doc.reward, "reward");
  uintString(doc.totalCumulative, "totalCumulative");
  need(HEX32.test(String(doc.root)), "root must be 32-byte hex");
  need(isObject(doc.tree) && doc.tree.sortPairs === true && doc.tree.hash === "keccak256", "tree options must be keccak256 with sorted pairs");
  need(Array.isArray(doc.leafFields) && doc.leafFields.join() === LEAF_FIELDS.join(), `leafFields must be ${JSON.stringify(LEAF_FIELDS)}`);
  need(Array.isArray(doc.leaves), "leaves must be an array");
  const raw = doc.leaves as unknown[];
  const leaves: EpochLeaves = { accounts: new Array(raw.length), cumulative: new Array(raw.length), delta: new Array(raw.length) };
  for (let i = 0; i < raw.length; i++) {
    const l = raw[i];
    need(Array.isArray(l) && l.length === 3, `leaf ${i} must be [account, cumulative, delta]`);
    const [account, cumulative, delta] = l as unknown[];
    need(typeof account === "string" && ADDRESS.test(account), `leaf ${i}: account must be lower-case 0x hex`);
    leaves.accounts[i] = account as string;
    leaves.cumulative[i] = BigInt(uintString(cumulative, `leaf ${i} cumulative`));
    leaves.delta[i] = BigInt(uintString(delta, `leaf ${i} delta`));
  }
  return {
    format: EPOCH_FILE_FORMAT,
    version: EPOCH_FILE_VERSION,
    chain: {
      pow: doc.chain.pow as string,
      evmChainId: doc.chain.evmChainId as number,
      ...(doc.chain.payoutScript !== undefined ? { payoutScript: doc.chain.payoutScript as string } : {}),
    },
    contract: doc.contract as string,
    ...(asset ? { asset } : {}),
    epoch,
    previous,
    pplns: { factor: doc.pplns.factor as string, unitsPerDifficulty: doc.pplns.unitsPerDifficulty as string, rounding: String(doc.pplns.rounding) },
    fee: { bps: doc.fee.bps as number, address: (doc.fee.address as string | null) ?? null },
    ...(parameters ? { parameters } : {}),
    ...(scheme ? { scheme } : {}),
    blocks,
    shareLog: { file: doc.shareLog.file as string, hash: doc.shareLog.hash as ShareLogHash, digest: doc.shareLog.digest as Hex, lines: doc.shareLog.lines as number },
    reward: doc.reward as string,
    totalCumulative: doc.totalCumulative as string,
    root: doc.root as Hex,
    tree: doc.tree as unknown as typeof TREE_OPTIONS,
    leafFields: LEAF_FIELDS,
    leaves,
  };
}

function parseBlock(b: unknown, i: number): EpochBlock {
  need(isObject(b), `blocks[${i}] must be an object`);
  need(typeof b.hash === "string" && /^[0-9a-f]{64}$/.test(b.hash), `blocks[${i}].hash must be 64 lower-case hex digits`);
  need(typeof b.nbits === "string" && /^[0-9a-fA-F]{8}$/.test(b.nbits), `blocks[${i}].nbits must be 8 hex digits`);
  need(typeof b.finder === "string", `blocks[${i}].finder must be a string`);
  need(isObject(b.window), `blocks[${i}].window must be an object`);
  const w = b.window;
  return {
    height: safeInt(b.height, `blocks[${i}].height`),
    hash: b.hash as string,
    reward: uintString(b.reward, `blocks[${i}].reward`),
    finder: b.finder as string,
    shareId: safeInt(b.shareId, `blocks[${i}].shareId`, 1),
    nbits: b.nbits as string,
    window: {
      units: uintString(w.units, `blocks[${i}].window.units`),
      coveredUnits: uintString(w.coveredUnits, `blocks[${i}].window.coveredUnits`),
      complete: w.complete === true,
      firstShareId: safeInt(w.firstShareId, `blocks[${i}].window.firstShareId`, 1),
      lastShareId: safeInt(w.lastShareId, `blocks[${i}].window.lastShareId`, 1),
      shareCount: safeInt(w.shareCount, `blocks[${i}].window.shareCount`, 1),
      firstShareCredit: uintString(w.firstShareCredit, `blocks[${i}].window.firstShareCredit`),
      ...(w.gaps !== undefined ? { gaps: parseGaps(w.gaps, i) } : {}),
    },
    fee: uintString(b.fee, `blocks[${i}].fee`),
  };
}

function parseSchemeSection(v: unknown): EpochScheme {
  need(isObject(v), "scheme must be an object");
  need(v.name === "pps" || v.name === "fpps", `scheme.name must be "pps" or "fpps" (a PPLNS epoch has no scheme section), got ${JSON.stringify(v.name)}`);
  need(typeof v.rounding === "string", "scheme.rounding must be a string");
  const sub = v.subsidy;
  need(isObject(sub), "scheme.subsidy must be { initial, halvingInterval }");
  const initial = uintString(sub.initial, "scheme.subsidy.initial");
  const halvingInterval = safeInt(sub.halvingInterval, "scheme.subsidy.halvingInterval", 1);
  if (v.name === "fpps") need(Number.isSafeInteger(v.feeBlocks) && (v.feeBlocks as number) >= 1, "scheme.feeBlocks must be a positive integer in an FPPS epoch");
  else need(v.feeBlocks === undefined, "scheme.feeBlocks is for FPPS epochs only");
  const firstShareId = safeInt(v.firstShareId, "scheme.firstShareId", 1);
  const lastShareId = safeInt(v.lastShareId, "scheme.lastShareId", firstShareId);
  const shareCount = safeInt(v.shareCount, "scheme.shareCount", 1);
  return {
    name: v.name as PerShareScheme,
    rounding: v.rounding as string,
    subsidy: { initial, halvingInterval },
    ...(v.feeBlocks !== undefined ? { feeBlocks: v.feeBlocks as number } : {}),
    firstShareId,
    lastShareId,
    shareCount,
    ...(v.gaps !== undefined ? { gaps: parseGapList(v.gaps, "scheme.gaps") } : {}),
  };
}

function parseGaps(v: unknown, i: number): EpochWindowGap[] {
  return parseGapList(v, `blocks[${i}].window.gaps`);
}

function parseGapList(v: unknown, at: string): EpochWindowGap[] {
  need(Array.isArray(v), `${at} must be an array`);
  return (v as unknown[]).map((g, j) => {
    const where = `${at}[${j}]`;
    need(isObject(g) && typeof g.reason === "string" && g.reason.length > 0, `${where} must be { from, to, reason }`);
    const from = safeInt(g.from, `${where}.from`, 1);
    const to = safeInt(g.to, `${where}.to`, from);
    return { from, to, reason: g.reason as string };
  });
}

/** File names inside the data directory's epochs/ folder. */
export function epochFileName(epoch: number): string {
  return `epoch-${String(epoch).padStart(6, "0")}.json`;
}

export function shareLogFileName(epoch: number): string {
  return `epoch-${String(epoch).padStart(6, "0")}.shares.jsonl`;
}
