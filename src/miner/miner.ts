import { EventEmitter } from "node:events";
import { setImmediate as yieldLoop, setTimeout as sleep } from "node:timers/promises";
import { hashToDisplayHex, uint32ToHex } from "../pow";
import { parseStratumUrl, StratumClient, type StratumEndpoint } from "./client";
import { WorkUnit, type FoundNonce } from "./hasher";
import { parseNotify, type MinerJob } from "./job";

export interface MinerOptions {
  /** stratum+tcp://host:port */
  url?: string;
  endpoint?: StratumEndpoint;
  /** 0xADDRESS[.worker] */
  user: string;
  password?: string;
  userAgent?: string;
  /** Negotiate BIP310 version rolling and roll version bits (default true). */
  versionRolling?: boolean;
  /** Cap on hashes per second (tests run miners of different speeds); default unlimited. */
  maxHashrate?: number;
  /** Nonces hashed between yields to the event loop (default 4096). */
  chunkSize?: number;
  /** Reconnect after client.reconnect or a dropped connection (default true). */
  reconnect?: boolean;
  /** Difficulty to ask for with mining.suggest_difficulty after authorize. */
  suggestDifficulty?: number;
}

export interface ShareResult {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits: string | null;
  /** Display hex of the share's hash. */
  hash: string;
  difficulty: string;
  /** True when the hash also met the network target. */
  block: boolean;
  accepted: boolean;
  error: [number, string, unknown] | null;
  latencyMs: number;
}

/**
 * Our own Stratum V1 miner: connects, configures version rolling, subscribes, authorizes and
 * hashes jobs on the CPU in chunks, yielding to the event loop between them.
 * Events: "job" (MinerJob), "difficulty" (string), "share" (ShareResult, when the reply comes),
 * "accepted" / "rejected" (ShareResult), "block" (ShareResult, for a block-meeting hash),
 * "connected", "disconnected", "reconnect", "protocolError" (Error).
 */
export class Miner extends EventEmitter {
  readonly endpoint: StratumEndpoint;
  client: StratumClient | null = null;
  extranonce1: Buffer = Buffer.alloc(0);
  extranonce1Hex = "";
  extranonce2Size = 4;
  subscriptionId: string | null = null;
  versionMask = 0;
  /** Difficulty from the last set_difficulty; applies from the next notify. */
  difficulty = "1";
  job: MinerJob | null = null;
  hashes = 0;
  accepted = 0;
  rejected = 0;
  readonly rejectedByCode: Record<number, number> = {};
  private running = false;
  private reconnecting = false;
  private unit: WorkUnit | null = null;
  private en2Counter = 0;
  private startedAt = 0;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly opts: Required<Pick<MinerOptions, "versionRolling" | "chunkSize" | "reconnect">> & MinerOptions;

  constructor(opts: MinerOptions) {
    super();
    this.opts = { versionRolling: true, chunkSize: 4096, reconnect: true, ...opts };
    if (opts.endpoint) this.endpoint = opts.endpoint;
    else if (opts.url) this.endpoint = parseStratumUrl(opts.url);
    else throw new Error("miner: url or endpoint required");
  }

  /** Connects and starts hashing; resolves once authorized. */
  async start(): Promise<void> {
    this.running = true;
    this.startedAt = Date.now();
    try {
      await this.connect();
    } catch (err) {
      this.running = false;
      throw err;
    }
    this.loop = this.mine();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.client?.close();
    await this.loop;
  }

  get hashrate(): number {
    const s = (Date.now() - this.startedAt) / 1000;
    return s > 0 ? this.hashes / s : 0;
  }

  private async connect(): Promise<void> {
    const client = new StratumClient(this.endpoint);
    client.on("notification", (method: string, params: unknown[]) => this.onNotification(method, params));
    client.on("protocolError", (err: Error) => this.emit("protocolError", err));
    client.on("socketError", (err: Error) => this.emit("protocolError", err));
    await client.connect();
    this.client = client;
    client.once("close", () => this.onClose(client));
    try {
      await this.handshake(client);
    } catch (err) {
      client.destroy();
      throw err;
    }
    this.emit("connected");
  }

