/**
 * The audit of one epoch on worker threads (one per core by default): the same checks and the
 * same findings as the single-threaded `auditEpoch` (src/epochs/audit.ts, which stays the
 * reference), fast enough for a 10 000 000-share epoch inside the challenge window.
 *
 * The main thread reads the share log in 8 MiB chunks, hashes them (the digest the epoch file
 * names: SHA-256, or keccak256 for older files; sequential by nature), cuts them at line ends and
 * hands the batches to the workers round-robin (the buffers are transferred, not copied). Each
 * worker (parallel-worker.ts) checks its batch's lines — parsing, the share's work, the chain's
 * facts, its weight: on the fast path (fastline.ts) for lines with nothing to report, else with a
 * LineChecker (linecheck.ts) — and sends the outcomes back in typed-array columns
 * (outcomecodec.ts). The main thread folds them in log order (EpochAudit.fold, and foldPlain for
 * plain lines): the findings' caps, chain order, ids and gaps, duplicates and the PPLNS windows
 * are sequential and stay there. A worker of its own rebuilds the tree from the epoch file while
 * the others check the log. The epoch file, the previous epoch's file and its share log are read
 * as `auditEpoch` reads them.
 *
 * Differences from the reference, by design: none in the findings, with one exception: if the
 * chain (a bitcoind) stops answering in the middle, each worker stops its chain checks at its own
 * first error, so the work checks of a few lines after the first error may still use the chain's
 * bits where the reference falls back to the share's own.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { EpochAudit, type AuditReport } from "./epochaudit";
import { foldOutcomes } from "./outcomecodec";
import type { BatchMessage, BatchReply, ToWorker, WorkerSpec } from "./parallel-worker";
import { createDigest, type ShareLogHash } from "../epochs/digest";
import { parseEpochFile } from "../epochs/format";
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

/**
 * Whether ts-node can transpile with SWC (@swc/core): a worker then loads its modules in ~0.8 s
 * instead of ~2.5 s with TypeScript's own transpiler (measured here), seconds of a watchtower's
 * window when the audit starts. Otherwise the workers transpile as the main thread does.
 */
let swc: boolean | undefined;
function swcAvailable(): boolean {
  if (swc === undefined) {
    try {
      // Its native binding must load and work, not only resolve.
      (require("@swc/core") as { transformSync(code: string, options: object): unknown }).transformSync("const a: number = 1;", { jsc: { parser: { syntax: "typescript" } } });
      swc = true;
    } catch {
      swc = false;
    }
  }
  return swc;
}

/** Starts a worker running parallel-worker (through ts-node when run from source); it waits for its spec. */
function startWorker(): Worker {
  const tsconfig = path.join(__dirname, "..", "..", "tsconfig.json");
  const file = path.join(__dirname, `parallel-worker${path.extname(__filename)}`);
  const options = `{ transpileOnly: true, swc: ${swcAvailable()}, project: ${JSON.stringify(tsconfig)} }`;
  const register = file.endsWith(".ts") ? `require(${JSON.stringify(require.resolve("ts-node"))}).register(${options}); ` : "";
  const worker = new Worker(`${register}require(${JSON.stringify(file)});`, {
    eval: true,
    workerData: { auditWorker: true },
  });
  // A worker that fails before its first batch (its modules did not load) is reported by dispatch,
  // never as an unhandled 'error' event.
  worker.on("error", (err) => startFailures.set(worker, err));
  return worker;
}

const startFailures = new WeakMap<Worker, Error>();

/**
 * `auditEpoch` on worker threads. Falls back to the reference path when `threads` is 0 or the
 * chain given cannot be opened on a worker (a PowChainView without `workerSpec`).
 */
export async function auditEpochParallel(options: ParallelAuditOptions): Promise<AuditReport> {
  const threads = options.threads ?? (shareLogBytes(options) >= (options.minParallelBytes ?? 32 << 20) ? os.cpus().length : 0);
  if (threads <= 0 || (options.chain && !options.chain.workerSpec)) return auditEpoch(options);
  // The workers load their modules while this thread reads the epoch file. The tree is rebuilt
  // on a worker of its own, ended when done: its seconds of hashing overlap the share log's
  // checks, and the memory of its copy of the leaves goes back before the audit's peak.
  const workers = Array.from({ length: threads }, () => startWorker());
  const treeWorker = startWorker();
  try {
    return await auditWith(workers, treeWorker, options);
  } finally {
    await Promise.all([...workers, treeWorker].map((w) => w.terminate()));
  }
}

async function auditWith(workers: Worker[], treeWorker: Worker, options: ParallelAuditOptions): Promise<AuditReport> {
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
  const tree = treeOnWorker(treeWorker, bytes);
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
    addressKeys: audit.addressKeysView(),
  };
  for (const w of workers) w.postMessage({ spec } satisfies ToWorker);
  const digest = await dispatch(workers, logPath, file.shareLog.hash, options.chunkBytes ?? 8 << 20, audit, (done) => options.onProgress?.(done, file.shareLog.lines));
  options.onProgress?.(audit.shares, file.shareLog.lines);
  return finish(digest);
}

/**
 * verifyTree on `worker` of the epoch file given as its bytes, which are moved there (detached
 * here) when they fill their own buffer: cloning the parsed leaves would cost the main thread
 * longer than the worker's parse. Resolves to its findings (or the failure, as a finding).
 */
function treeOnWorker(worker: Worker, bytes: Uint8Array): Promise<string[]> {
  return new Promise((resolve) => {
    const onMessage = (r: { tree?: string[]; treeError?: string }) => {
      if (r.tree === undefined && r.treeError === undefined) return;
      worker.off("message", onMessage);
      resolve(r.tree ?? [`could not rebuild the tree: ${r.treeError}`]);
      void worker.terminate();
    };
    worker.on("message", onMessage);
    worker.once("error", (err) => resolve([`could not rebuild the tree: ${err.message}`]));
    worker.once("exit", () => resolve(["could not rebuild the tree: the worker stopped"]));
    // Moved, not copied, when the bytes fill their own buffer (the caller no longer reads them).
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const buffer = (own ? bytes.buffer : new Uint8Array(bytes).buffer) as ArrayBuffer;
    worker.postMessage({ tree: buffer } satisfies ToWorker, [buffer]);
  });
}

/** Room in a pooled batch buffer for the part of a line carried over from the previous read. */
const POOL_SLACK = 64 << 10;

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
  /** Batch buffers the workers gave back (chunkBytes + POOL_SLACK bytes each). */
  const free: ArrayBuffer[] = [];

  for (const [w, worker] of workers.entries()) {
    const early = startFailures.get(worker);
    if (early) failure ??= early;
    worker.on("message", (r: BatchReply) => {
      inFlight[w]--;
      if (r.buf && r.buf.byteLength === chunkBytes + POOL_SLACK) free.push(r.buf);
      r.buf = undefined;
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
      const pooled = carry.length <= POOL_SLACK ? free.pop() : undefined;
      const buf = pooled ? Buffer.from(pooled) : Buffer.allocUnsafeSlow(carry.length <= POOL_SLACK ? chunkBytes + POOL_SLACK : carry.length + chunkBytes);
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

