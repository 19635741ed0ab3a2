import { EventEmitter } from "node:events";
import net from "node:net";
import pino, { type Logger } from "pino";
import type { BlockTemplate, SubmitResult, TemplateSource } from "../chain/types";
import { difficultyToTarget, HeaderHashSet, hashToDisplayHex, serializeBlock, sha256d } from "../pow";
import { unpayableReason } from "./address";
import { BanList, WindowCounter } from "./bans";
import { resolveConfig, type StratumConfig, type StratumConfigInput } from "./config";
import type { AcceptedShare, FoundBlock, ShareSink } from "./events";
import { ErrorCode } from "./errors";
import { ExtranonceAllocator } from "./extranonce";
import { connectionCap, ConnectionLimiter, type AdmitRefusal } from "./limits";
import { makeWork, TemplateWork, type ResumableState, type Work } from "./jobs";
import { StratumMetrics, type StratumStats } from "./metrics";
import { errorLine, trueLine, type RpcId } from "./rpc";
import type { SessionHost } from "./host";
import { Session } from "./session";
import { ShareHasher } from "./sharehash";

export interface StratumServerOptions {
  source: TemplateSource;
  sink: ShareSink;
  config?: StratumConfigInput;
  logger?: Logger;
  /** This process's share of the extranonce1 space when several serve one pool (cluster.ts). */
  extranoncePartition?: { index: number; count: number };
}

const SESSION = Symbol("stratumSession");
const BROADCAST_SLICE = 500;
/** Closed sessions remembered for a resume (their jobs); the oldest is forgotten beyond. */
const MAX_RESUMABLE = 10_000;
type TaggedSocket = net.Socket & { [SESSION]?: Session };

// Shared listeners (one function for all sockets instead of closures per connection).
function onSocketData(this: TaggedSocket, chunk: Buffer): void {
  this[SESSION]?.onData(chunk);
}
function onSocketError(this: TaggedSocket, err: Error): void {
  const s = this[SESSION];
  if (s) s.server.log.debug({ session: s.id, err: err.message }, "stratum socket error");
}
function onSocketClose(this: TaggedSocket): void {
  const s = this[SESSION];
  if (s) s.server.removeSession(s);
}

/**
 * Stratum V1 server. Emits "share" (AcceptedShare), "block" (FoundBlock, AcceptedShare),
 * "connection" (Session) and "disconnect" (Session).
 */
export class StratumServer extends EventEmitter implements SessionHost<Session> {
  readonly config: StratumConfig;
  readonly log: Logger;
  readonly source: TemplateSource;
  readonly sink: ShareSink;
  readonly metrics: StratumMetrics;
  readonly bans: BanList;
  /** Connections per source address and in total (limits.ts). */
  readonly limiter: ConnectionLimiter;
  readonly extranonces: ExtranonceAllocator;
  readonly sessions = new Set<Session>();
  readonly startTarget: bigint;
  readonly minDifficultyNumber: number;
  readonly maxDifficultyNumber: number;
  versionMask: number;

  work: Work | null = null;
  generation = 0;
  /** Header hashes of the shares accepted on the current previous block (one header, one credit). */
  duplicates: HeaderHashSet;
  /** Block headers found on the current previous block (few; never full). */
  blockHeaders = new BlockHeaderSet();
  readonly hasher = new ShareHasher();
  /** Closed sessions' jobs by subscription id, for a resume on the same block. */
  private readonly resumable = new Map<string, ResumableState & { extranonce1: string }>();
  private readonly refused: Set<string>;
  /** Refused connections held open before their close (refuseConnection). */
  private readonly heldRefusals = new Set<net.Socket>();
  private lastWorkAt = 0;
  private jobCounter = 0;
  private broadcastToken = 0;
  private sessionCounter = 0;
  private pendingRecords = 0;
  private readonly payoutScript: Buffer;
  private readonly tcp: net.Server;
  private sweepTimer: NodeJS.Timeout | null = null;
  private listening = false;
  private closing = false;
  private readonly onTemplate = (template: BlockTemplate, newBlock: boolean) => this.useTemplate(template, newBlock);

