import { EventEmitter } from "node:events";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { uint32ToHex } from "../pow";
import { LineFramer, type LineHandler } from "../stratum/framing";
import type { StratumEndpoint } from "./client";
import { WorkUnit } from "./hasher";
import { parseNotify, type MinerJob } from "./job";

export interface LoadOptions {
  endpoint: StratumEndpoint;
  connections: number;
  /** Usernames to spread over the connections (round-robin). */
  users: string[];
  /**
   * "premined": each submit is hashed here first until it meets the job's share target (so it is
   * a real, valid share at the server's difficulty); "random": random nonces, mostly rejected 23.
   */
  mode?: "premined" | "random";
  /** Connections opened at once while ramping up. */
  connectConcurrency?: number;
  /** Stop hashing for one share after this many nonces (premined mode) and send the last one. */
  maxHashesPerShare?: number;
}

export interface LoadResults {
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  /** Submit-to-reply times in ms. */
  latencies: Float64Array;
  /** When each of those submits was written, in ms from the start of the run (same order). */
  sentTimes: Float64Array;
  latencyCount: number;
  clientHashes: number;
  durationMs: number;
}

/** One lightweight connection of the load generator (no promise per request). */
class LoadConnection implements LineHandler {
  readonly framer = new LineFramer(1024 * 1024);
  socket!: net.Socket;
  extranonce1 = Buffer.alloc(0);
  extranonce2Size = 4;
  difficulty = "1";
  job: MinerJob | null = null;
  unit: WorkUnit | null = null;
  authorized = false;
  private nextId = 10;
  readonly sentAt = new Map<number, number>();
  private onReady: (() => void) | null = null;
  private onFail: ((err: Error) => void) | null = null;

  constructor(
    readonly gen: LoadGenerator,
    readonly index: number,
    readonly user: string,
  ) {}

  open(endpoint: StratumEndpoint): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onFail = reject;
      const s = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
      this.socket = s;
      s.on("connect", () => {
        s.write(
          `{"id":1,"method":"mining.subscribe","params":["pplns-load/0.1"]}\n` +
            `{"id":2,"method":"mining.authorize","params":[${JSON.stringify(this.user)},"x"]}\n`,
        );
      });
      s.on("data", (chunk: Buffer) => this.framer.push(chunk, this));
      s.on("error", (err) => this.fail(err));
      s.on("close", () => this.fail(new Error("connection closed")));
    });
  }

  private fail(err: Error): void {
    if (this.onFail) {
      const f = this.onFail;
      this.onFail = this.onReady = null;
      f(err);
    } else if (!this.gen.stopping) {
      this.gen.emit("connectionError", err);
    }
  }

  onLine(line: string): void {
    let msg: { id: number | null; method?: string; params?: unknown[]; result?: unknown; error?: [number, string] | null };
    try {
      msg = JSON.parse(line);
    } catch {
      this.gen.emit("connectionError", new Error(`unparseable line: ${line.slice(0, 100)}`));
      return;
    }
    this.handle(msg);
  }

  private handle(msg: { id: number | null; method?: string; params?: unknown[]; result?: unknown; error?: [number, string] | null }): void {
    if (msg.method !== undefined) {
      if (msg.method === "mining.notify") {
        try {
          this.job = parseNotify(msg.params ?? [], this.difficulty);
        } catch (err) {
          this.gen.emit("connectionError", err);
          return;
        }
        this.unit = null;
        if (this.onReady && this.authorized) {
          const r = this.onReady;
          this.onReady = this.onFail = null;
          r();
        }
      } else if (msg.method === "mining.set_difficulty") {
        this.difficulty = String((msg.params ?? [])[0]);
      }
      return;
    }
    if (msg.id === 1) {
      const r = msg.result as [unknown, string, number];
      this.extranonce1 = Buffer.from(r[1], "hex");
      this.extranonce2Size = r[2];
      return;
    }
    if (msg.id === 2) {
      if (msg.result !== true) this.fail(new Error(`authorize refused: ${JSON.stringify(msg.error)}`));
      this.authorized = true;
      return;
    }
    if (typeof msg.id !== "number") return;
    const t0 = this.sentAt.get(msg.id);
    if (t0 === undefined) return;
    this.sentAt.delete(msg.id);
    this.gen.onReply(t0, msg.result === true, msg.error ?? null);
  }

  /** Builds `n` submits and writes them in one go. */
  submit(n: number, mode: "premined" | "random", maxHashes: number): number {
    const job = this.job;
    if (job === null || this.socket.destroyed) return 0;
    if (this.unit === null || this.unit.job !== job || this.unit.exhausted) {
      // A distinct extranonce2 per connection and job; the nonce then counts up.
      const en2 = Buffer.alloc(this.extranonce2Size);
      en2.writeUInt32LE((this.index + this.gen.en2Salt) >>> 0, 0);
      this.unit = new WorkUnit(job, this.extranonce1, en2, job.version, null);
    }
    const unit = this.unit;
    const en2Hex = unit.extranonce2.toString("hex");
    const ntimeHex = uint32ToHex(job.ntime);
    let out = "";
    const firstId = this.nextId;
    let hashed = 0;
    for (let i = 0; i < n; i++) {
      let nonce: number;
      if (mode === "premined") {
        nonce = unit.nextNonce;
        for (let k = 0; k < maxHashes; k++) {
          nonce = unit.nextNonce;
          hashed++;
          if (unit.scan(1, job.shareTarget).length > 0) break;
        }
      } else {
        nonce = randomBytes(4).readUInt32LE(0);
      }
      const id = this.nextId++;
      out += `{"id":${id},"method":"mining.submit","params":[${JSON.stringify(this.user)},"${job.id}","${en2Hex}","${ntimeHex}","${uint32ToHex(nonce)}"]}\n`;
    }
    // Latency is measured from the write, not from before the pre-mining above.
    const now = performance.now();
    for (let id = firstId; id < this.nextId; id++) this.sentAt.set(id, now);
    this.socket.write(out);
    return hashed;
  }
}

