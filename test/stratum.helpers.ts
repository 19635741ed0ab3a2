/** Shared fixtures for the Stratum tests: a real pool on 127.0.0.1:0 and a line-recording client. */
import pino from "pino";
import { EmbeddedChain, type EmbeddedChainOptions } from "../src/chain";
import { StratumClient, type RpcReply } from "../src/miner/client";
import { WorkUnit } from "../src/miner/hasher";
import { parseNotify } from "../src/miner/job";
import { uint32ToHex } from "../src/pow";
import type { StratumConfigInput } from "../src/stratum/config";
import { MemoryShareSink } from "../src/stratum/memory-sink";
import { StratumServer } from "../src/stratum/server";

export const ADDR1 = "0x52908400098527886E0F7030069857D2E4169EE7"; // EIP-55 test vector
export const ADDR2 = "0x8617E340B3D01FA5F11F306F4090FD50E238070D";
export const ADDR3 = "0xde709f2102306220921060314715629080e2fb77";

export interface Pool {
  chain: EmbeddedChain;
  sink: MemoryShareSink;
  server: StratumServer;
  port: number;
  close(): Promise<void>;
}

/** Embedded chain (hard network target unless asked) + in-memory sink + server on a free port. */
export async function startPool(config: StratumConfigInput = {}, chainOpts: EmbeddedChainOptions = {}, logger = pino({ level: "silent" })): Promise<Pool> {
  const chain = new EmbeddedChain({ bits: "1d00ffff", syntheticTxs: 3, ...chainOpts });
  await chain.start();
  const sink = new MemoryShareSink();
  const server = new StratumServer({
    source: chain,
    sink,
    logger,
    config: { port: 0, startDifficulty: "0.00002", minDifficulty: "0.00001", bans: { enabled: false }, ...config },
  });
  const port = await server.listen();
  return {
    chain,
    sink,
    server,
    port,
    async close() {
      await server.close(500);
      await chain.stop();
    },
  };
}

export interface Notification {
  method: string;
  params: unknown[];
}

/** A StratumClient that keeps every line and notification it received, in order. */
export class TestClient extends StratumClient {
  readonly lines: string[] = [];
  readonly notes: Notification[] = [];
  private waiters: { pred: (n: Notification) => boolean; resolve: (n: Notification) => void }[] = [];

  constructor(port: number) {
    super({ host: "127.0.0.1", port }, 10_000);
    this.on("line", (l: string) => this.lines.push(l));
    this.on("notification", (method: string, params: unknown[]) => {
      const n = { method, params };
      this.notes.push(n);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(n)) return true;
        w.resolve(n);
        return false;
      });
    });
  }

  static async open(port: number): Promise<TestClient> {
    const c = new TestClient(port);
    await c.connect();
    return c;
  }

  /** The next notification (after those already received) matching `method`. */
  next(method: string, timeoutMs = 5000, pred: (n: Notification) => boolean = () => true): Promise<Notification> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        pred: (n) => n.method === method && pred(n),
        resolve: (n) => {
          clearTimeout(timer);
          resolve(n);
        },
      });
    });
  }

  lastNotify(): Notification | undefined {
    return [...this.notes].reverse().find((n) => n.method === "mining.notify");
  }

  closedPromise(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.once("close", () => r()));
  }
}

export interface Handshake {
  client: TestClient;
  extranonce1: string;
  extranonce2Size: number;
  subscriptionId: string;
  difficulty: string;
  notify: Notification;
}

/** Connects, (optionally configures), subscribes and authorizes; waits for the first job. */
export async function handshake(port: number, user = `${ADDR1}.rig1`, configure?: unknown[]): Promise<Handshake> {
  const client = await TestClient.open(port);
  if (configure) await client.request("mining.configure", configure);
  const sub = await client.request("mining.subscribe", ["test/1.0"]);
  const [subs, extranonce1, extranonce2Size] = sub.result as [[string, string][], string, number];
  const firstNotify = client.next("mining.notify");
  const firstDiff = client.next("mining.set_difficulty");
  const auth = await client.request("mining.authorize", [user, "x"]);
  if (auth.result !== true) throw new Error(`authorize failed: ${JSON.stringify(auth.error)}`);
  const diff = await firstDiff;
  const notify = await firstNotify;
  return { client, extranonce1, extranonce2Size, subscriptionId: subs[0][1], difficulty: String(diff.params[0]), notify };
}

export interface MinedShare {
  params: string[];
  hash: Buffer;
  hashValue: bigint;
  version: number;
}

/**
 * Hashes nonces of a notify's job until `accept(hashValue)` holds (e.g. meets a target, or misses
 * one), and returns mining.submit params for it.
 */
export function mine(
  user: string,
  notify: Notification,
  extranonce1: string,
  extranonce2: string,
  accept: (v: bigint) => boolean,
  opts: { versionBits?: number; mask?: number; startNonce?: number; maxHashes?: number } = {},
): MinedShare {
  const job = parseNotify(notify.params, "1");
  const version =
    opts.versionBits === undefined ? job.version : ((job.version & ~(opts.mask ?? 0)) | (opts.versionBits & (opts.mask ?? 0))) >>> 0;
  const unit = new WorkUnit(job, Buffer.from(extranonce1, "hex"), Buffer.from(extranonce2, "hex"), version, opts.versionBits ?? null);
  unit.nextNonce = opts.startNonce ?? 0;
  const max = opts.maxHashes ?? 20_000_000;
  for (let i = 0; i < max; i++) {
    const nonce = unit.nextNonce;
    const [f] = unit.scan(1, (1n << 256n) - 1n);
    if (accept(f.hashValue)) {
      const params = [user, job.id, extranonce2, uint32ToHex(job.ntime), uint32ToHex(nonce)];
      if (opts.versionBits !== undefined) params.push(uint32ToHex(opts.versionBits));
      return { params, hash: f.hash, hashValue: f.hashValue, version };
    }
  }
  throw new Error("mine: nothing found");
}

export function submit(client: StratumClient, params: unknown[]): Promise<RpcReply> {
  return client.request("mining.submit", params);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until true or the timeout. */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
