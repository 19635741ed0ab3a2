/**
 * The epoch build on a worker thread, so that the pool's event loop (Stratum replies, the API)
 * never waits for it: the PPLNS walks, the reward splits, the ledger merge, the payout tree, the
 * share log and the epoch file all run in the worker (src/epochs/assemble.ts, the same code the
 * in-process build runs, hence the same bytes). The worker reads the share store through its own
 * handle (a second SQLite connection: WAL readers neither block nor wait for the writer; or its
 * own PostgreSQL pool) and keeps the latest recorded epoch's tree, whose unchanged leaves the next
 * build reuses. Recording the epoch stays with the caller's store (one transaction).
 *
 * Messages (structured clone): host → worker `prepare` (an AssembleJob: a PPLNS epoch),
 * `prepareScheme` (a SchemeJob: a scheduled PPS/FPPS epoch, src/schemes/assemble.ts), `recorded`
 * (the epoch and root the caller recorded: the worker keeps that tree), `forget` (revoked: drop
 * it), `close`, `fee` (the answer to a fee request); worker → host the result of each prepare,
 * its ledger deltas packed (addresses in one string, amounts as transferred 64-bit words),
 * read in place by the host (PackedLedgerDeltas), and for FPPS `feeRequest` (the fees
 * of the block at a height: the chain is the host's, read by its blockFees, each block once).
 */
import { isMainThread, parentPort, workerData, type Worker } from "node:worker_threads";
import type { Hex } from "viem";
import type { PayoutTree } from "../merkle";
import { openShareStore, type LedgerDelta, type LedgerDeltaList, type ShareStore, type ShareStoreConfig } from "../shares";
import { assembleEpoch, previousLedger, type AssembleJob } from "./assemble";
import { assembleSchemeEpoch, type SchemeJob } from "../schemes/assemble";
import { FeeWindows } from "../schemes/fees";
import type { EpochHeader } from "./format";
import { lowerThreadPriority, startModuleWorker } from "./thread";

/** What the worker hands back for a prepared epoch (its tree and leaves stay in the worker). */
export interface WorkerEpoch {
  header: EpochHeader;
  filePath: string;
  shareLogPath: string;
  dataHash: Hex;
  bytes: number;
  reward: bigint;
  totalCumulative: bigint;
  accounts: number;
  deltas: LedgerDeltaList;
  /** The worker reused the tree it kept of the previous epoch. */
  reusedTree: boolean;
  /** Per phase, in the worker (ms); `transferMs`: unpacking the deltas on the host. */
  timings: Record<string, number>;
}

/**
 * Deltas packed for the trip: addresses as one string (40 hex digits each, no 0x); amounts as
 * 64-bit words (transferred, not copied) when all fit, else as comma-separated decimals.
 */
type PackedDeltas = { count: number; addresses: string } & ({ delta: BigUint64Array; cumulative: BigUint64Array } | { delta: string; cumulative: string });

type Request =
  | { type: "prepare"; id: number; job: AssembleJob }
  | { type: "prepareScheme"; id: number; job: SchemeJob }
  | { type: "recorded"; epoch: number; root: string }
  | { type: "forget" }
  | { type: "close"; id: number }
  /** The host's answer to a feeRequest: satoshis as a decimal string, null above the tip, or why it failed. */
  | { type: "fee"; request: number; value: string | null; error?: string };
type Reply =
  | { id: number; ok: true; result: Omit<WorkerEpoch, "deltas"> & { deltas: PackedDeltas } }
  | { id: number; ok: true; closed: true }
  | { id: number; ok: false; error: string; name: string }
  /** FPPS: the worker asks for the fees (satoshis) of the block at `height`. */
  | { feeRequest: number; height: number };

const WORKER_MARK = "pplns-epoch-build-worker";