/**
 * Many Stratum connections from one process, each submitting shares at a set total rate.
 * Used by bench/stratum.ts and the load tests.
 */
export class LoadGenerator extends EventEmitter {
  readonly conns: LoadConnection[] = [];
  stopping = false;
  readonly en2Salt = randomBytes(4).readUInt32LE(0);
  private sent = 0;
  private accepted = 0;
  private readonly rejected: Record<string, number> = {};
  private latencies = new Float64Array(1 << 16);
  private sentTimes = new Float64Array(1 << 16);
  private latencyCount = 0;
  private runStart = 0;
  private clientHashes = 0;
  private lastReplyAt = 0;
  private readonly mode: "premined" | "random";

  constructor(readonly opts: LoadOptions) {
    super();
    this.mode = opts.mode ?? "premined";
    if (opts.users.length === 0) throw new Error("load: at least one user");
  }

  /** Opens every connection; resolves when all are authorized and have a job. */
  async connect(): Promise<void> {
    const concurrency = this.opts.connectConcurrency ?? 200;
    let next = 0;
    const worker = async () => {
      while (next < this.opts.connections) {
        const i = next++;
        const c = new LoadConnection(this, i, this.opts.users[i % this.opts.users.length]);
        this.conns.push(c);
        await c.open(this.opts.endpoint);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.opts.connections) }, worker));
  }

  onReply(sentAt: number, ok: boolean, error: [number, string] | null): void {
    const now = performance.now();
    this.lastReplyAt = now;
    if (ok) this.accepted++;
    else {
      const key = error ? `${error[0]} ${error[1]}` : "false";
      this.rejected[key] = (this.rejected[key] ?? 0) + 1;
    }
    if (this.latencyCount === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
      const biggerSent = new Float64Array(this.sentTimes.length * 2);
      biggerSent.set(this.sentTimes);
      this.sentTimes = biggerSent;
    }
    this.sentTimes[this.latencyCount] = sentAt - this.runStart;
    this.latencies[this.latencyCount++] = now - sentAt;
  }

  /**
   * Submits at `sharesPerSecond` in total for `durationMs`, in ticks of `tickMs` (each connection
   * sends its share of a tick in one write), then waits up to `drainMs` for the last replies.
   */
  async run(sharesPerSecond: number, durationMs: number, tickMs = 20, drainMs = 5000): Promise<LoadResults> {
    this.sent = this.accepted = this.latencyCount = this.clientHashes = 0;
    for (const k of Object.keys(this.rejected)) delete this.rejected[k];
    const start = performance.now();
    this.runStart = start;
    const maxHashes = this.opts.maxHashesPerShare ?? 1_000_000;
    let rr = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const elapsed = performance.now() - start;
        const due = Math.min(Math.floor((sharesPerSecond * Math.min(elapsed, durationMs)) / 1000), Number.MAX_SAFE_INTEGER) - this.sent;
        if (due > 0) {
          const n = this.conns.length;
          const per = Math.floor(due / n);
          let extra = due - per * n;
          for (let k = 0; k < n; k++) {
            const c = this.conns[(rr + k) % n];
            const m = per + (extra > 0 ? 1 : 0);
            if (extra > 0) extra--;
            if (m === 0) continue;
            this.clientHashes += c.submit(m, this.mode, maxHashes);
            this.sent += m;
          }
          rr = (rr + due) % n;
        }
        if (elapsed >= durationMs) resolve();
        else setTimeout(tick, tickMs);
      };
      tick();
    });
    const sendEnd = performance.now();
    const drainUntil = sendEnd + drainMs;
    while (this.accepted + this.rejectedCount() < this.sent && performance.now() < drainUntil) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return {
      sent: this.sent,
      accepted: this.accepted,
      rejected: { ...this.rejected },
      latencies: this.latencies.subarray(0, this.latencyCount),
      sentTimes: this.sentTimes.subarray(0, this.latencyCount),
      latencyCount: this.latencyCount,
      clientHashes: this.clientHashes,
      // From the first submit to the last reply: the window the accepted count was achieved in.
      durationMs: Math.max(sendEnd, this.lastReplyAt) - start,
    };
  }

  private rejectedCount(): number {
    let n = 0;
    for (const v of Object.values(this.rejected)) n += v;
    return n;
  }

  close(): void {
    this.stopping = true;
    for (const c of this.conns) c.socket?.destroy();
  }
}

/** p-th percentile (0..100) of the first n values. */
export function percentile(values: Float64Array, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
