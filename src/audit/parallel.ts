/**
 * The audit of one epoch on worker threads (one per core by default): the same checks and the
 * same findings as the single-threaded `auditEpoch` (src/epochs/audit.ts, which stays the
 * reference), fast enough for a 10 000 000-share epoch inside the challenge window.
 *
 * The main thread reads the share log in 8 MiB chunks, hashes them (the digest the epoch file
 * names: SHA-256, or keccak256 for older files; sequential by nature), cuts them at line ends and
 * hands the batches to the workers round-robin (the buffers are transferred, not copied). Each
 * worker runs a LineChecker (linecheck.ts) over its batch — parsing, the share's work, the chain's
 * facts, its weight — and sends the outcomes back in typed-array columns (outcomecodec.ts). The main thread folds them in log order with
 * EpochAudit.fold: the findings' caps, chain order, ids and gaps, duplicates and the PPLNS windows
 * are sequential and stay there. The epoch file, the previous epoch's file and its share log are
 * read as `auditEpoch` reads them.
 *
 * Differences from the reference, by design: none in the findings, with one exception: if the
 * chain (a bitcoind) stops answering in the middle, each worker stops its chain checks at its own
 * first error, so the work checks of a few lines after the first error may still use the chain's
 * bits where the reference falls back to the share's own.
 */
import { isAscii } from "node:buffer";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { EpochAudit, type AuditReport } from "./epochaudit";
import { ChainAnchor } from "./chaincheck";
import { LineChecker, type LineOutcome } from "./linecheck";
import { encodeOutcomes, foldOutcomes, OutcomeEncoder, type EncodedOutcomes } from "./outcomecodec";
import { FastLineChecker } from "./fastline";
import { PublishedHeaderChain, type ChainSpec, type PowChainView } from "./powchain";
import { BitcoindHeaderChain } from "./powchain-bitcoind";
import { createDigest, type ShareLogHash } from "../epochs/digest";
import { parseEpochFile, type EpochFile } from "../epochs/format";
import { verifyTree } from "../epochs/verify";
import { fileLines, auditEpoch, type AuditOptions } from "../epochs/audit";

export interface ParallelAuditOptions extends AuditOptions {
  /**
   * Worker threads. 0 runs the reference single-threaded audit. Default: the number of CPUs for a
   * share log of at least `minParallelBytes`, else 0 (starting workers costs more than it saves).
   */
  threads?: number;
  /** Default 32 MiB (about 45 000 shares). */
  minParallelBytes?: number;
  /** Bytes read at a time (default 8 MiB). */
  chunkBytes?: number;
}

/** What a worker needs to check lines exactly as EpochAudit's own LineChecker does. */
interface WorkerSpec {
  checkWork: boolean;
  chain?: ChainSpec;
  anchor?: { payoutScript: string; ntimeFutureSeconds?: number; minConfirmations?: number };
  blockHashes: string[];
  fingerprintIds?: { from: number; to: number };
}

interface BatchMessage {
  seq: number;
  buf: ArrayBuffer;
  length: number;
  firstLineNo: number;
  /** The batch starts with the share log's header line: return it as text instead of checking it. */
  withHeader: boolean;
}

interface BatchReply {
  seq: number;
  header?: string;
  encoded?: EncodedOutcomes;
  error?: string;
}

const LINE_BREAK = /\r?\n|\r(?!\n)/;

