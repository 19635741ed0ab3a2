import { EventEmitter } from "node:events";
import { silentLogger, type ChainLogger } from "./logger";
import { BitcoindRpc, RpcAuthError, RpcError, RpcTransportError, type RpcOptions } from "./rpc";
import type { BlockTemplate, SubmitResult, TemplateSource, TemplateTransaction } from "./types";

export interface BitcoindSourceOptions extends RpcOptions {
  /** getbestblockhash polling interval (default 1 000 ms). */
  pollIntervalMs?: number;
  /** A fresh getblocktemplate at least this often without a new block (default 30 000 ms). */
  refreshIntervalMs?: number;
  /** First retry delay when the node is unreachable; doubles up to retryMaxMs (defaults 500 / 30 000 ms). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** start() gives up after this long without a first template; 0 = keep trying (default). */
  startTimeoutMs?: number;
  logger?: ChainLogger;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

interface RawTemplate {
  height: unknown;
  previousblockhash: unknown;
  version: unknown;
  bits: unknown;
  curtime: unknown;
  mintime?: unknown;
  coinbasevalue: unknown;
  transactions: unknown;
  default_witness_commitment?: unknown;
}

/** getblocktemplate result -> BlockTemplate, with a clear error for anything malformed. */
export function mapBlockTemplate(raw: RawTemplate, id: string): BlockTemplate {
  const fail = (what: string): never => {
    throw new RpcTransportError(`getblocktemplate: malformed result (${what})`);
  };
  if (!raw || typeof raw !== "object") fail("not an object");
  if (!Number.isSafeInteger(raw.height) || (raw.height as number) < 1) fail("height");
  if (typeof raw.previousblockhash !== "string" || !HEX64.test(raw.previousblockhash)) fail("previousblockhash");
  if (!Number.isSafeInteger(raw.version)) fail("version");
  if (typeof raw.bits !== "string" || !/^[0-9a-fA-F]{8}$/.test(raw.bits)) fail("bits");
  if (!Number.isSafeInteger(raw.curtime)) fail("curtime");
  if (!Number.isSafeInteger(raw.coinbasevalue) || (raw.coinbasevalue as number) < 0) fail("coinbasevalue");
  if (!Array.isArray(raw.transactions)) fail("transactions");
  const transactions: TemplateTransaction[] = (raw.transactions as Record<string, unknown>[]).map((t, i) => {
    if (!t || typeof t.data !== "string" || !HEX.test(t.data)) fail(`transactions[${i}].data`);
    if (typeof t.txid !== "string" || !HEX64.test(t.txid)) fail(`transactions[${i}].txid`);
    const hash = t.hash === undefined ? t.txid : t.hash;
    if (typeof hash !== "string" || !HEX64.test(hash)) fail(`transactions[${i}].hash`);
    if (t.fee !== undefined && !Number.isSafeInteger(t.fee)) fail(`transactions[${i}].fee`);
    return {
      data: (t.data as string).toLowerCase(),
      txid: (t.txid as string).toLowerCase(),
      hash: (hash as string).toLowerCase(),
      fee: BigInt((t.fee as number | undefined) ?? 0),
    };
  });
  const dwc = raw.default_witness_commitment;
  if (dwc !== undefined && (typeof dwc !== "string" || !HEX.test(dwc))) fail("default_witness_commitment");
  const curtime = raw.curtime as number;
  return {
    height: raw.height as number,
    previousBlockHash: (raw.previousblockhash as string).toLowerCase(),
    version: (raw.version as number) >>> 0,
    bits: (raw.bits as string).toLowerCase(),
    curtime,
    mintime: Number.isSafeInteger(raw.mintime) ? (raw.mintime as number) : curtime,
    coinbaseValue: BigInt(raw.coinbasevalue as number),
    transactions,
    defaultWitnessCommitment: (dwc as string | undefined)?.toLowerCase(),
    id,
  };
}

/**
 * Template source backed by a Bitcoin node: getblocktemplate (segwit rules), submitblock, and
 * new-block detection by polling getbestblockhash. While the node is unreachable it retries with
 * exponential backoff and keeps serving the last template; only a changed previous block hash
 * makes older work stale (newBlock = true).
 */
export class BitcoindSource extends EventEmitter implements TemplateSource {
  readonly kind = "bitcoind" as const;
  readonly rpc: BitcoindRpc;
  private readonly pollIntervalMs: number;
  private readonly refreshIntervalMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly startTimeoutMs: number;
  private readonly log: ChainLogger;

  private template?: BlockTemplate;
  private lastTemplateAt = 0;
  private templateSeq = 0;
  private failures = 0;
  private running = false;
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private pollAgain = false;

  constructor(options: BitcoindSourceOptions) {
    super();
    this.rpc = new BitcoindRpc(options);
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
    this.retryInitialMs = options.retryInitialMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 0;
    this.log = options.logger ?? silentLogger;
    for (const [name, v] of Object.entries({ pollIntervalMs: this.pollIntervalMs, refreshIntervalMs: this.refreshIntervalMs, retryInitialMs: this.retryInitialMs, retryMaxMs: this.retryMaxMs })) {
      if (!(typeof v === "number" && v > 0)) throw new RangeError(`${name} must be a positive number of milliseconds`);
    }
  }

