/**
 * The worker threads of the parallel audit (parallel.ts): each takes its spec, then checks the
 * batches of share-log lines it is sent — on the fast path (fastline.ts) where it can, else with
 * the reference LineChecker — and sends the outcomes back as columns (outcomecodec.ts); one of
 * them also rebuilds the epoch's tree. Its own module so that a worker loads only what it runs.
 */
import { isAscii } from "node:buffer";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { ChainAnchor } from "./chaincheck";
import { LineChecker, type LineOutcome } from "./linecheck";
import { encodeOutcomes, OutcomeEncoder, type EncodedOutcomes } from "./outcomecodec";
import { FastLineChecker } from "./fastline";
import { PublishedHeaderChain, type ChainSpec, type PowChainView } from "./powchain";
import { BitcoindHeaderChain } from "./powchain-bitcoind";
import { parseEpochFile } from "../epochs/format";
import { verifyTree } from "../epochs/verify";
import { AddressKeyLookup, type AddressKeysView } from "../epochs/addresskeys";

/** What a worker needs to check lines exactly as EpochAudit's own LineChecker does. */
export interface WorkerSpec {
  checkWork: boolean;
  chain?: ChainSpec;
  anchor?: { payoutScript: string; ntimeFutureSeconds?: number; minConfirmations?: number };
  blockHashes: string[];
  fingerprintIds?: { from: number; to: number };
  /** The main thread's address keys (shared memory): plain lines carry their address's key. */
  addressKeys?: AddressKeysView;
}

export interface BatchMessage {
  seq: number;
  buf: ArrayBuffer;
  length: number;
  firstLineNo: number;
  /** The batch starts with the share log's header line: return it as text instead of checking it. */
  withHeader: boolean;
}

export interface BatchReply {
  /** The batch's buffer, returned for reuse. */
  buf?: ArrayBuffer;
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

function openChain(spec: ChainSpec): PowChainView {
  return spec.kind === "headers" ? new PublishedHeaderChain(spec.headers) : new BitcoindHeaderChain(spec.rpc);
}

/** Messages to a worker: its spec (first), the tree to rebuild, or a batch of lines. */
export type ToWorker = { spec: WorkerSpec } | { tree: ArrayBuffer } | BatchMessage;

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
          parentPort!.postMessage({ tree: verifyTree(parseEpochFile(Buffer.from(m.tree))).findings });
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
        // The batch's buffer goes back for the next read (no fresh pages to fault in).
        reply.reply.buf = m.buf;
        parentPort!.postMessage(reply.reply, [...reply.transfer, m.buf]);
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
  const keys = spec.addressKeys ? new AddressKeyLookup(spec.addressKeys) : undefined;
  const fast = spec.checkWork ? new FastLineChecker({ anchor, blockHashes, fingerprintIds: spec.fingerprintIds, chainFailed: () => checker.chainStopped, keys }) : undefined;
  return { checker, fast };
}

if (!isMainThread && parentPort && workerData?.auditWorker) runWorker();