/** Lines of a batch exactly as readline (crlfDelay: Infinity) gives them: LF, CRLF and a lone CR end a line. */
function splitLines(text: string): string[] {
  const lines = text.indexOf("\r") < 0 ? text.split("\n") : text.split(LINE_BREAK);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Number of lines splitLines gives for `buf` (which ends with a line break unless `final`). */
function countLines(buf: Buffer, final: boolean): number {
  let n = 0;
  for (let at = buf.indexOf(10); at >= 0; at = buf.indexOf(10, at + 1)) n++;
  for (let at = buf.indexOf(13); at >= 0; at = buf.indexOf(13, at + 1)) if (buf[at + 1] !== 10) n++;
  if (final && buf.length > 0 && buf[buf.length - 1] !== 10 && buf[buf.length - 1] !== 13) n++;
  return n;
}

/** Size of the share log the audit will read (0 when it cannot be found: the audit reports that). */
function shareLogBytes(options: AuditOptions): number {
  try {
    if (options.shareLog) return fs.statSync(options.shareLog).size;
    // Without parsing the epoch file (a large one takes seconds): the largest share log next to it,
    // an upper bound that only decides whether workers are worth starting.
    const dir = path.dirname(options.epochFile);
    let largest = 0;
    for (const name of fs.readdirSync(dir)) if (name.endsWith(".jsonl")) largest = Math.max(largest, fs.statSync(path.join(dir, name)).size);
    return largest;
  } catch {
    return 0;
  }
}

function openChain(spec: ChainSpec): PowChainView {
  return spec.kind === "headers" ? new PublishedHeaderChain(spec.headers) : new BitcoindHeaderChain(spec.rpc);
}

/** Starts a worker running this file through ts-node (as the CLI runs); it waits for its spec. */
function startWorker(): Worker {
  const tsconfig = path.join(__dirname, "..", "..", "tsconfig.json");
  return new Worker(`require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(tsconfig)} }); require(${JSON.stringify(__filename)});`, {
    eval: true,
    workerData: { auditWorker: true },
  });
}

/** Messages to a worker: its spec (first), the tree to rebuild, or a batch of lines. */
type ToWorker = { spec: WorkerSpec } | { tree: EpochFile } | BatchMessage;

/**
 * `auditEpoch` on worker threads. Falls back to the reference path when `threads` is 0 or the
 * chain given cannot be opened on a worker (a PowChainView without `workerSpec`).
 */
export async function auditEpochParallel(options: ParallelAuditOptions): Promise<AuditReport> {
  const threads = options.threads ?? (shareLogBytes(options) >= (options.minParallelBytes ?? 32 << 20) ? os.cpus().length : 0);
  if (threads <= 0 || (options.chain && !options.chain.workerSpec)) return auditEpoch(options);
  // The workers load their modules while this thread reads the epoch file.
  const workers = Array.from({ length: threads }, () => startWorker());
  try {
    return await auditWith(workers, options);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function auditWith(workers: Worker[], options: ParallelAuditOptions): Promise<AuditReport> {
  const threads = workers.length;
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
  if (!(await audit.loadFile(bytes, previousBytes, true))) return audit.finish("0x");
  const file = audit.file!;
  // The tree (every leaf hashed, 1 000 000 of them in seconds) is rebuilt on the last worker
  // while the others start on the share log.
  const tree = treeOnWorker(workers[threads - 1], file);
  const finish = async (digest: string): Promise<AuditReport> => {
    audit.treeFindings(await tree);
    return audit.finish(digest);
  };

  const logPath = options.shareLog ?? path.join(path.dirname(options.epochFile), path.basename(file.shareLog.file));
  let prevName: string | undefined;
  if (previousBytes) {
    prevName = options.previousShareLog;
    if (prevName === undefined && options.previousEpochFile) {
      try {
        prevName = path.join(path.dirname(options.previousEpochFile), parseEpochFile(previousBytes).shareLog.file);
      } catch {
        prevName = undefined;
      }
    }
  }
  // The duplicate-header table, sized once from the logs' sizes (a share line is over 256 bytes).
  const size = (f: string | undefined) => (f !== undefined && fs.existsSync(f) ? fs.statSync(f).size : 0);
  audit.presize(Math.ceil((size(logPath) + size(prevName)) / 256));
  if (previousBytes) {
    if (prevName === undefined || !fs.existsSync(prevName)) audit.previousLogMissing(prevName ?? "(unnamed)");
    else {
      const k = createDigest(audit.previousLogHash());
      for await (const line of fileLines(prevName, k)) audit.previousLine(line);
      audit.previousLogDigest(k.hex());
    }
  }

  if (!fs.existsSync(logPath)) {
    audit.findings.push(`share log: ${logPath} is missing`);
    return finish("0x");
  }
  const spec: WorkerSpec = {
    checkWork: audit.checksWork,
    chain: audit.anchorOptions ? options.chain?.workerSpec?.() : undefined,
    anchor: audit.anchorOptions,
    blockHashes: [...audit.blockHashes()],
    fingerprintIds: audit.fingerprintIds(),
  };
  for (const w of workers) w.postMessage({ spec } satisfies ToWorker);
  const digest = await dispatch(workers, logPath, file.shareLog.hash, options.chunkBytes ?? 8 << 20, audit, (done) => options.onProgress?.(done, file.shareLog.lines));
  options.onProgress?.(audit.shares, file.shareLog.lines);
  return finish(digest);
}

/** verifyTree on `worker`: its findings (or the failure, as a finding). */
function treeOnWorker(worker: Worker, file: EpochFile): Promise<string[]> {
  return new Promise((resolve) => {
    const onMessage = (r: { tree?: string[]; treeError?: string }) => {
      if (r.tree === undefined && r.treeError === undefined) return;
      worker.off("message", onMessage);
      resolve(r.tree ?? [`could not rebuild the tree: ${r.treeError}`]);
    };
    worker.on("message", onMessage);
    worker.once("exit", () => resolve(["could not rebuild the tree: the worker stopped"]));
    worker.postMessage({ tree: file } satisfies ToWorker);
  });
}

/** Reads, hashes and farms out the share log; folds the outcomes in order. Returns the log's digest (`hash`). */
async function dispatch(workers: Worker[], logPath: string, hash: ShareLogHash, chunkBytes: number, audit: EpochAudit, progress: (done: number) => void): Promise<string> {
  const threads = workers.length;
  const k = createDigest(hash);
  const fd = fs.openSync(logPath, "r");
  const pending = new Map<number, BatchReply>();
  let nextToFold = 0;
  let sent = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const inFlight = new Array<number>(threads).fill(0);
  const maxInFlight = 2;

  for (const [w, worker] of workers.entries()) {
    worker.on("message", (r: BatchReply) => {
      if (r.seq === undefined) return; // the tree's reply
      inFlight[w]--;
      pending.set(r.seq, r);
      wake?.();
    });
    worker.on("error", (err) => {
      failure ??= err;
      wake?.();
    });
    worker.on("exit", (code) => {
      if (code !== 0) failure ??= new Error(`audit worker exited with code ${code}`);
      wake?.();
    });
  }
  const waitForEvent = () => new Promise<void>((resolve) => (wake = resolve));

  const foldReady = () => {
    for (let r = pending.get(nextToFold); r !== undefined; r = pending.get(nextToFold)) {
      pending.delete(nextToFold);
      nextToFold++;
      if (r.error) throw new Error(`audit worker: ${r.error}`);
      if (r.header !== undefined) audit.headerLine(r.header);
      if (r.encoded) foldOutcomes(r.encoded, audit);
      progress(audit.shares);
    }
  };

  try {
    let carry: Buffer = Buffer.alloc(0);
    let lineNo = 1;
    let eof = false;
    let rr = 0;
    while (!eof || carry.length > 0) {
      if (failure) throw failure;
      // A free worker, round-robin.
      let w = -1;
      for (let t = 0; t < threads; t++) {
        const c = (rr + t) % threads;
        if (inFlight[c] < maxInFlight) {
          w = c;
          break;
        }
      }
      if (w < 0) {
        await waitForEvent();
        foldReady();
        continue;
      }
      // The chunk is read right after the carried part of a line, into a buffer of its own that
      // is transferred to the worker (only the short carry is ever copied).
      const buf = Buffer.allocUnsafeSlow(carry.length + chunkBytes);
      carry.copy(buf, 0);
      let end = carry.length;
      if (!eof) {
        const n = fs.readSync(fd, buf, carry.length, chunkBytes, null);
        if (n === 0) eof = true;
        else {
          k.update(buf.subarray(carry.length, carry.length + n));
          end += n;
        }
      }
      const data = buf.subarray(0, end);
      let final = false;
      let cut: number;
      if (eof) {
        final = true;
        cut = data.length;
      } else {
        const nl = data.lastIndexOf(10);
        if (nl < 0) {
          carry = Buffer.from(data); // a line longer than a chunk: read on
          continue;
        }
        cut = nl + 1;
      }
      carry = Buffer.from(data.subarray(cut));
      if (cut === 0) continue;
      const batch = data.subarray(0, cut);
      const lines = countLines(batch, final);
      const msg: BatchMessage = { seq: sent, buf: batch.buffer as ArrayBuffer, length: cut, firstLineNo: lineNo, withHeader: lineNo === 1 };
      lineNo += lines;
      workers[w].postMessage(msg, [msg.buf]);
      inFlight[w]++;
      sent++;
      rr = (w + 1) % threads;
      foldReady();
    }
    while (nextToFold < sent) {
      if (failure) throw failure;
      foldReady();
      if (nextToFold < sent) await waitForEvent();
    }
  } finally {
    fs.closeSync(fd);
  }
  return k.hex();
}

/** The worker's side: takes its spec, then checks each batch's lines and sends the outcomes back. */
function runWorker(): void {
  let checker: LineChecker | undefined;
  let fast: FastLineChecker | undefined;
  let queue = Promise.resolve();
  parentPort!.on("message", (m: ToWorker) => {
    if ("spec" in m) {
      ({ checker, fast } = workerCheckers(m.spec));
      return;
    }
    if ("tree" in m) {
      queue = queue.then(() => {
        try {
          parentPort!.postMessage({ tree: verifyTree(m.tree).findings });
        } catch (err) {
          parentPort!.postMessage({ treeError: (err as Error).message });
        }
      });
      return;
    }
    queue = queue.then(async () => {
      try {
        if (!checker) throw new Error("batch before spec");
        const bytes = Buffer.from(m.buf, 0, m.length);
        const reply = fast && isAscii(bytes) && bytes.indexOf(13) < 0 ? await checkFast(bytes, m, checker, fast) : await checkLines(bytes, m, checker);
        parentPort!.postMessage(reply.reply, reply.transfer);
      } catch (err) {
        parentPort!.postMessage({ seq: m.seq, error: (err as Error).stack ?? String(err) } satisfies BatchReply);
      }
    });
  });
}

/** A batch line by line through the reference LineChecker. */
async function checkLines(bytes: Buffer, m: BatchMessage, checker: LineChecker): Promise<{ reply: BatchReply; transfer: ArrayBuffer[] }> {
  // The same string either way; pure-ASCII batches (every honest log) decode ~5× faster as ASCII.
  const text = isAscii(bytes) ? bytes.toString("ascii") : bytes.toString("utf8");
  const lines = splitLines(text);
  let header: string | undefined;
  let first = 0;
  let lineNo = m.firstLineNo;
  if (m.withHeader && lines.length > 0) {
    header = lines[0];
    first = 1;
    lineNo++;
  }
  const outcomes: LineOutcome[] = new Array(lines.length - first);
  for (let i = first; i < lines.length; i++) outcomes[i - first] = await checker.check(lines[i], lineNo++);
  const { encoded, transfer } = encodeOutcomes(outcomes);
  return { reply: { seq: m.seq, header, encoded }, transfer };
}

/**
 * An ASCII batch with LF line ends only: each line tried on the fast path (fastline.ts) first,
 * checked by the reference LineChecker when the fast path declines it. Lines as splitLines cuts them.
 */
async function checkFast(bytes: Buffer, m: BatchMessage, checker: LineChecker, fast: FastLineChecker): Promise<{ reply: BatchReply; transfer: ArrayBuffer[] }> {
  const ends: number[] = [];
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) ends.push(at);
  if (ends.length === 0 || ends[ends.length - 1] !== bytes.length - 1) {
    if (bytes.length > 0) ends.push(bytes.length); // the final batch's last line, without a line break
  }
  let header: string | undefined;
  let first = 0;
  if (m.withHeader && ends.length > 0) {
    header = bytes.toString("latin1", 0, ends[0]);
    first = 1;
  }
  const encoder = new OutcomeEncoder(ends.length - first);
  let start = first === 1 ? ends[0] + 1 : 0;
  let lineNo = m.firstLineNo + first;
  for (let k = first; k < ends.length; k++) {
    const end = ends[k];
    const i = k - first;
    if (!fast.tryLine(bytes, start, end, encoder, i)) encoder.put(i, await checker.check(bytes.toString("latin1", start, end), lineNo));
    start = end + 1;
    lineNo++;
  }
  const { encoded, transfer } = encoder.finish();
  return { reply: { seq: m.seq, header, encoded }, transfer };
}

function workerCheckers(spec: WorkerSpec): { checker: LineChecker; fast?: FastLineChecker } {
  const chain = spec.chain ? openChain(spec.chain) : undefined;
  const anchor = chain && spec.anchor ? new ChainAnchor({ chain, ...spec.anchor }) : undefined;
  const blockHashes = new Set(spec.blockHashes);
  const checker = new LineChecker({ checkWork: spec.checkWork, anchor, blockHashes, fingerprintIds: spec.fingerprintIds });
  const fast = spec.checkWork ? new FastLineChecker({ anchor, blockHashes, fingerprintIds: spec.fingerprintIds, chainFailed: () => checker.chainStopped }) : undefined;
  return { checker, fast };
}

if (!isMainThread && parentPort && workerData?.auditWorker) runWorker();
