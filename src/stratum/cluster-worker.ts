/**
 * A Stratum worker process (cluster.ts): a StratumServer on the shared port whose template source
 * and share sink are the pool process, over IPC.
 */
import cluster from "node:cluster";
import { EventEmitter } from "node:events";
import pino from "pino";
import type { BlockTemplate, SubmitResult, TemplateSource } from "../chain/types";
import { encodeShares, type PrimaryMessage, type WorkerMessage } from "./cluster-protocol";
import type { AcceptedShare, ShareSink } from "./events";
import { StratumServer } from "./server";

const STATS_INTERVAL_MS = 1000;

function send(msg: WorkerMessage): void {
  if (process.connected) process.send!(msg);
}

/** The pool process's template source, as seen from a worker. */
export class RemoteTemplateSource extends EventEmitter implements TemplateSource {
  private template: BlockTemplate | null;
  private nextId = 1;
  private readonly submits = new Map<number, (r: SubmitResult) => void>();

  constructor(readonly kind: "embedded" | "bitcoind", template: BlockTemplate | null) {
    super();
    this.template = template;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  current(): BlockTemplate {
    if (this.template === null) throw new Error("no block template yet");
    return this.template;
  }

  update(template: BlockTemplate, newBlock: boolean): void {
    this.template = template;
    this.emit("template", template, newBlock);
  }

  submitBlock(blockHex: string): Promise<SubmitResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.submits.set(id, resolve);
      send({ t: "submit", id, hex: blockHex });
    });
  }

  submitted(id: number, result: SubmitResult): void {
    this.submits.get(id)?.(result);
    this.submits.delete(id);
  }

  confirmations(): Promise<number> {
    return Promise.reject(new Error("confirmations are the pool process's (not a Stratum worker's)"));
  }
}

/** The pool process's store: shares go in batches, one per event-loop turn; each resolves once stored there. */
export class RemoteShareSink implements ShareSink {
  private batch: { share: AcceptedShare; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly inFlight = new Map<number, { resolve: () => void; reject: (e: Error) => void }[]>();
  private seq = 0;
  private scheduled = false;

  record(share: AcceptedShare): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batch.push({ share, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** The pool process records found blocks itself, from the submission and the share (cluster.ts). */
  recordBlock(): Promise<void> {
    return Promise.resolve();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const seq = ++this.seq;
    this.inFlight.set(seq, batch);
    send({ t: "shares", seq, batch: encodeShares(batch.map((b) => b.share)) });
  }

  stored(seq: number, errors: (string | null)[]): void {
    const batch = this.inFlight.get(seq);
    if (!batch) return;
    this.inFlight.delete(seq);
    batch.forEach((b, i) => (errors[i] === null ? b.resolve() : b.reject(new Error(errors[i]!))));
  }

  /** The pool process is gone: nothing in flight can be stored any more. */
  failAll(reason: string): void {
    for (const batch of this.inFlight.values()) for (const b of batch) b.reject(new Error(reason));
    this.inFlight.clear();
  }
}

function run(): void {
  let server: StratumServer | null = null;
  let source: RemoteTemplateSource | null = null;
  const sink = new RemoteShareSink();
  process.on("disconnect", () => {
    // The pool process ended: nothing can be stored any more.
    sink.failAll("the pool process is gone");
    process.exit(0);
  });
  process.on("message", async (msg: PrimaryMessage) => {
    switch (msg.t) {
      case "init": {
        const log = pino({ level: msg.logLevel }).child({ part: "stratum", worker: msg.index });
        source = new RemoteTemplateSource(msg.sourceKind, msg.template);
        server = new StratumServer({ source, sink, logger: log, config: msg.config, extranoncePartition: { index: msg.index, count: msg.count } });
        try {
          const port = await server.listen();
          const timer = setInterval(() => send({ t: "stats", stats: server!.stats() }), STATS_INTERVAL_MS);
          timer.unref();
          send({ t: "stats", stats: server.stats() });
          send({ t: "ready", port });
        } catch (err) {
          send({ t: "failed", error: (err as Error).message });
          process.exit(1);
        }
        return;
      }
      case "template":
        source?.update(msg.template, msg.newBlock);
        return;
      case "stored":
        sink.stored(msg.seq, msg.errors);
        return;
      case "submitted":
        source?.submitted(msg.id, msg.result);
        return;
      case "close":
        if (server) {
          await server.close(msg.timeoutMs);
          send({ t: "stats", stats: server.stats() });
        }
        process.disconnect();
        return;
      default:
    }
  });
}

if (cluster.isWorker && process.env.POOL_STRATUM_WORKER !== undefined) run();
