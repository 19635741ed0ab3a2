/**
 * Stratum on every core (issue 15): `processes` worker processes (node:cluster) share the listening
 * port, each running a StratumServer of its own (sessions, vardiff, share checks and hashing), while
 * this process keeps the one template source and the one store writer.
 *
 * - Work: every template the source emits is forwarded to every worker at once.
 * - Shares: a worker sends the shares it accepted in batches (one message per event-loop turn);
 *   they are written here through the store's group commit, and the worker answers its miners only
 *   when this process says they are stored (the ShareSink rule, unchanged).
 * - Blocks: a worker submits a found block through this process's source, and this process records
 *   the block itself once it has both the submission's outcome and the share (which comes in the
 *   next batch): a worker that dies meanwhile loses no block record.
 * - Uniqueness: each worker hands out only its own residue class of extranonce1 values
 *   (ExtranonceAllocator's partition), so a header (which commits to the extranonce1 through the
 *   coinbase) can only ever be valid on one worker: each worker's duplicate filter is complete.
 * - A worker that dies is replaced; its miners reconnect. Shares it had sent are stored; those it
 *   had not sent were never acknowledged. The replacement's pool tag carries "~<n>" so that its
 *   coinbases, and so its headers, differ from the dead worker's (same extranonce1 values).
 * maxConnections and limits.maxConnectionsPerAddress are split evenly between the workers
 * (connections are handed out in turn); bans and rate limits are each worker's own, so an abuser
 * is closed by each worker it reaches.
 *
 * Emits "share" (AcceptedShare) once stored and "block" (FoundBlock, AcceptedShare), as
 * StratumServer does; `stats()` sums the workers' latest snapshots (sent every second).
 */
import cluster, { type Worker } from "node:cluster";
import { EventEmitter } from "node:events";
import path from "node:path";
import type { Logger } from "pino";
import type { BlockTemplate, TemplateSource } from "../chain/types";
import { DEFAULT_STRATUM_CONFIG, type StratumConfigInput } from "./config";
import type { AcceptedShare, FoundBlock, ShareSink } from "./events";
import type { StratumStats } from "./metrics";
import { hashToDisplayHex, parseTransaction, sha256d } from "../pow";
import type { SubmitResult } from "../chain/types";
import { decodeShares, type PrimaryMessage, type WorkerMessage } from "./cluster-protocol";

export interface StratumClusterOptions {
  source: TemplateSource;
  sink: ShareSink;
  config: StratumConfigInput;
  /** Worker processes (≥ 1). */
  processes: number;
  logger: Logger;
}

const WORKER_FILE = path.join(__dirname, "cluster-worker");
/** Least time between two starts of one worker's place. */
const RESTART_DELAY_MS = 1000;

export class StratumCluster extends EventEmitter {
  private readonly workers = new Map<Worker, { index: number; ready: boolean; stats: StratumStats | null }>();
  /** Found blocks by display hash: the submission's outcome and the share, whichever came first. */
  private readonly blockSubmits = new Map<string, SubmitResult>();
  private readonly blockShares = new Map<string, AcceptedShare>();
  /** Workers started per index: a replacement's coinbases differ from those of the one it replaces. */
  private readonly starts = new Map<number, number>();
  private readonly startedAt = new Map<number, number>();
  private readonly log: Logger;
  private closing = false;
  private boundPort = 0;
  private readonly onTemplate = (template: BlockTemplate, newBlock: boolean) => this.broadcast({ t: "template", template, newBlock });

  constructor(private readonly opts: StratumClusterOptions) {
    super();
    if (!Number.isInteger(opts.processes) || opts.processes < 1) throw new RangeError(`stratum processes must be a whole number ≥ 1, got ${opts.processes}`);
    this.log = opts.logger;
  }

