/**
 * Downloads one epoch's published files (and the previous epoch's) into a local folder for the
 * audit: the epoch file at its uri, the share log it names next to it, and the header chain
 * (`headers.txt`) next to it when the pool publishes one. What cannot be fetched is reported as a
 * problem for the audit's findings, never thrown.
 */
import fs from "node:fs";
import path from "node:path";
import { parseEpochFile, shareLogFileName } from "../epochs/format";
import { fetchPublished, siblingUri } from "./fetch";
import { HEADER_CHAIN_FILE } from "./powchain";

export interface DownloadedEpoch {
  epochFile?: string;
  shareLog?: string;
  previousEpochFile?: string;
  previousShareLog?: string;
  /** The published header chain's text, when found next to the epoch file. */
  headers?: string;
  problems: string[];
}

async function one(dir: string, epoch: number, uri: string, problems: string[]): Promise<{ file?: string; log?: string }> {
  let bytes: Buffer;
  try {
    bytes = await fetchPublished(uri);
  } catch (err) {
    problems.push(`publication: epoch ${epoch}'s file: ${(err as Error).message}`);
    return {};
  }
  const file = path.join(dir, `epoch-${String(epoch).padStart(6, "0")}.json`);
  fs.writeFileSync(file, bytes);
  let logName = shareLogFileName(epoch);
  try {
    logName = path.basename(parseEpochFile(bytes).shareLog.file);
  } catch {
    /* the audit reports the malformed file */
  }
  try {
    const log = path.join(dir, logName);
    fs.writeFileSync(log, await fetchPublished(siblingUri(uri, logName)));
    return { file, log };
  } catch (err) {
    problems.push(`publication: epoch ${epoch}'s share log: ${(err as Error).message}`);
    return { file };
  }
}

/** Fetches epoch `epoch` from `uri` and, when given, epoch `epoch - 1` from `previousUri`. */
export async function downloadEpoch(dir: string, epoch: number, uri: string, previousUri?: string): Promise<DownloadedEpoch> {
  fs.mkdirSync(dir, { recursive: true });
  const problems: string[] = [];
  const cur = await one(dir, epoch, uri, problems);
  const out: DownloadedEpoch = { epochFile: cur.file, shareLog: cur.log, problems };
  if (previousUri) {
    const prev = await one(dir, epoch - 1, previousUri, problems);
    out.previousEpochFile = prev.file;
    out.previousShareLog = prev.log;
  }
  try {
    out.headers = (await fetchPublished(siblingUri(uri, HEADER_CHAIN_FILE))).toString("utf8");
  } catch {
    out.headers = undefined;
  }
  return out;
}