  /** Consecutive failed node requests (0 when the node is reachable). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Resolves with the first template; rejects at once on bad credentials, or after startTimeoutMs. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const began = Date.now();
    for (;;) {
      try {
        await this.fetchTemplate();
        break;
      } catch (err) {
        if (err instanceof RpcAuthError || !this.running) {
          this.running = false;
          this.log.error({ node: this.rpc.endpoint, err: (err as Error).message }, "bitcoind: cannot start");
          throw err;
        }
        const delay = this.onFailure(err as Error);
        if (this.startTimeoutMs > 0 && Date.now() - began + delay > this.startTimeoutMs) {
          this.running = false;
          throw new Error(`bitcoind at ${this.rpc.endpoint}: no block template after ${Date.now() - began} ms (${this.failures} attempts): ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, delay));
        if (!this.running) throw new Error("bitcoind source stopped before the first template");
      }
    }
    this.schedule(this.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling?.catch(() => undefined);
    this.rpc.close();
  }

  current(): BlockTemplate {
    if (!this.template) throw new Error("bitcoind source: no template yet (start() has not succeeded)");
    return this.template;
  }

  async submitBlock(blockHex: string): Promise<SubmitResult> {
    // A found block is worth a few quick retries on a transport hiccup.
    const delays = [0, 100, 400, 1_000];
    let lastError = "";
    for (const delay of delays) {
      if (delay) await new Promise((r) => setTimeout(r, delay));
      try {
        const result = await this.rpc.call<string | null>("submitblock", [blockHex]);
        if (result === null || result === undefined) {
          this.log.info({ node: this.rpc.endpoint }, "bitcoind accepted the block");
          this.pollNow();
          return { accepted: true };
        }
        this.log.warn({ node: this.rpc.endpoint, reason: result }, "bitcoind rejected the block");
        return { accepted: false, reason: String(result) };
      } catch (err) {
        if (err instanceof RpcError) {
          this.log.warn({ node: this.rpc.endpoint, err: err.message }, "bitcoind rejected the block");
          return { accepted: false, reason: err.message };
        }
        lastError = (err as Error).message;
        this.log.error({ node: this.rpc.endpoint, err: lastError }, "submitblock failed, retrying");
        if (err instanceof RpcAuthError) break;
      }
    }
    return { accepted: false, reason: `transport: ${lastError}` };
  }

  /** Depth of a block on the node's best chain, 0 when unknown or not on it. Throws if the node is unreachable. */
  async confirmations(blockHash: string): Promise<number> {
    if (typeof blockHash !== "string" || !HEX64.test(blockHash)) return 0;
    try {
      const header = await this.rpc.call<{ confirmations?: number }>("getblockheader", [blockHash.toLowerCase(), true]);
      const c = header?.confirmations;
      return typeof c === "number" && c > 0 ? c : 0;
    } catch (err) {
      if (err instanceof RpcError && err.code === -5) return 0; // Block not found
      throw err;
    }
  }

  /** Poll now (after a submitted block), without overlapping a poll in flight. */
  pollNow(): void {
    if (!this.running) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.runPoll();
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runPoll();
    }, delayMs);
  }

  private runPoll(): void {
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
      if (this.pollAgain) {
        this.pollAgain = false;
        this.pollNow();
      }
    });
  }

  private async poll(): Promise<void> {
    let next = this.pollIntervalMs;
    try {
      const best = await this.rpc.call<string>("getbestblockhash");
      this.onSuccess();
      const stale = Date.now() - this.lastTemplateAt >= this.refreshIntervalMs;
      if (!this.template || best !== this.template.previousBlockHash || stale) await this.fetchTemplate();
    } catch (err) {
      next = this.onFailure(err as Error);
    }
    if (!this.pollAgain) this.schedule(next);
  }

  private async fetchTemplate(): Promise<void> {
    const raw = await this.rpc.call<RawTemplate>("getblocktemplate", [{ rules: ["segwit"] }]);
    this.onSuccess();
    const template = mapBlockTemplate(raw, "");
    template.id = `bitcoind:${template.height}:${template.previousBlockHash.slice(-16)}:${++this.templateSeq}`;
    const newBlock = !this.template || this.template.previousBlockHash !== template.previousBlockHash;
    this.template = template;
    this.lastTemplateAt = Date.now();
    if (newBlock) {
      this.log.info({ height: template.height, prev: template.previousBlockHash, txs: template.transactions.length }, "bitcoind: new block template");
    }
    this.emit("template", template, newBlock);
  }

  private onSuccess(): void {
    if (this.failures > 0) {
      this.log.info({ node: this.rpc.endpoint, failedAttempts: this.failures }, "bitcoind reachable again");
    }
    this.failures = 0;
  }

  /** Logs the failure and returns the backoff delay before the next attempt. */
  private onFailure(err: Error): number {
    this.failures++;
    const delay = Math.min(this.retryInitialMs * 2 ** Math.min(this.failures - 1, 30), this.retryMaxMs);
    const fields = {
      node: this.rpc.endpoint,
      attempt: this.failures,
      retryInMs: delay,
      err: err.message,
      keepingTemplate: this.template ? this.template.id : null,
    };
    if (err instanceof RpcAuthError) this.log.error(fields, "bitcoind RPC authentication failed; keeping the last template");
    else this.log.warn(fields, this.template ? "bitcoind unreachable; serving the last template meanwhile" : "bitcoind unreachable; no template yet");
    this.emit("rpcError", err, this.failures, delay);
    return delay;
  }
}