/**
 * A long-lived build worker over one share store. `prepare` runs one build at a time (the
 * EpochBuilder serializes them); the thread starts with start() or the first build, does not keep
 * the process alive, and is restarted after a crash (the builds waiting reject with its error;
 * the new thread has no kept tree and reads the ledger from the store).
 */
export class EpochBuildWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  /** The running FPPS build's fee source (the chain's per-block fees, satoshis). */
  private blockFees: ((height: number) => Promise<bigint | undefined>) | undefined;

  /**
   * `nice`: the worker thread's nice value on Linux (0..19; default 19, background, which also
   * takes the SCHED_IDLE policy: lowerThreadPriority): under CPU contention the event loop's thread
   * runs first; an idle core still runs the build at full speed.
   */
  constructor(
    private readonly store: ShareStoreConfig,
    private readonly nice = 19,
  ) {
    if (!store || (store.kind !== "sqlite" && store.kind !== "postgres")) throw new TypeError("the build worker needs the store's config ({ kind: sqlite | postgres, … })");
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`nice must be an integer 0..19, got ${String(nice)}`);
  }

  /** Starts the thread now (loading its code takes a few seconds), not at the first build. */
  start(): void {
    this.thread();
  }

  /** Builds the PPLNS epoch and writes its files in the worker; rejects with the build's error. */
  async prepare(job: AssembleJob): Promise<WorkerEpoch> {
    return this.result(await this.request({ type: "prepare", id: this.nextId++, job }));
  }

  /**
   * Builds the scheduled PPS/FPPS epoch and writes its files in the worker (the bytes of
   * assembleSchemeEpoch in process); FPPS needs `blockFees`, the chain's fees (satoshis) of the
   * block at a height, which the worker asks of this thread, each block once.
   */
  async prepareScheme(job: SchemeJob, blockFees?: (height: number) => Promise<bigint | undefined>): Promise<WorkerEpoch> {
    if (job.scheme === "fpps" && !blockFees) throw new Error("an FPPS epoch needs the chain's per-block fees");
    this.blockFees = blockFees;
    try {
      return this.result(await this.request({ type: "prepareScheme", id: this.nextId++, job }));
    } finally {
      this.blockFees = undefined;
    }
  }

  private async result(reply: Reply): Promise<WorkerEpoch> {
    if (!("ok" in reply)) throw new Error("build worker: unexpected reply");
    if (!reply.ok) throw Object.assign(new Error(reply.error), { name: reply.name });
    if (!("result" in reply)) throw new Error("build worker: unexpected reply");
    const t = performance.now();
    const deltas = new PackedLedgerDeltas(reply.result.deltas);
    return { ...reply.result, deltas, timings: { ...reply.result.timings, transferMs: performance.now() - t } };
  }

  /** Answers the worker's request for a block's fees from the running build's source. */
  private async answerFee(worker: Worker, request: number, height: number): Promise<void> {
    let answer: Extract<Request, { type: "fee" }>;
    try {
      if (!this.blockFees) throw new Error("no fee source for this build");
      const v = await this.blockFees(height);
      answer = { type: "fee", request, value: v === undefined ? null : v.toString() };
    } catch (err) {
      answer = { type: "fee", request, value: null, error: (err as Error)?.message ?? String(err) };
    }
    worker.postMessage(answer satisfies Request);
  }

  /** The caller recorded `epoch` with `root`: the worker keeps its tree for the next build. */
  recorded(epoch: number, root: string): void {
    this.worker?.postMessage({ type: "recorded", epoch, root } satisfies Request);
  }

  /** The latest epoch was revoked: the worker drops the tree it kept. */
  forget(): void {
    this.worker?.postMessage({ type: "forget" } satisfies Request);
  }

  /** Closes the worker's store handle and ends the thread. */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    try {
      await this.request({ type: "close", id: this.nextId++ });
    } finally {
      this.worker = undefined;
      await w.terminate();
    }
  }

  private request(msg: Extract<Request, { id: number }>): Promise<Reply> {
    const worker = this.thread();
    return new Promise((resolve, reject) => {
      this.waiting.set(msg.id, { resolve, reject });
      worker.postMessage(msg);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = startModuleWorker(__filename, { mark: WORKER_MARK, store: this.store, nice: this.nice });
    worker.on("message", (reply: Reply) => {
      if ("feeRequest" in reply) {
        void this.answerFee(worker, reply.feeRequest, reply.height);
        return;
      }
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      w.resolve(reply);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on("error", (err) => fail(new Error(`epoch build worker failed: ${err.message}`)));
    worker.on("exit", (code) => fail(new Error(`epoch build worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

const U64_LIMIT = 1n << 64n;

function packDeltas(deltas: readonly LedgerDelta[]): PackedDeltas {
  const n = deltas.length;
  const addresses = new Array<string>(n);
  for (let i = 0; i < n; i++) addresses[i] = deltas[i].address.slice(2);
  // 64-bit words only when every amount fits (0 ≤ delta ≤ cumulative < 2^64): never a wrapped value.
  if (deltas.every((d) => d.delta >= 0n && d.delta <= d.cumulative && d.cumulative < U64_LIMIT)) {
    const delta = new BigUint64Array(n);
    const cumulative = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      delta[i] = deltas[i].delta;
      cumulative[i] = deltas[i].cumulative;
    }
    return { count: n, addresses: addresses.join(""), delta, cumulative };
  }
  return { count: n, addresses: addresses.join(""), delta: deltas.map((d) => d.delta.toString()).join(","), cumulative: deltas.map((d) => d.cumulative.toString()).join(",") };
}

/**
 * The worker's packed deltas read in place (LedgerDeltaList): each `at(i)` builds the one change
 * asked for, so the event loop never holds a million LedgerDelta objects (building them all took
 * 1-2 s of slices and left the heap to garbage-collect: 40-140 ms pauses while Stratum waited).
 * Amounts beyond 64 bits come as comma-separated decimals, read with a cursor (in order: O(1) a step).
 */
export class PackedLedgerDeltas implements LedgerDeltaList {
  readonly length: number;
  private readonly cursors = { delta: { i: 0, at: 0 }, cumulative: { i: 0, at: 0 } };

  constructor(private readonly p: PackedDeltas) {
    if (p.addresses.length !== 40 * p.count) throw new Error(`build worker: ${p.count} deltas but ${p.addresses.length} address characters`);
    this.length = p.count;
  }

  at(i: number): LedgerDelta | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) return undefined;
    const p = this.p;
    return {
      address: "0x" + p.addresses.slice(i * 40, i * 40 + 40),
      delta: typeof p.delta === "string" ? this.decimal(p.delta, this.cursors.delta, i) : p.delta[i],
      cumulative: typeof p.cumulative === "string" ? this.decimal(p.cumulative, this.cursors.cumulative, i) : p.cumulative[i],
    };
  }

  *[Symbol.iterator](): IterableIterator<LedgerDelta> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  /** The changes as plain objects (tests, small epochs). */
  toArray(): LedgerDelta[] {
    return Array.from(this);
  }

  private decimal(column: string, c: { i: number; at: number }, i: number): bigint {
    if (i < c.i) {
      c.i = 0;
      c.at = 0;
    }
    while (c.i < i) {
      c.at = column.indexOf(",", c.at) + 1;
      c.i++;
    }
    const end = column.indexOf(",", c.at);
    return BigInt(column.slice(c.at, end === -1 ? column.length : end));
  }
}

// ---- the worker thread ----------------------------------------------------------------------------

async function serve(storeConfig: ShareStoreConfig, nice: number): Promise<void> {
  const port = parentPort!;
  lowerThreadPriority(nice);
  // The store is opened now, not at the first build; a failed open is retried by the next build.
  let opening: Promise<ShareStore> | undefined = openShareStore(storeConfig);
  opening.catch(() => undefined);
  let store: ShareStore | undefined;
  /** The tree of the latest epoch the host recorded, and of the one prepared last. */
  let kept: { epoch: number; root: string; tree: PayoutTree } | undefined;
  let prepared: { epoch: number; root: string; tree: PayoutTree } | undefined;
  let queue: Promise<void> = Promise.resolve();
  // FPPS: fee requests to the host, answered out of the message queue (the build waiting on them is in it).
  let nextFeeRequest = 1;
  const feeAnswers = new Map<number, { resolve: (v: bigint | undefined) => void; reject: (e: Error) => void }>();
  const askFee = (height: number): Promise<bigint | undefined> =>
    new Promise((resolve, reject) => {
      const request = nextFeeRequest++;
      feeAnswers.set(request, { resolve, reject });
      port.postMessage({ feeRequest: request, height } satisfies Reply);
    });
  const handle = async (msg: Exclude<Request, { type: "fee" }>): Promise<void> => {
    if (msg.type === "recorded") {
      if (prepared && prepared.epoch === msg.epoch && prepared.root === msg.root) kept = prepared;
      else kept = undefined; // recorded elsewhere or differently: rebuild the ledger from the store
      prepared = undefined;
      return;
    }
    if (msg.type === "forget") {
      kept = prepared = undefined;
      return;
    }
    if (msg.type === "close") {
      try {
        if (!store && opening) store = await opening.catch(() => undefined);
        await store?.close();
      } finally {
        store = undefined;
        opening = undefined;
        port.postMessage({ id: msg.id, ok: true, closed: true } satisfies Reply);
      }
      return;
    }
    try {
      if (!store) {
        opening ??= openShareStore(storeConfig);
        store = await opening.catch((err) => {
          opening = undefined;
          throw err;
        });
      }
      const latest = msg.job.latest;
      const usable = kept && latest && kept.epoch === latest.number && kept.root === latest.root.toLowerCase() ? kept : undefined;
      const previous = await previousLedger(store, latest?.number, usable);
      const e =
        msg.type === "prepare"
          ? await assembleEpoch(store, msg.job, previous)
          : await assembleSchemeEpoch(store, msg.job, previous, msg.job.scheme === "fpps" ? new FeeWindows(askFee) : undefined);
      prepared = { epoch: msg.job.number, root: e.tree.root, tree: e.tree };
      const t = performance.now();
      const deltas = packDeltas(e.deltas);
      const result = {
        header: e.header,
        filePath: e.filePath,
        shareLogPath: e.shareLogPath,
        dataHash: e.dataHash,
        bytes: e.bytes,
        reward: e.reward,
        totalCumulative: e.tree.total,
        accounts: e.leaves.accounts.length,
        deltas,
        reusedTree: e.reusedTree,
        timings: { ...e.timings, packMs: performance.now() - t },
      };
      const transfer = typeof deltas.delta === "string" ? [] : [deltas.delta.buffer as ArrayBuffer, (deltas.cumulative as BigUint64Array).buffer as ArrayBuffer];
      port.postMessage({ id: msg.id, ok: true, result } satisfies Reply, transfer);
    } catch (err) {
      const e = err as Error;
      port.postMessage({ id: msg.id, ok: false, error: e?.message ?? String(err), name: e?.name ?? "Error" } satisfies Reply);
    }
  };
  port.on("message", (msg: Request) => {
    if (msg.type === "fee") {
      const waiting = feeAnswers.get(msg.request);
      feeAnswers.delete(msg.request);
      if (msg.error !== undefined) waiting?.reject(new Error(msg.error));
      else waiting?.resolve(msg.value === null ? undefined : BigInt(msg.value));
      return;
    }
    // One message at a time, in order; a failure of one never stops the next.
    queue = queue.then(() => handle(msg)).catch(() => undefined);
  });
}

if (!isMainThread && parentPort && workerData?.mark === WORKER_MARK) void serve(workerData.store as ShareStoreConfig, workerData.nice as number);