  /** Worker processes listening now. */
  get listening(): number {
    return [...this.workers.values()].filter((w) => w.ready).length;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Forks the workers; resolves with the port once every one listens on it. */
  async listen(): Promise<number> {
    const ts = __filename.endsWith(".ts");
    cluster.setupPrimary({
      exec: WORKER_FILE + (ts ? ".ts" : ".js"),
      execArgv: ["--max-semi-space-size=64", ...(ts ? ["-r", require.resolve("ts-node/register/transpile-only")] : [])],
      serialization: "advanced",
    });
    this.opts.source.on("template", this.onTemplate);
    // Every worker asks for the configured address (port 0 included): node:cluster gives them all
    // the one listening socket it keeps for that address.
    let port: number;
    try {
      port = await this.fork(0);
      for (let i = 1; i < this.opts.processes; i++) await this.fork(i);
    } catch (err) {
      // Those already started must not outlive a failed start (they would keep the process alive).
      await this.close(500);
      throw err;
    }
    this.boundPort = port;
    this.log.info({ processes: this.opts.processes, port }, "stratum listening on every worker process");
    return port;
  }

  private fork(index: number): Promise<number> {
    const start = this.starts.get(index) ?? 0;
    this.starts.set(index, start + 1);
    this.startedAt.set(index, Date.now());
    const worker = cluster.fork({ TS_NODE_PROJECT: path.join(__dirname, "..", "..", "tsconfig.json"), POOL_STRATUM_WORKER: String(index) });
    const entry = { index, ready: false, stats: null as StratumStats | null };
    this.workers.set(worker, entry);
    // The template at "online", not at fork: one emitted meanwhile would otherwise be skipped.
    const init = (): PrimaryMessage => {
      let template: BlockTemplate | null = null;
      try {
        template = this.opts.source.current();
      } catch {
        template = null; // the worker gets the first template when the source emits it
      }
      return { t: "init", index, count: this.opts.processes, config: this.workerConfig(start), template, sourceKind: this.opts.source.kind, logLevel: this.log.level };
    };
    worker.on("message", (msg: WorkerMessage) => {
      try {
        this.onMessage(worker, msg);
      } catch (err) {
        // Only a broken worker sends what cannot be read: end it (it is replaced), never this process.
        this.log.error({ err: (err as Error).message, worker: index }, "unreadable message from a stratum worker; ending it");
        worker.process.kill("SIGKILL");
      }
    });
    // A message to a worker that just died, or a failed spawn: logged, never thrown in this process.
    worker.on("error", (err) => this.log.warn({ err: err.message, worker: index }, "stratum worker process error"));
    worker.on("exit", (code, signal) => {
      this.workers.delete(worker);
      if (this.closing || (!entry.ready && this.boundPort === 0)) return; // a failed first start: listen() says why
      this.restart(index, code, signal);
    });
    return new Promise<number>((resolve, reject) => {
      const onReady = (msg: WorkerMessage) => {
        if (msg.t === "ready") {
          worker.off("message", onReady);
          worker.off("exit", onExit);
          entry.ready = true;
          resolve(msg.port);
        } else if (msg.t === "failed") {
          worker.off("message", onReady);
          worker.off("exit", onExit);
          reject(new Error(`stratum worker ${index} did not start: ${msg.error}`));
        }
      };
      const onExit = (code: number) => reject(new Error(`stratum worker ${index} exited (code ${code}) before listening`));
      worker.on("message", onReady);
      worker.once("exit", onExit);
      worker.once("online", () => this.send(worker, init()));
    });
  }

  /**
   * Starts another worker in the place of one that ended, at once, or after RESTART_DELAY_MS when
   * that place was last started less than that ago (a worker that dies at start does not loop
   * hot); a start that fails is tried again the same way.
   */
  private restart(index: number, code: number | null, signal: string | null): void {
    const since = Date.now() - (this.startedAt.get(index) ?? 0);
    const delay = since < RESTART_DELAY_MS ? RESTART_DELAY_MS : 0;
    this.log.error({ worker: index, code, signal, restartInMs: delay }, "stratum worker process ended; starting another");
    setTimeout(() => {
      if (this.closing) return;
      this.fork(index).catch((err) => this.log.error({ err: (err as Error).message, worker: index }, "stratum worker could not be restarted"));
    }, delay).unref();
  }

  /**
   * The settings each worker runs with: the connection caps split between the workers (node:cluster
   * hands connections out in turn, so each sees about 1/processes of every address's).
   */
  private workerConfig(start: number): StratumConfigInput {
    const c = { ...this.opts.config };
    // A replacement hands out the same extranonce1 values as the worker it replaces, with an empty
    // duplicate filter: "~<start>" in its pool tag gives its jobs other coinbases, so no header the
    // dead worker accepted can be valid again.
    if (start > 0) c.poolTag = `${c.poolTag ?? DEFAULT_STRATUM_CONFIG.poolTag}~${start}`;
    const n = this.opts.processes;
    const split = (v: number | undefined) => (v === undefined ? undefined : Math.max(1, Math.ceil(v / n)));
    const limits = c.limits ? { ...c.limits, ...(c.limits.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: split(c.limits.maxConnectionsPerAddress) } : {}) } : undefined;
    return { ...c, ...(c.maxConnections !== undefined ? { maxConnections: split(c.maxConnections) } : {}), ...(limits ? { limits } : {}) };
  }

  private onMessage(worker: Worker, msg: WorkerMessage): void {
    switch (msg.t) {
      case "shares":
        this.storeShares(worker, msg.seq, decodeShares(msg.batch));
        return;
      case "submit": {
        const hash = hashToDisplayHex(sha256d(Buffer.from(msg.hex.slice(0, 160), "hex")));
        const settle = (result: SubmitResult) => {
          this.send(worker, { t: "submitted", id: msg.id, result });
          this.blockSubmits.set(hash, result);
          this.recordBlockWhenKnown(hash);
        };
        let submitted: Promise<SubmitResult>;
        try {
          submitted = this.opts.source.submitBlock(msg.hex);
        } catch (err) {
          submitted = Promise.reject(err);
        }
        submitted.then(settle, (err: Error) => settle({ accepted: false, reason: err.message }));
        return;
      }
      case "stats": {
        const w = this.workers.get(worker);
        if (w) w.stats = msg.stats;
        return;
      }
      default:
    }
  }

