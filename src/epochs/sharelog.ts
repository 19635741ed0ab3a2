/**
 * The share log of an epoch (JSON lines): a header line, then for each block of the epoch, in the
 * epoch file's order, every share of its PPLNS window oldest first, each with the block it counts
 * for, its store id, the units credited to it and every field needed to re-verify its proof of
 * work. A share inside two blocks' windows appears once per block.
 */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import type { Hex } from "viem";
import type { AcceptedShare } from "../stratum/events";
import { createDigest, SHARE_LOG_HASH } from "./digest";
import { PacedSync } from "./paced-sync";

export const SHARE_LOG_FORMAT = "pplns-share-log";
export const SHARE_LOG_VERSION = 1;

export interface ShareLogHeader {
  format: typeof SHARE_LOG_FORMAT;
  version: typeof SHARE_LOG_VERSION;
  epoch: number;
  blocks: number;
}

export interface ShareLogEntry extends AcceptedShare {
  /** Index of the block (in the epoch file's `blocks`) whose window this line belongs to. */
  block: number;
  id: number;
  /** Difficulty units credited (all of the share's, or the part inside the window for the oldest). */
  credited: bigint;
}

/** One line, keys in a fixed order (the log's bytes, hence its digest, are deterministic). */
export function shareLogLine(e: ShareLogEntry): string {
  return (
    JSON.stringify({
      block: e.block,
      id: e.id,
      credited: e.credited.toString(),
      address: e.address,
      worker: e.worker,
      difficulty: e.difficulty,
      jobId: e.jobId,
      height: e.height,
      prevhash: e.prevhash,
      coinb1: e.coinb1,
      coinb2: e.coinb2,
      extranonce1: e.extranonce1,
      extranonce2: e.extranonce2,
      merkleBranch: e.merkleBranch,
      version: e.version,
      nbits: e.nbits,
      ntime: e.ntime,
      nonce: e.nonce,
      hash: e.hash,
      isBlock: e.isBlock,
      time: e.time,
    }) + "\n"
  );
}

/** Streams a share log to disk atomically, hashing as it goes. */
export class ShareLogWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private readonly hash = createDigest(SHARE_LOG_HASH);
  private buffer = "";
  private lines = 0;
  private bytes = 0;
  private readonly paced: PacedSync;
  private done = false;

  constructor(
    readonly file: string,
    header: Omit<ShareLogHeader, "format" | "version">,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = `${file}.tmp-${process.pid}`;
    this.fd = fs.openSync(this.tmp, "w");
    this.paced = new PacedSync(this.fd);
    this.buffer = JSON.stringify({ format: SHARE_LOG_FORMAT, version: SHARE_LOG_VERSION, epoch: header.epoch, blocks: header.blocks }) + "\n";
  }

  write(entry: ShareLogEntry): void {
    this.buffer += shareLogLine(entry);
    this.lines++;
    if (this.buffer.length >= 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buffer === "") return;
    const buf = Buffer.from(this.buffer, "utf8");
    this.hash.update(buf);
    fs.writeSync(this.fd, buf);
    this.bytes += buf.length;
    this.buffer = "";
    this.paced.wrote(buf.length);
  }

  /** fsyncs, renames into place and returns the digest and the number of share lines. */
  finish(): { digest: Hex; lines: number; bytes: number } {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
    this.done = true;
    return { digest: this.hash.hex(), lines: this.lines, bytes: this.bytes };
  }

  /** Discards a partly written log. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

export class ShareLogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShareLogFormatError";
  }
}

const UINT = /^(0|[1-9]\d{0,77})$/;

/** The keys of a share-log line, in the order shareLogLine writes them. */
export const SHARE_LOG_FIELDS = ["block", "id", "credited", "address", "worker", "difficulty", "jobId", "height", "prevhash", "coinb1", "coinb2", "extranonce1", "extranonce2", "merkleBranch", "version", "nbits", "ntime", "nonce", "hash", "isBlock", "time"] as const;
const KNOWN_FIELDS = new Set<string>(SHARE_LOG_FIELDS);
const STRING_FIELDS = ["address", "worker", "difficulty", "jobId", "prevhash", "coinb1", "coinb2", "extranonce1", "extranonce2", "version", "nbits", "ntime", "nonce", "hash"] as const;

/**
 * Parses one share-log line (`lineNo` for messages); throws ShareLogFormatError naming the field.
 * `onUnknownField` is called with every key the format does not define.
 */
export function parseShareLogEntry(line: string, lineNo: number, onUnknownField?: (field: string) => void): ShareLogEntry {
  return parseEntry(line, lineNo, onUnknownField);
}

