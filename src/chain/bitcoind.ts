import { EventEmitter } from "node:events";
import { coinbaseOnlyTemplate, QUICK_TEMPLATE_RULES } from "./coinbase-only";
import { HeldCallLoop } from "./held-call";
import { silentLogger, type ChainLogger } from "./logger";
import { BitcoindRpc, RpcAuthError, RpcError, RpcTransportError, type RpcOptions } from "./rpc";
import { RecentBlockTimes, type HeaderInfo } from "./tip-times";
import type { BlockTemplate, SubmitResult, TemplateSource, TemplateTransaction } from "./types";

export interface BitcoindSourceOptions extends RpcOptions {
  /** getbestblockhash polling interval (default 1 000 ms): the fallback when the pushes below fail. */
  pollIntervalMs?: number;
  /**
   * Keep a getblocktemplate long poll open (BIP22 `longpollid`): the node answers with the new
   * template the moment its tip changes (default true; nodes without long polling fall back to
   * polling alone). Used where the waitfornewblock watch below is off or unavailable.
   */
  longPoll?: boolean;
  /**
   * Keep a `waitfornewblock` request open and, on a new tip, send coinbase-only work on it at once
   * (see coinbase-only.ts), then fetch the full template (default true; mainnet and regtest only;
   * elsewhere the long poll serves). It replaces the long poll rather than running beside it: a
   * long poll wakes with the same tip change and makes the node build its template under cs_main,
   * which the waitfornewblock answer then waits for.
   */
  coinbaseOnlyOnNewTip?: boolean;
  /** How long a held request (long poll, waitfornewblock) may stay open before it is re-issued (default 120 000 ms). */
  longPollTimeoutMs?: number;
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
  longpollid?: unknown;
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
 * Template source backed by a Bitcoin node: getblocktemplate (segwit rules) and submitblock.
 * A new tip is learnt by push, within milliseconds: on mainnet and regtest a held
 * `waitfornewblock` request gives the new hash, coinbase-only work on it goes out at once
 * (newBlock=true) and the full template follows (newBlock=false); elsewhere a held
 * getblocktemplate long poll brings the new template. Polling getbestblockhash stays on as the
 * fallback (docs/stratum.md, "Block templates from bitcoind"). While the node is unreachable it
 * retries with exponential backoff and keeps serving the last template; only a changed previous
 * block hash makes older work stale (newBlock = true), and a late answer for an older tip (lower
 * height) never replaces newer work.
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
  private readonly longPoll: boolean;
  private readonly coinbaseOnly: boolean;
  /** Separate clients (own sockets) for the held requests, so they never queue ordinary calls. */
  private readonly longPollRpc: BitcoindRpc;
  private readonly tipRpc: BitcoindRpc;
  private readonly longPollTimeoutMs: number;
  private longPollLoop?: HeldCallLoop;
  private tipLoop?: HeldCallLoop;
  /** getblockchaininfo's `chain` ("main", "test", "regtest", ...), once known. */
  chain?: string;
  private longPollId?: string;
  /** Last tip waitfornewblock reported (its next request waits for a change from it). */
  private watchedTip?: string;
  /** The current template is coinbase-only work: the poll fetches the full one if the long poll has not. */
  private provisional = false;
  /** Times of the last blocks, for the minimum time of coinbase-only work without asking the node. */
  private recentTimes?: RecentBlockTimes;

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
    this.longPoll = options.longPoll ?? true;
    this.coinbaseOnly = options.coinbaseOnlyOnNewTip ?? true;
    this.longPollTimeoutMs = options.longPollTimeoutMs ?? 120_000;
    this.longPollRpc = new BitcoindRpc({ ...options, timeoutMs: this.longPollTimeoutMs });
    this.tipRpc = new BitcoindRpc({ ...options, timeoutMs: this.longPollTimeoutMs });
    for (const [name, v] of Object.entries({ pollIntervalMs: this.pollIntervalMs, refreshIntervalMs: this.refreshIntervalMs, retryInitialMs: this.retryInitialMs, retryMaxMs: this.retryMaxMs, longPollTimeoutMs: this.longPollTimeoutMs })) {
      if (!(typeof v === "number" && v > 0)) throw new RangeError(`${name} must be a positive number of milliseconds`);
    }
  }

  /** Which push is live: the long poll, or waitfornewblock with coinbase-only work. */
  get push(): { longPoll: boolean; coinbaseOnly: boolean } {
    return { longPoll: !!this.longPollLoop?.active, coinbaseOnly: !!this.tipLoop?.active };
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
    await this.startPushes();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Closing the clients cuts the held requests short; the loops then see running = false.
    this.longPollRpc.close();
    this.tipRpc.close();
    await Promise.all([this.longPollLoop?.stop(), this.tipLoop?.stop(), this.polling?.catch(() => undefined)]);
    this.rpc.close();
  }

  /**
   * Starts the waitfornewblock watch where the chain allows coinbase-only work, else (or when the
   * node turns out not to have waitfornewblock) the long poll.
   */
  private async startPushes(): Promise<void> {
    const loop = (name: string, step: () => Promise<void>, onUnsupported?: () => void) =>
      new HeldCallLoop({ name, step, onUnsupported, retryInitialMs: this.retryInitialMs, retryMaxMs: this.retryMaxMs, log: this.log });
    const startLongPoll = () => {
      if (!this.longPoll || !this.running || this.longPollLoop) return;
      if (this.longPollId === undefined) {
        this.log.warn({ node: this.rpc.endpoint }, "bitcoind: getblocktemplate has no longpollid; new blocks are found by polling");
        return;
      }
      this.longPollLoop = loop("longpoll", () => this.longPollStep());
      this.longPollLoop.start();
    };
    if (this.coinbaseOnly) {
      try {
        const info = await this.rpc.call<{ chain?: unknown }>("getblockchaininfo");
        this.chain = typeof info?.chain === "string" ? info.chain : undefined;
      } catch (err) {
        this.log.warn({ node: this.rpc.endpoint, err: (err as Error).message }, "bitcoind: getblockchaininfo failed; no coinbase-only work on new tips");
      }
      if (!this.running) return;
      if (this.chain !== undefined && QUICK_TEMPLATE_RULES[this.chain]) {
        this.watchedTip = this.template?.previousBlockHash;
        this.recentTimes = new RecentBlockTimes((hash) => this.header(hash));
        if (this.watchedTip) await this.recentTimes.follow(this.watchedTip);
        if (!this.running) return;
        this.tipLoop = loop("waitfornewblock", () => this.tipStep(), startLongPoll);
        this.tipLoop.start();
        return;
      }
      if (this.chain !== undefined) this.log.info({ chain: this.chain }, "bitcoind: no coinbase-only work on this chain; the long poll brings new tips");
    }
    startLongPoll();
  }

  /** One long poll: the node answers when its tip (or, after a minute, its mempool) changed. */
  private async longPollStep(): Promise<void> {
    const raw = await this.longPollRpc.call<RawTemplate>("getblocktemplate", [{ rules: ["segwit"], longpollid: this.longPollId }]);
    if (!this.running) return;
    this.onSuccess();
    this.adopt(raw, "longpoll");
  }

  /** One waitfornewblock: on a new tip, coinbase-only work on it before the full template. */
  private async tipStep(): Promise<void> {
    const waitMs = Math.max(1_000, this.longPollTimeoutMs - 5_000); // the node answers before our client gives up
    const params: unknown[] = this.watchedTip ? [waitMs, this.watchedTip] : [waitMs];
    const r = await this.tipRpc.call<{ hash?: unknown; height?: unknown }>("waitfornewblock", params);
    if (!this.running || typeof r?.hash !== "string" || !HEX64.test(r.hash)) return;
    this.onSuccess();
    const hash = r.hash.toLowerCase();
    if (hash === this.watchedTip) return;
    this.watchedTip = hash;
    const previous = this.template;
    if (!previous || previous.previousBlockHash === hash) return; // the full template was first
    this.coinbaseOnlyWork(previous, hash, r.height);
    this.pollNow(); // the full template (the poll fetches it: the tip changed, or the work is coinbase-only)
  }

  /** Serves coinbase-only work on the new tip `hash` when it can be made safely (coinbase-only.ts). */
  private coinbaseOnlyWork(previous: BlockTemplate, hash: string, reportedHeight: unknown): void {
    // The node is busy building its template (under cs_main) now: the minimum time comes from the
    // times already known, not from getblockheader, so the work goes out without waiting for it.
    const mintime = this.recentTimes?.mintimeAfterChildOf(previous.previousBlockHash);
    if (mintime === undefined || !Number.isSafeInteger(reportedHeight)) {
      this.log.debug?.({ hash }, "bitcoind: block times not known yet; waiting for the full template");
      return;
    }
    const height = reportedHeight as number;
    const id = `bitcoind:${height + 1}:${hash.slice(-16)}:${++this.templateSeq}:coinbase-only`;
    const made = coinbaseOnlyTemplate(this.chain, previous, { hash, height, mintime }, Date.now() / 1000, id);
    if ("skip" in made) {
      this.log.debug?.({ hash, reason: made.skip }, "bitcoind: no coinbase-only work for this tip");
      return;
    }
    this.provisional = true;
    this.log.info({ height: made.template.height, prev: hash }, "bitcoind: new tip, coinbase-only work until the full template");
    this.install(made.template, true);
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

  /**
   * Fees (satoshis) collected by the main-chain block at `height`: `getblockstats(height,
   * ["totalfee"])`, the figure FPPS averages (and the auditor reads from its own node); undefined
   * above the tip. Throws if the node is unreachable or answers something else than satoshis.
   */
  async blockFees(height: number): Promise<bigint | undefined> {
    let stats: { totalfee?: unknown };
    try {
      stats = await this.rpc.call<{ totalfee?: unknown }>("getblockstats", [height, ["totalfee"]]);
    } catch (err) {
      if (err instanceof RpcError && (err.code === -8 || err.code === -5)) return undefined; // height out of range
      throw err;
    }
    const fee = stats?.totalfee;
    if (typeof fee !== "number" || !Number.isSafeInteger(fee) || fee < 0) throw new Error(`getblockstats ${height}: totalfee is not a satoshi amount: ${JSON.stringify(fee)}`);
    return BigInt(fee);
  }

  /** The node's network (`getblockchaininfo` chain: "main", "test", "testnet4", "signet", "regtest"). */
  async network(): Promise<string> {
    return (await this.rpc.call<{ chain: string }>("getblockchaininfo")).chain;
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
      if (!this.template || best !== this.template.previousBlockHash || stale || this.provisional) await this.fetchTemplate();
    } catch (err) {
      next = this.onFailure(err as Error);
    }
    if (!this.pollAgain) this.schedule(next);
  }

  private async fetchTemplate(): Promise<void> {
    const raw = await this.rpc.call<RawTemplate>("getblocktemplate", [{ rules: ["segwit"] }]);
    this.onSuccess();
    this.adopt(raw, "poll");
  }

  /**
   * Maps a getblocktemplate answer and makes it the current work, unless it is older than what is
   * served: a different previous block at a lower height is a late answer for an old tip (a poll
   * that crossed a long poll), dropped so that miners are never sent back to stale work.
   */
  private adopt(raw: RawTemplate, via: "poll" | "longpoll"): void {
    const template = mapBlockTemplate(raw, "");
    template.id = `bitcoind:${template.height}:${template.previousBlockHash.slice(-16)}:${++this.templateSeq}`;
    const current = this.template;
    if (current && current.previousBlockHash !== template.previousBlockHash && template.height < current.height) {
      this.log.debug?.({ via, height: template.height, serving: current.height }, "bitcoind: dropped a template for an older tip");
      return;
    }
    if (typeof raw.longpollid === "string" && raw.longpollid.length > 0) this.longPollId = raw.longpollid;
    this.provisional = false;
    const newBlock = !current || current.previousBlockHash !== template.previousBlockHash;
    if (newBlock) {
      this.log.info({ height: template.height, prev: template.previousBlockHash, txs: template.transactions.length, via }, "bitcoind: new block template");
    }
    this.install(template, newBlock);
  }

  private install(template: BlockTemplate, newBlock: boolean): void {
    this.template = template;
    this.lastTemplateAt = Date.now();
    this.emit("template", template, newBlock);
    if (newBlock) void this.recentTimes?.follow(template.previousBlockHash);
  }

  /** getblockheader (verbose) by hash, checked. */
  private async header(hash: string): Promise<HeaderInfo> {
    const h = await this.rpc.call<{ hash?: unknown; height?: unknown; time?: unknown; previousblockhash?: unknown }>("getblockheader", [hash, true]);
    if (typeof h?.hash !== "string" || !Number.isSafeInteger(h.height) || !Number.isSafeInteger(h.time)) {
      throw new RpcTransportError(`getblockheader: malformed result for ${hash}`);
    }
    const prev = typeof h.previousblockhash === "string" && HEX64.test(h.previousblockhash) ? h.previousblockhash : undefined;
    return { hash: h.hash, height: h.height as number, time: h.time as number, previousblockhash: prev };
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
