/**
 * `auditEpoch`: the audit of one epoch from files on disk. The checks themselves are fs-free in
 * src/audit/epochaudit.ts (shared with the watchtower and the browser audit); this module reads
 * the epoch file, the previous one and both share logs (streamed line by line, hashed as read) and
 * feeds them in. Anchors (the proof-of-work chain, the contract) are passed through.
 */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { EpochAudit, type AuditReport, type EpochAuditOptions } from "../audit/epochaudit";
import { createDigest, type StreamDigest } from "./digest";
import { parseEpochFile } from "./format";
import { CommitmentReader, verifyShareWorkEntry } from "./sharecheck";
import type { ShareLogEntry } from "./sharelog";

export type { AuditReport } from "../audit/epochaudit";

export interface AuditOptions extends EpochAuditOptions {
  /** Path of the epoch file. */
  epochFile: string;
  /** Path of its share log; default: the file named in the epoch file, next to it. */
  shareLog?: string;
  /** Path of the previous epoch's file (required unless this is epoch 1). */
  previousEpochFile?: string;
  /**
   * Path of the previous epoch's share log, for duplicates between the two epochs' windows and
   * shares that must be byte-identical in both; default: the file the previous epoch file names,
   * next to it (a finding when it is missing).
   */
  previousShareLog?: string;
  /** Called every `progressEvery` share lines. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

/** Checks one share's proof of work and attribution; undefined when it holds (see sharecheck.ts). */
export function checkShareWork(e: ShareLogEntry, commitments?: CommitmentReader): string | undefined {
  return verifyShareWorkEntry(e, commitments).problem;
}

/** Streams a file's lines (LF; a CR before it is kept, so the digest and the lines agree), hashing its bytes. */
export async function* fileLines(file: string, hash?: StreamDigest): AsyncGenerator<string> {
  const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  if (hash) input.on("data", (chunk) => hash.update(chunk as Buffer));
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
  }
}

export async function auditEpoch(options: AuditOptions): Promise<AuditReport> {
  const audit = new EpochAudit(options);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(options.epochFile);
  } catch (err) {
    audit.findings.push(`file: cannot read ${options.epochFile}: ${(err as Error).message}`);
    return audit.finish("0x");
  }
  let previousBytes: Buffer | null = null;
  if (options.previousEpochFile) {
    try {
      previousBytes = fs.readFileSync(options.previousEpochFile);
    } catch (err) {
      audit.findings.push(`continuity: cannot read the previous epoch file ${options.previousEpochFile}: ${(err as Error).message}`);
    }
  }
  if (!(await audit.loadFile(bytes, previousBytes))) return audit.finish("0x");
  const file = audit.file!;

  if (previousBytes) {
    let prevName: string | undefined = options.previousShareLog;
    if (prevName === undefined && options.previousEpochFile) {
      try {
        prevName = path.join(path.dirname(options.previousEpochFile), parseEpochFile(previousBytes).shareLog.file);
      } catch {
        prevName = undefined;
      }
    }
    if (prevName === undefined || !fs.existsSync(prevName)) audit.previousLogMissing(prevName ?? "(unnamed)");
    else {
      const k = createDigest(audit.previousLogHash());
      for await (const line of fileLines(prevName, k)) audit.previousLine(line);
      audit.previousLogDigest(k.hex());
    }
  }

  const logPath = options.shareLog ?? path.join(path.dirname(options.epochFile), path.basename(file.shareLog.file));
  const k = createDigest(file.shareLog.hash);
  if (!fs.existsSync(logPath)) {
    audit.findings.push(`share log: ${logPath} is missing`);
    return audit.finish("0x");
  }
  const every = options.progressEvery ?? 10_000;
  let n = 0;
  for await (const line of fileLines(logPath, k)) {
    await audit.line(line);
    if (++n % every === 0) options.onProgress?.(audit.shares, file.shareLog.lines);
  }
  options.onProgress?.(audit.shares, file.shareLog.lines);
  return audit.finish(k.hex());
}
