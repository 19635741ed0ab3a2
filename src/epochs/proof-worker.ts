/**
 * Merkle proofs of published epochs, served from a worker thread: loading a million-leaf epoch
 * file (parse, every leaf hashed, the tree built) takes seconds, which the API's event loop must
 * not spend (src/api/server.ts asks here for /api/proof/:address and /api/miners/:address).
 *
 * The worker keeps the trees of the last KEPT files it loaded, each checked against the root the
 * store recorded for it (a file whose leaves give another root is refused, never served).
 * Lookups run one after the other in the worker: the first one for a new epoch waits for its
 * load, those after it take microseconds.
 */
import { isMainThread, parentPort, workerData, type Worker } from "node:worker_threads";
import type { Address, Hex } from "viem";
import type { PayoutTree } from "../merkle";
import { startModuleWorker } from "./thread";
import { loadEpochTree } from "./tree";

/** The epoch whose tree answers: its file and the root recorded for it. */
export interface ProofSource {
  number: number;
  filePath: string;
  root: string;
}

export interface ProofEntry {
  /** Checksummed. */
  account: Address;
  cumulative: bigint;
  proof: Hex[];
}

type Request = { id: number; type: "lookup"; source: ProofSource; address: string };
type Reply = { id: number; ok: true; entry: ProofEntry | null } | { id: number; ok: false; error: string };

const WORKER_MARK = "pplns-epoch-proof-worker";
const KEPT = 2;

export class EpochProofWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  /**
   * The account's cumulative amount and proof in `source`'s tree, undefined when it has no leaf.
   * Rejects when the file cannot be read or parsed, or its leaves do not give `source.root`.
   */
  async lookup(source: ProofSource, address: string): Promise<ProofEntry | undefined> {
    const reply = await this.request({ id: this.nextId++, type: "lookup", source: { number: source.number, filePath: source.filePath, root: source.root }, address });
    if (!reply.ok) throw new Error(reply.error);
    return reply.entry ?? undefined;
  }

  /** Ends the thread (the trees it kept go with it). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private request(msg: Request): Promise<Reply> {
    const worker = this.thread();
    return new Promise((resolve, reject) => {
      this.waiting.set(msg.id, { resolve, reject });
      worker.postMessage(msg);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = startModuleWorker(__filename, { mark: WORKER_MARK });
    worker.on("message", (reply: Reply) => {
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
    worker.on("error", (err) => fail(new Error(`epoch proof worker failed: ${err.message}`)));
    worker.on("exit", (code) => fail(new Error(`epoch proof worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

// ---- the worker thread ----------------------------------------------------------------------------

function serve(): void {
  const port = parentPort!;
  /** Most recently used last. */
  const kept: Array<{ filePath: string; root: string; tree: PayoutTree }> = [];
  const treeOf = (source: ProofSource): PayoutTree => {
    const root = source.root.toLowerCase();
    const i = kept.findIndex((k) => k.filePath === source.filePath && k.root === root);
    if (i >= 0) {
      const [hit] = kept.splice(i, 1);
      kept.push(hit);
      return hit.tree;
    }
    const { tree } = loadEpochTree(source.filePath);
    if (tree.root !== root) throw new Error(`epoch ${source.number}: the leaves of ${source.filePath} give root ${tree.root}, the store recorded ${root}`);
    kept.push({ filePath: source.filePath, root, tree });
    if (kept.length > KEPT) kept.shift();
    return tree;
  };
  port.on("message", (msg: Request) => {
    try {
      const entry = treeOf(msg.source).proofFor(msg.address);
      port.postMessage({ id: msg.id, ok: true, entry: entry ?? null } satisfies Reply);
    } catch (err) {
      port.postMessage({ id: msg.id, ok: false, error: (err as Error)?.message ?? String(err) } satisfies Reply);
    }
  });
}

if (!isMainThread && parentPort && workerData?.mark === WORKER_MARK) serve();