  constructor(opts: StratumServerOptions) {
    super();
    this.config = resolveConfig(opts.config);
    this.log = opts.logger ?? pino({ name: "stratum" });
    this.source = opts.source;
    this.sink = opts.sink;
    this.metrics = new StratumMetrics(this.config.hashrateWindowSeconds);
    this.bans = new BanList(this.config.bans);
    this.limiter = new ConnectionLimiter(this.config.limits, this.config.maxConnections);
    this.extranonces = new ExtranonceAllocator(this.config.extranonce1Size, undefined, undefined, opts.extranoncePartition);
    this.startTarget = difficultyToTarget(this.config.startDifficulty);
    this.minDifficultyNumber = Number(this.config.minDifficulty);
    this.maxDifficultyNumber = Number(this.config.maxDifficulty);
    this.versionMask = this.config.versionMask >>> 0;
    this.payoutScript = Buffer.from(this.config.payoutScript, "hex");
    this.duplicates = new HeaderHashSet({ maxEntries: this.config.maxSharesPerBlock });
    this.refused = new Set(this.config.refusedAddresses.map((a) => a.toLowerCase()));
    this.tcp = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.tcp.on("error", (err) => this.log.error({ err }, "stratum listener error"));
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    if (this.listening) return this.port;
    this.source.on("template", this.onTemplate);
    try {
      this.useTemplate(this.source.current(), true);
    } catch {
      this.log.warn("no block template yet: miners get work when the template source produces one");
    }
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error) => reject(err);
        this.tcp.once("error", fail);
        this.tcp.listen(this.config.port, this.config.host, () => {
          this.tcp.off("error", fail);
          resolve();
        });
      });
    } catch (err) {
      this.source.off("template", this.onTemplate);
      throw err;
    }
    this.listening = true;
    // Keep limits.fdReserve descriptors free for the API, RPC, store and chain files.
    this.limiter.cap = connectionCap(this.config.maxConnections, this.config.limits.fdReserve + this.config.limits.maxHeldRefusals);
    this.metrics.connectionCap = this.limiter.cap;
    if (this.limiter.cap < this.config.maxConnections) {
      this.log.info({ cap: this.limiter.cap, maxConnections: this.config.maxConnections, fdReserve: this.config.limits.fdReserve }, "stratum connection cap lowered to the file-descriptor limit");
    }
    this.sweepTimer = setInterval(() => this.sweep(), this.config.sweepIntervalMs);
    this.sweepTimer.unref();
    this.log.info({ host: this.config.host, port: this.port }, "stratum listening");
    return this.port;
  }

  get port(): number {
    const a = this.tcp.address();
    return a !== null && typeof a === "object" ? a.port : 0;
  }

  /** Sends client.reconnect to every miner, closes all connections and stops listening. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.source.off("template", this.onTemplate);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const stopped = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const s of this.sessions) {
      s.send(`{"id":null,"method":"client.reconnect","params":[]}\n`);
      s.close("shutdown");
    }
    const deadline = Date.now() + timeoutMs;
    while ((this.sessions.size > 0 || this.pendingRecords > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const s of this.sessions) s.socket.destroy();
    for (const socket of this.heldRefusals) socket.destroy();
    if (this.listening) await stopped;
    this.listening = false;
    this.log.info("stratum stopped");
  }

  stats(): StratumStats {
    return this.metrics.snapshot();
  }

  nextJobId(): string {
    this.jobCounter = (this.jobCounter + 1) % 0x100000000;
    return this.jobCounter.toString(16);
  }

  /** Changes the server's version-rolling mask; miners that negotiated one get mining.set_version_mask. */
  setVersionMask(mask: number): void {
    this.versionMask = mask >>> 0;
    for (const s of this.sessions) s.setVersionMask(this.versionMask);
  }

  /**
   * Clamps a formatted difficulty to the configured bounds, keeping the configured exact strings at
   * the ends, and then to the current network difficulty (which wins over the configured minimum):
   * a miner told a difficulty above the network's would throw blocks away.
   */
  clampDifficultyText(text: string): string {
    const n = Number(text);
    let out = text;
    if (n <= this.minDifficultyNumber) out = this.config.minDifficulty;
    else if (n >= this.maxDifficultyNumber) out = this.config.maxDifficulty;
    const tw = this.work?.tw;
    if (tw !== undefined && Number(out) >= tw.maxDifficultyNumber) out = tw.maxDifficulty;
    return out;
  }

  /** Why `address` (lower-case) cannot be a payout address, or undefined (see address.ts). */
  unpayableReason(address: string): string | undefined {
    return unpayableReason(address, this.refused);
  }

  /** The jobs of a closed session resumed by `subscriptionId` with the same extranonce1, if still current. */
  takeResumable(subscriptionId: string, extranonce1: string): ResumableState | null {
    const r = this.resumable.get(subscriptionId);
    if (r === undefined) return null;
    this.resumable.delete(subscriptionId);
    return r.extranonce1 === extranonce1 && r.generation === this.generation ? r : null;
  }

  // --- work ----------------------------------------------------------------------------------

  private useTemplate(template: BlockTemplate, newBlock: boolean): void {
    try {
      if (newBlock || this.work === null) {
        this.generation++;
        // Headers on the old previous block can never be accepted again: forget them.
        this.duplicates = new HeaderHashSet({ maxEntries: this.config.maxSharesPerBlock });
        this.blockHeaders = new BlockHeaderSet();
        this.resumable.clear();
      }
      const tw = new TemplateWork(template, this.generation, {
        poolTag: this.config.poolTag,
        extranonce1Size: this.config.extranonce1Size,
        extranonce2Size: this.config.extranonce2Size,
        payoutScript: this.payoutScript,
      });
      this.issue(makeWork(tw, Date.now(), newBlock));
      this.log.info({ height: template.height, newBlock, txs: template.transactions.length }, "new stratum work");
    } catch (err) {
      this.log.error({ err }, "unusable block template; keeping the previous work");
    }
  }

  private issue(work: Work): void {
    this.work = work;
    this.lastWorkAt = Date.now();
    // In slices, so that tens of thousands of notifies never hold up other miners' submits.
    const targets = [...this.sessions];
    const token = ++this.broadcastToken;
    const step = (from: number) => {
      if (token !== this.broadcastToken) return; // newer work superseded this broadcast
      const end = Math.min(targets.length, from + BROADCAST_SLICE);
      for (let i = from; i < end; i++) {
        const s = targets[i];
        if (s.authorized && s.subscribed && !s.closed) s.sendJob(work.clean);
      }
      if (end < targets.length) setImmediate(step, end);
    };
    step(0);
  }

  // --- connections ---------------------------------------------------------------------------

  private accept(raw: net.Socket): void {
    const socket = raw as TaggedSocket;
    const ip = normalizeIp(socket.remoteAddress);
    socket.on("error", onSocketError);
    if (this.closing) {
      this.metrics.disconnect("shutdown");
      socket.destroy();
      return;
    }
    const now = Date.now();
    const ban = this.bans.banOf(ip, now);
    if (ban !== null) {
      this.refuseConnection(socket, "banned", `address refused for ${Math.ceil((ban.until - now) / 1000)} s after repeated abuse (${ban.reason})`, ban.until - now);
      return;
    }
    const refusal = this.limiter.admit(ip, now);
    if (refusal !== null) {
      this.refuseConnection(socket, refusal, this.refusalMessage(refusal));
      return;
    }
    socket.setKeepAlive(true, this.config.keepAliveMs);
    const session = new Session(this, socket, ++this.sessionCounter, ip, Date.now());
    socket[SESSION] = session;
    socket.on("data", onSocketData);
    socket.on("close", onSocketClose);
    this.sessions.add(session);
    session.admitted = true;
    this.metrics.connections++;
    this.metrics.totalConnections++;
    this.safeEmit("connection", session);
  }

  /**
   * Refuses a new connection (counted by reason): one Stratum error line saying why, then close.
   * A connection from a banned address (`holdMs`: what is left of its ban) is not read and is held
   * open for up to limits.refusalHoldMs first (while fewer than limits.maxHeldRefusals are held),
   * so that reconnecting at once after each close gains an abuser nothing.
   */
  private refuseConnection(socket: net.Socket, reason: string, message: string, holdMs = 0): void {
    this.metrics.refuse(reason);
    this.metrics.disconnect(reason);
    socket.pause();
    const { refusalHoldMs, maxHeldRefusals } = this.config.limits;
    const hold = Math.min(holdMs, refusalHoldMs);
    if (hold > 0 && this.heldRefusals.size < maxHeldRefusals) {
      socket.write(errorLine(null, ErrorCode.OTHER, message));
      this.heldRefusals.add(socket);
      const timer = setTimeout(() => socket.destroy(), hold);
      timer.unref();
      socket.once("close", () => {
        clearTimeout(timer);
        this.heldRefusals.delete(socket);
      });
      return;
    }
    socket.end(errorLine(null, ErrorCode.OTHER, message));
    socket.destroySoon();
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private refusalMessage(r: AdmitRefusal): string {
    const l = this.config.limits;
    if (r === "too-many-connections") return `server full (${this.limiter.cap} connections); try again later`;
    if (r === "too-many-from-address") return `too many connections from your address (limit ${l.maxConnectionsPerAddress})`;
    return `too many new connections from your address (limit ${l.connectsPerSecondPerAddress}/s, burst ${l.connectBurstPerAddress})`;
  }

  removeSession(s: Session): void {
    if (!this.sessions.delete(s)) return;
    if (s.admitted) this.limiter.release(s.ip);
    if (!s.closed) {
      s.closed = true;
      this.metrics.disconnect("client-closed");
    }
    this.metrics.connections--;
    if (s.subscribed) this.metrics.subscribed--;
    if (s.authorized) this.metrics.authorized--;
    if (s.extranonce1 !== null) {
      this.extranonces.release(s.extranonce1, s.subscriptionId);
      this.keepResumable(s);
    }
    s.jobs.clear();
    this.safeEmit("disconnect", s);
  }

  private keepResumable(s: Session): void {
    const state = s.subscriptionId !== null && s.generation === this.generation ? s.resumableState() : null;
    if (state === null) return;
    if (this.resumable.size >= MAX_RESUMABLE) {
      const oldest = this.resumable.keys().next().value;
      if (oldest !== undefined) this.resumable.delete(oldest);
    }
    this.resumable.set(s.subscriptionId!, { ...state, extranonce1: s.extranonce1! });
  }

  /** A protocol strike against one connection; bans.maxStrikes within the window close it. */
  strike(s: Session, reason: string): void {
    this.metrics.strikes++;
    this.log.debug({ session: s.id, ip: s.ip, reason }, "stratum strike");
    const bans = this.config.bans;
    if (!bans.enabled) return;
    s.strikes ??= new WindowCounter(bans.windowMs);
    if (s.strikes.add(1, Date.now()) >= bans.maxStrikes) this.punish(s, "banned", `too many protocol errors (last: ${reason})`);
  }

  /** Closes a connection for abuse (e.g. invalid shares), saying why. */
  banSession(s: Session, reason: string): void {
    this.punish(s, "banned", reason);
  }

  /**
   * Closes an abusive connection with the reason in a Stratum error, and counts an offence against
   * its address: only bans.maxOffencesPerAddress of them within the window refuse the address, for
   * bans.banMs. Other connections from the address (a farm behind one NAT) are left alone.
   */
  punish(s: Session, disconnectReason: string, detail: string): void {
    if (s.closed) return;
    this.metrics.bans++;
    s.send(errorLine(null, ErrorCode.OTHER, `disconnected: ${detail}`));
    s.close(disconnectReason);
    if (this.bans.strike(s.ip, 1, Date.now(), detail)) {
      this.metrics.addressBans++;
      this.log.warn({ ip: s.ip, reason: detail, bannedForMs: this.config.bans.banMs }, "stratum address refused after repeated abuse");
    } else {
      this.log.info({ session: s.id, ip: s.ip, reason: detail }, "stratum connection closed for abuse");
    }
  }

  /** Timeouts, vardiff for silent miners, periodic fresh ntime, expiry of remembered state. */
  private sweep(): void {
    const now = Date.now();
    const cfg = this.config;
    for (const s of this.sessions) {
      if (s.closed) continue;
      if (!(s.authorized && s.subscribed) && now - s.connectedAt > cfg.authTimeoutMs) s.close("auth-timeout");
      else if (now - s.lastActivity > cfg.idleTimeoutMs) s.close("idle-timeout");
      else s.checkTimeouts(now);
      if (!s.closed) s.maybeRetarget(now, true);
    }
    if (this.work !== null && now - this.lastWorkAt >= cfg.jobRefreshMs) {
      this.issue(makeWork(this.work.tw, now, false));
    }
    this.extranonces.sweep(now);
    this.bans.sweep(now);
    this.limiter.sweep(now);
    this.metrics.sweep(now);
  }

  // --- shares and blocks ---------------------------------------------------------------------

  /** Serializes and submits a found block at once; resolves with the FoundBlock record. */
  submitBlock(header: Buffer, coinbase: Buffer, tw: TemplateWork): Promise<FoundBlock> {
    const hash = hashToDisplayHex(sha256d(header));
    const base = { height: tw.template.height, hash, reward: tw.template.coinbaseValue.toString(), time: Date.now() };
    let hex: string;
    try {
      hex = serializeBlock(header, coinbase, tw.template.transactions, tw.hasWitnessCommitment);
    } catch (err) {
      return Promise.resolve({ ...base, address: "", worker: "", submitted: false, submitError: `serialize: ${(err as Error).message}` });
    }
    let submitted: Promise<SubmitResult>;
    try {
      submitted = this.source.submitBlock(hex);
    } catch (err) {
      submitted = Promise.reject(err);
    }
    return submitted.then(
      (r) => ({ ...base, address: "", worker: "", submitted: r.accepted, submitError: r.accepted ? undefined : r.reason }),
      (err: Error) => ({ ...base, address: "", worker: "", submitted: false, submitError: err.message }),
    );
  }

  /** Stores an accepted share, then answers the miner; a block also gets its FoundBlock record. */
  recordShare(s: Session, id: RpcId, share: AcceptedShare, seen: HeaderHashSet, headerHash: Buffer, blockSubmit: Promise<FoundBlock> | null): void {
    this.pendingRecords++;
    let stored: Promise<void>;
    try {
      stored = this.sink.record(share);
    } catch (err) {
      stored = Promise.reject(err);
    }
    stored.then(
      () => {
        this.pendingRecords--;
        this.metrics.accept(share.address, Number(share.difficulty), share.time);
        s.send(trueLine(id));
        this.safeEmit("share", share);
      },
      (err: unknown) => {
        this.pendingRecords--;
        // Not stored, so not credited: the miner may send it again.
        seen.delete(headerHash);
        this.metrics.sinkErrors++;
        this.metrics.reject("internal");
        this.log.error({ err, session: s.id, address: share.address }, "share not stored");
        s.send(errorLine(id, 20, "internal: share not stored"));
      },
    );
    if (blockSubmit !== null) {
      this.finishBlock(share, blockSubmit).catch((err) => this.log.error({ err }, "recording a found block failed"));
    }
  }

  /** Emits to outside listeners; a listener that throws is logged, never allowed to break the server. */
  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, "stratum event listener threw");
    }
  }

  private async finishBlock(share: AcceptedShare, submit: Promise<FoundBlock>): Promise<void> {
    const found = await submit;
    found.address = share.address;
    found.worker = share.worker;
    if (found.submitted) this.metrics.blocks++;
    else this.metrics.blocksSubmitFailed++;
    this.log.info({ height: found.height, hash: found.hash, address: found.address, submitted: found.submitted, error: found.submitError }, "block found");
    try {
      await this.sink.recordBlock?.(found, share);
    } catch (err) {
      this.log.error({ err, hash: found.hash }, "found block not stored");
    }
    this.safeEmit("block", found, share);
  }
}

function normalizeIp(addr: string | undefined): string {
  if (addr === undefined) return "unknown";
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}

/** The block headers found on one previous block: `add` is false for one already there. */
export class BlockHeaderSet {
  private readonly seen = new Set<string>();
  add(hash: Buffer): boolean {
    const key = hash.toString("hex");
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
}