  private async handshake(client: StratumClient): Promise<void> {
    const agent = this.opts.userAgent ?? "pplns-miner/0.1";
    if (this.opts.versionRolling) {
      const r = await client.request("mining.configure", [
        ["version-rolling"],
        { "version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2 },
      ]);
      const res = r.result as Record<string, unknown> | null;
      if (res && res["version-rolling"] === true && typeof res["version-rolling.mask"] === "string") {
        this.versionMask = parseInt(res["version-rolling.mask"] as string, 16) >>> 0;
      }
    }
    const sub = await client.request("mining.subscribe", this.subscriptionId ? [agent, this.subscriptionId] : [agent]);
    if (sub.error || !Array.isArray(sub.result)) throw new Error(`subscribe failed: ${JSON.stringify(sub.error)}`);
    const [subs, en1, en2Size] = sub.result as [unknown, string, number];
    this.extranonce1Hex = en1;
    this.extranonce1 = Buffer.from(en1, "hex");
    this.extranonce2Size = en2Size;
    if (Array.isArray(subs) && Array.isArray(subs[0]) && typeof subs[0][1] === "string") this.subscriptionId = subs[0][1];
    const auth = await client.request("mining.authorize", [this.opts.user, this.opts.password ?? "x"]);
    if (auth.result !== true) throw new Error(`authorize refused: ${auth.error ? auth.error[1] : "result false"}`);
    if (this.opts.suggestDifficulty !== undefined) await client.request("mining.suggest_difficulty", [this.opts.suggestDifficulty]);
  }

  private onNotification(method: string, params: unknown[]): void {
    switch (method) {
      case "mining.set_difficulty": {
        const d = params[0];
        if (typeof d === "number" && d > 0) {
          // Keep the server's exact decimal text: JSON.stringify(number) round-trips what it sent.
          this.difficulty = String(d);
          this.emit("difficulty", this.difficulty);
        }
        break;
      }
      case "mining.notify": {
        let job: MinerJob;
        try {
          job = parseNotify(params, this.difficulty);
        } catch (err) {
          this.emit("protocolError", err);
          return;
        }
        this.job = job;
        this.unit = null;
        this.en2Counter = 0;
        this.emit("job", job);
        this.wake?.();
        break;
      }
      case "mining.set_version_mask":
        if (typeof params[0] === "string" && /^[0-9a-fA-F]{1,8}$/.test(params[0])) {
          this.versionMask = parseInt(params[0], 16) >>> 0;
          this.unit = null;
        }
        break;
      case "client.reconnect":
        this.emit("reconnect", params);
        this.client?.close();
        break;
      default:
        break;
    }
  }

  private onClose(client: StratumClient): void {
    if (this.client !== client) return;
    this.client = null;
    this.job = null;
    this.unit = null;
    this.emit("disconnected");
    if (this.running && this.opts.reconnect && !this.reconnecting) void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    this.reconnecting = true;
    let delay = 200;
    try {
      while (this.running && this.client === null) {
        await sleep(delay);
        if (!this.running) return;
        try {
          await this.connect();
          this.wake?.();
          return;
        } catch (err) {
          this.client = null;
          this.emit("protocolError", err);
          delay = Math.min(delay * 2, 10_000);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  private nextUnit(job: MinerJob): WorkUnit {
    const en2 = Buffer.alloc(this.extranonce2Size);
    // extranonce2 is counted as a little-endian integer, as miners do.
    let c = this.en2Counter++;
    for (let i = 0; i < en2.length && c > 0; i++, c = Math.floor(c / 256)) en2[i] = c & 0xff;
    let version = job.version;
    let bits: number | null = null;
    if (this.opts.versionRolling && this.versionMask !== 0) {
      bits = (Math.floor(Math.random() * 0x100000000) & this.versionMask) >>> 0;
      version = ((job.version & ~this.versionMask) | bits) >>> 0;
    }
    return new WorkUnit(job, this.extranonce1, en2, version, bits);
  }

  private async mine(): Promise<void> {
    const started = Date.now();
    let hashed = 0;
    while (this.running) {
      const job = this.job;
      if (job === null || this.client === null) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 500).unref();
        });
        this.wake = null;
        continue;
      }
      if (this.unit === null || this.unit.job !== job || this.unit.exhausted) this.unit = this.nextUnit(job);
      const unit = this.unit;
      let count = this.opts.chunkSize;
      if (this.opts.maxHashrate) count = Math.max(1, Math.min(count, Math.floor(this.opts.maxHashrate / 20)));
      const found = unit.scan(count, job.shareTarget < job.networkTarget ? job.networkTarget : job.shareTarget);
      this.hashes += count;
      hashed += count;
      for (const f of found) this.submit(job, unit, f);
      if (this.opts.maxHashrate) {
        const ahead = (hashed / this.opts.maxHashrate) * 1000 - (Date.now() - started);
        if (ahead > 0) {
          await sleep(ahead);
          continue;
        }
      }
      await yieldLoop();
    }
  }

  private submit(job: MinerJob, unit: WorkUnit, f: FoundNonce): void {
    const client = this.client;
    if (client === null) return;
    const block = f.hashValue <= job.networkTarget;
    const params: unknown[] = [this.opts.user, job.id, unit.extranonce2.toString("hex"), uint32ToHex(job.ntime), uint32ToHex(f.nonce)];
    if (unit.versionBits !== null) params.push(uint32ToHex(unit.versionBits));
    const sent = Date.now();
    const base = {
      jobId: job.id,
      extranonce2: params[2] as string,
      ntime: params[3] as string,
      nonce: params[4] as string,
      versionBits: unit.versionBits === null ? null : uint32ToHex(unit.versionBits),
      hash: hashToDisplayHex(f.hash),
      difficulty: job.difficulty,
      block,
    };
    client.request("mining.submit", params).then(
      (r) => {
        const result: ShareResult = { ...base, accepted: r.result === true, error: r.error, latencyMs: Date.now() - sent };
        if (result.accepted) this.accepted++;
        else {
          this.rejected++;
          const code = r.error ? r.error[0] : 0;
          this.rejectedByCode[code] = (this.rejectedByCode[code] ?? 0) + 1;
        }
        this.emit("share", result);
        this.emit(result.accepted ? "accepted" : "rejected", result);
        if (block) this.emit("block", result);
      },
      (err: Error) => this.emit("protocolError", err),
    );
  }
}