  /** Writes a worker's batch through the store (group commit) and tells it which were stored. */
  private storeShares(worker: Worker, seq: number, shares: AcceptedShare[]): void {
    const errors: (string | null)[] = new Array(shares.length).fill(null);
    let left = shares.length;
    const done = () => {
      if (--left === 0) this.send(worker, { t: "stored", seq, errors });
    };
    shares.forEach((share, i) => {
      let p: Promise<void>;
      try {
        p = this.opts.sink.record(share);
      } catch (err) {
        p = Promise.reject(err);
      }
      if (share.isBlock) {
        // After the share's own record is queued: the block record, queued behind it, then finds
        // the share row instead of inserting it first (and the share then again: credited twice).
        // It is recorded whatever becomes of the share row (recordBlock stores the share too).
        this.blockShares.set(share.hash, share);
        this.recordBlockWhenKnown(share.hash);
      }
      p.then(
        () => {
          this.safeEmit("share", share);
          done();
        },
        (err: unknown) => {
          errors[i] = err instanceof Error ? err.message : String(err);
          done();
        },
      );
    });
  }

  /**
   * Stores the block record (as StratumServer.finishBlock does) once the submission's outcome and
   * the share are both here. The reward is the coinbase's outputs (the template's coinbase value).
   */
  private recordBlockWhenKnown(hash: string): void {
    const result = this.blockSubmits.get(hash);
    const share = this.blockShares.get(hash);
    if (result === undefined || share === undefined) return;
    this.blockSubmits.delete(hash);
    this.blockShares.delete(hash);
    let reward = "0";
    try {
      const coinbase = parseTransaction(share.coinb1 + share.extranonce1 + share.extranonce2 + share.coinb2);
      reward = coinbase.outputs.reduce((sum, o) => sum + o.value, 0n).toString();
    } catch (err) {
      this.log.error({ err: (err as Error).message, hash }, "found block: coinbase unreadable; reward recorded as 0");
    }
    const found: FoundBlock = { height: share.height, hash, reward, address: share.address, worker: share.worker, submitted: result.accepted, submitError: result.accepted ? undefined : result.reason, time: share.time };
    this.log.info({ height: found.height, hash, address: found.address, submitted: found.submitted, error: found.submitError }, "block found");
    const stored = this.opts.sink.recordBlock ? this.opts.sink.recordBlock(found, share) : Promise.resolve();
    stored.then(
      () => this.safeEmit("block", found, share),
      (err: Error) => this.log.error({ err, hash }, "found block not stored"),
    );
  }

  private send(worker: Worker, msg: PrimaryMessage): void {
    if (!worker.isConnected()) return;
    worker.send(msg, (err: Error | null) => {
      if (err && !this.closing) this.log.warn({ err: err.message }, "stratum worker message not delivered");
    });
  }

  private broadcast(msg: PrimaryMessage): void {
    for (const w of this.workers.keys()) this.send(w, msg);
  }

  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, "stratum event listener threw");
    }
  }

  /** The workers' latest counters, summed (each sends a snapshot every second). */
  stats(): StratumStats {
    const all = [...this.workers.values()].map((w) => w.stats).filter((s): s is StratumStats => s !== null);
    return sumStats(all);
  }

  /** Each worker sends client.reconnect to its miners and closes; ended after `timeoutMs` + 2 s. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.opts.source.off("template", this.onTemplate);
    const exits = [...this.workers.keys()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          const timer = setTimeout(() => w.kill("SIGKILL"), timeoutMs + 2000);
          w.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          this.send(w, { t: "close", timeoutMs });
        }),
    );
    await Promise.all(exits);
    this.log.info("stratum worker processes stopped");
  }
}

/** Counters added up; records added key by key; the window is every worker's. */
export function sumStats(all: StratumStats[]): StratumStats {
  const out: StratumStats = {
    connections: 0, subscribed: 0, authorized: 0, totalConnections: 0, accepted: 0, acceptedDifficulty: 0,
    rejected: {}, rejectedTotal: 0, blocks: 0, blocksSubmitFailed: 0, sinkErrors: 0, strikes: 0, bans: 0,
    addressBans: 0, droppedMessages: 0, refused: {}, connectionCap: 0, disconnects: {}, hashrate: {},
    hashrateWindowSeconds: all[0]?.hashrateWindowSeconds ?? 0,
  };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (const s of all) {
    for (const k of ["connections", "subscribed", "authorized", "totalConnections", "accepted", "acceptedDifficulty", "rejectedTotal", "blocks", "blocksSubmitFailed", "sinkErrors", "strikes", "bans", "addressBans", "droppedMessages", "connectionCap"] as const) {
      out[k] += s[k];
    }
    add(out.rejected, s.rejected);
    add(out.refused, s.refused);
    add(out.disconnects, s.disconnects);
    add(out.hashrate, s.hashrate);
  }
  return out;
}