function parseEntry(line: string, lineNo: number, onUnknownField?: (field: string) => void): ShareLogEntry {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new ShareLogFormatError(`share log line ${lineNo}: not JSON (${(err as Error).message})`);
  }
  const bad = (what: string): never => {
    throw new ShareLogFormatError(`share log line ${lineNo}: ${what}`);
  };
  if (v === null || typeof v !== "object" || Array.isArray(v)) bad("must be an object");
  if (onUnknownField && !hasWriterKeys(v)) for (const k of Object.keys(v)) if (!KNOWN_FIELDS.has(k)) onUnknownField(k);
  if (!Number.isSafeInteger(v.block) || (v.block as number) < 0) bad("block must be an index");
  if (!Number.isSafeInteger(v.id) || (v.id as number) < 1) bad("id must be a positive integer");
  if (typeof v.credited !== "string" || !UINT.test(v.credited)) bad("credited must be a decimal integer string");
  for (let i = 0; i < STRING_FIELDS.length; i++) {
    if (typeof v[STRING_FIELDS[i]] !== "string") bad(`${STRING_FIELDS[i]} must be a string`);
  }
  if (!Number.isSafeInteger(v.height)) bad("height must be an integer");
  const branch = v.merkleBranch;
  if (!Array.isArray(branch)) bad("merkleBranch must be an array of strings");
  for (let i = 0; i < (branch as unknown[]).length; i++) if (typeof (branch as unknown[])[i] !== "string") bad("merkleBranch must be an array of strings");
  if (typeof v.isBlock !== "boolean") bad("isBlock must be a boolean");
  if (!Number.isSafeInteger(v.time)) bad("time must be an integer");
  return {
    block: v.block as number,
    id: v.id as number,
    credited: BigInt(v.credited as string),
    address: v.address as string,
    worker: v.worker as string,
    difficulty: v.difficulty as string,
    jobId: v.jobId as string,
    height: v.height as number,
    prevhash: v.prevhash as string,
    coinb1: v.coinb1 as string,
    coinb2: v.coinb2 as string,
    extranonce1: v.extranonce1 as string,
    extranonce2: v.extranonce2 as string,
    merkleBranch: v.merkleBranch as string[],
    version: v.version as string,
    nbits: v.nbits as string,
    ntime: v.ntime as string,
    nonce: v.nonce as string,
    hash: v.hash as string,
    isBlock: v.isBlock as boolean,
    time: v.time as number,
  };
}

/**
 * True when the object's own keys are a prefix of SHARE_LOG_FIELDS in order (what shareLogLine
 * writes): then none is unknown, with no Set lookups and no key array (the audit's hot path).
 * Any other layout falls back to checking each key.
 */
function hasWriterKeys(v: Record<string, unknown>): boolean {
  let i = 0;
  for (const k in v) {
    if (k !== SHARE_LOG_FIELDS[i]) return false; // JSON.parse gives no inherited enumerable keys
    i++;
  }
  return true;
}

/** Parses the header line of a share log; throws ShareLogFormatError. */
export function parseShareLogHeader(line: string | undefined): ShareLogHeader {
  return parseHeader(line);
}

function parseHeader(line: string | undefined): ShareLogHeader {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(line ?? "") as Record<string, unknown>;
  } catch {
    throw new ShareLogFormatError("share log: the first line must be its JSON header");
  }
  if (h?.format !== SHARE_LOG_FORMAT) throw new ShareLogFormatError(`share log: format must be "${SHARE_LOG_FORMAT}"`);
  if (h.version !== SHARE_LOG_VERSION) throw new ShareLogFormatError(`share log: unsupported version ${String(h.version)}`);
  if (!Number.isSafeInteger(h.epoch) || !Number.isSafeInteger(h.blocks)) throw new ShareLogFormatError("share log: header needs epoch and blocks");
  return { format: SHARE_LOG_FORMAT, version: SHARE_LOG_VERSION, epoch: h.epoch as number, blocks: h.blocks as number };
}

/** Parses a whole share log held in memory. */
export function parseShareLog(text: string): { header: ShareLogHeader; entries: ShareLogEntry[] } {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const header = parseHeader(lines[0]);
  return { header, entries: lines.slice(1).map((l, i) => parseEntry(l, i + 2)) };
}

/** Streams a share log file: the header, then its entries one by one. */
export async function openShareLog(file: string): Promise<{ header: ShareLogHeader; entries: AsyncIterable<ShareLogEntry> }> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  const it = rl[Symbol.asyncIterator]();
  const first = await it.next();
  let header: ShareLogHeader;
  try {
    header = parseHeader(first.done ? undefined : first.value);
  } catch (err) {
    rl.close();
    throw err;
  }
  async function* entries(): AsyncIterable<ShareLogEntry> {
    let lineNo = 1;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        lineNo++;
        yield parseEntry(r.value, lineNo);
      }
    } finally {
      rl.close();
    }
  }
  return { header, entries: entries() };
}
