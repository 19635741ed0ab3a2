import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { formatDifficulty, HASH_ADDED, HASH_SET_FULL, hashToDisplayHex, uint32ToHex, unitsToTarget } from "../pow";
import { difficultyToUnitsFloor, unitsToDifficulty } from "../shares/difficulty";
import { parseUsername } from "./address";
import { WindowCounter } from "./bans";
import { ErrorCode, StratumError } from "./errors";
import type { AcceptedShare } from "./events";
import { LINE_TOO_LONG, LineFramer, type LineHandler } from "./framing";
import type { SessionHost } from "./host";
import { notifyMiddle, type ResumableState, type SessionJob } from "./jobs";
import { TokenBucket } from "./limits";
import { errorLine, isParseError, parseRequest, parseRequestFast, resultLine, setDifficultyLine, trueLine, type RpcId } from "./rpc";
import { parseSubmitParams } from "./shares";
import { proposeDifficulty, VardiffState } from "./vardiff";

const MAX_AGENT_LENGTH = 128;
const MAX_WORKERS = 32;
const D_PARAM_RE = /(?:^|[,;\s])d=([0-9.eE+-]+)/;

/** One miner connection: its protocol state, the jobs it was sent and its difficulty. */
export class Session implements LineHandler {
  readonly framer: LineFramer;
  readonly connectedAt: number;
  lastActivity: number;
  closed = false;

  subscriptionId: string | null = null;
  extranonce1: string | null = null;
  extranonce1Buf: Buffer | null = null;
  userAgent = "";
  address: string | null = null;
  /** Usernames authorized on this connection (all for the same address) and their worker names. */
  usernames: string[] = [];
  workers: string[] = [];
  /** Negotiated BIP310 mask (0 = no version rolling). */
  versionMask = 0;

  /** Current difficulty: canonical decimal (≤ 12 decimals), as a number, in units (× 10^12) and as a target. */
  difficulty: string;
  difficultyNumber: number;
  difficultyUnits: bigint;
  target: bigint;
  /** Floor from mining.configure minimum-difficulty (0 = none). */
  minDifficulty = 0;
  retargetAt = 0;
  vardiff: VardiffState | null = null;
  readonly jobs = new Map<string, SessionJob>();
  staleIds: Set<string> | null = null;
  /** Block generation of the last job sent. */
  generation = -1;
  /** A resumed session's jobs, restored at authorize when the payout address is the same. */
  private resumed: ResumableState | null = null;
  private invalidShares: WindowCounter | null = null;
  /** Message budget (limits.messagesPerSecond / messageBurst). */
  private readonly budget: TokenBucket;
  /** Messages dropped over budget, and protocol strikes, within bans.windowMs. */
  private dropped: WindowCounter | null = null;
  strikes: WindowCounter | null = null;
  /** When reading stopped because the client does not read its replies (0 = reading). */
  outputPausedAt = 0;
  /** Reading stopped until the next event-loop turn (the per-turn line budget is spent). */
  private turnPaused = false;
  /** Counted by the server's ConnectionLimiter (released when the session is removed). */
  admitted = false;

  constructor(
    readonly server: SessionHost<Session>,
    readonly socket: Socket,
    readonly id: number,
    readonly ip: string,
    now: number,
  ) {
    this.framer = new LineFramer(server.config.maxLineBytes);
    this.budget = new TokenBucket(server.config.limits.messagesPerSecond, server.config.limits.messageBurst, now);
    this.connectedAt = now;
    this.lastActivity = now;
    this.difficulty = "";
    this.difficultyNumber = 0;
    this.difficultyUnits = 0n;
    this.target = 0n;
    this.setDifficultyQuiet(server.clampDifficultyText(server.config.startDifficulty));
  }

  get subscribed(): boolean {
    return this.extranonce1 !== null;
  }

  get authorized(): boolean {
    return this.address !== null;
  }

  onData(chunk: Buffer): void {
    if (this.closed) return;
    this.framer.append(chunk);
    this.drainLines();
  }

  /**
   * Handles the buffered lines within this connection's budgets (issue 16): at most
   * limits.maxLinesPerTurn per event-loop turn, after which reading stops until the next turn so
   * that one socket cannot starve the others; and one token per line from the message bucket, the
   * lines over budget being dropped unanswered (a connection that keeps going over is closed).
   */
  private drainLines(): void {
    const limits = this.server.config.limits;
    const now = Date.now();
    let completed = false;
    let handled = 0;
    this.socket.cork();
    try {
      // Nothing more is handled while the client does not read what it was sent.
      while (!this.closed && this.outputPausedAt === 0) {
        if (handled >= limits.maxLinesPerTurn) {
          this.yieldTurn();
          break;
        }
        const line = this.framer.next();
        if (line === null) break;
        if (line === LINE_TOO_LONG) {
          this.server.strike(this, "line-too-long");
          this.send(errorLine(null, ErrorCode.OTHER, `line longer than ${this.framer.maxLineBytes} bytes`));
          this.close("line-too-long");
          break;
        }
        completed = true;
        // An empty line is a message like any other for the budgets (never answered): a stream
        // of bare newlines is throttled and closed as any other flood.
        if (!this.budget.take(1, now)) {
          this.overBudget(now);
          continue;
        }
        handled++;
        if (line === "") continue;
        this.lastActivity = now; // idle means no messages, whatever bytes arrive
        this.onLine(line);
      }
    } finally {
      this.socket.uncork();
    }
    // The incomplete-line clock starts when a line is left unfinished (limits.lineTimeoutMs).
    const f = this.framer;
    if (f.buffered === 0 || this.turnPaused || this.outputPausedAt !== 0) f.partialSince = 0;
    else if (completed || f.partialSince === 0) f.partialSince = now;
  }

  private yieldTurn(): void {
    if (this.turnPaused) return;
    this.turnPaused = true;
    this.socket.pause();
    setImmediate(() => {
      this.turnPaused = false;
      if (this.closed) return;
      this.drainLines();
      this.maybeResume();
    });
  }

  /** Reads again unless the turn budget or unread output still holds reading back. */
  private maybeResume(): void {
    if (!this.closed && !this.turnPaused && this.outputPausedAt === 0) this.socket.resume();
  }

  /** A message over budget: dropped; the first of a window gets an error; too many close the connection. */
  private overBudget(now: number): void {
    const s = this.server;
    const limits = s.config.limits;
    s.metrics.droppedMessages++;
    if (this.dropped === null) this.dropped = new WindowCounter(s.config.bans.windowMs);
    const n = this.dropped.add(1, now);
    if (n === 1) this.send(errorLine(null, ErrorCode.OTHER, `rate limit: more than ${limits.messagesPerSecond} messages/s; messages are being dropped`));
    if (n >= limits.maxDroppedMessages) s.punish(this, "rate-limit", `message rate limit exceeded (${limits.messagesPerSecond}/s, burst ${limits.messageBurst})`);
  }

  /** An answer that rejects costs limits.rejectCost extra tokens (stale and unknown jobs included). */
  chargeReject(): void {
    this.budget.charge(this.server.config.limits.rejectCost, Date.now());
  }

  /** Slow-client timeouts, from the server's sweep: unfinished line, output that is not read. */
  checkTimeouts(now: number): void {
    const limits = this.server.config.limits;
    if (this.closed) return;
    if (this.outputPausedAt !== 0 && now - this.outputPausedAt > limits.slowReaderTimeoutMs) {
      this.close("slow-reader", true);
    } else if (this.framer.partialSince !== 0 && now - this.framer.partialSince > limits.lineTimeoutMs) {
      this.send(errorLine(null, ErrorCode.OTHER, `incomplete line: no newline within ${limits.lineTimeoutMs} ms`));
      this.close("line-timeout");
    }
  }

  onLine(line: string): void {
    if (this.closed) return;
    const req = parseRequestFast(line) ?? parseRequest(line);
    if (isParseError(req)) {
      if (req.malformed) {
        this.send(errorLine(req.id, ErrorCode.OTHER, req.error));
        this.chargeReject();
        this.server.strike(this, "malformed");
      } else if (req.error !== "missing method") {
        this.send(errorLine(req.id, ErrorCode.OTHER, req.error));
      }
      return;
    }
    const { id, params } = req;
    try {
      switch (req.method) {
        case "mining.submit":
          this.submit(id, params);
          return;
        case "mining.subscribe":
          this.subscribe(id, params);
          return;
        case "mining.authorize":
          this.authorize(id, params);
          return;
        case "mining.configure":
          this.configure(id, params);
          return;
        case "mining.suggest_difficulty":
          this.suggestDifficulty(id, params[0]);
          return;
        case "mining.extranonce.subscribe":
          this.send(trueLine(id));
          return;
        case "mining.get_transactions":
          this.send(errorLine(id, ErrorCode.OTHER, "mining.get_transactions is not supported"));
          return;
        case "mining.ping":
          this.send(resultLine(id, "pong"));
          return;
        default:
          this.chargeReject();
          this.send(errorLine(id, ErrorCode.OTHER, "unknown method"));
      }
    } catch (err) {
      this.server.log.error({ err, session: this.id, method: req.method }, "stratum handler failed");
      this.send(errorLine(id, ErrorCode.OTHER, "internal error"));
    }
  }

  // --- methods -------------------------------------------------------------------------------

  private subscribe(id: RpcId, params: unknown[]): void {
    if (this.extranonce1 === null) {
      if (typeof params[0] === "string") this.userAgent = params[0].slice(0, MAX_AGENT_LENGTH);
      const resumeId = typeof params[1] === "string" && params[1].length <= 64 ? params[1] : undefined;
      let en1: string;
      let resumed: boolean;
      try {
        [en1, resumed] = this.server.extranonces.allocate(resumeId);
      } catch (err) {
        this.send(errorLine(id, ErrorCode.OTHER, (err as Error).message));
        return;
      }
      this.extranonce1 = en1;
      this.extranonce1Buf = Buffer.from(en1, "hex");
      this.subscriptionId = resumed ? resumeId! : randomBytes(8).toString("hex");
      this.server.metrics.subscribed++;
      if (resumed) {
        this.resumed = this.server.takeResumable(this.subscriptionId, en1);
        this.server.log.debug({ session: this.id, extranonce1: en1, jobs: this.resumed?.jobs.length ?? 0 }, "session resumed");
      }
    }
    const sid = this.subscriptionId;
    this.send(
      resultLine(id, [
        [
          ["mining.set_difficulty", sid],
          ["mining.notify", sid],
        ],
        this.extranonce1,
        this.server.config.extranonce2Size,
      ]),
    );
    if (this.address !== null && this.jobs.size === 0) this.startWork();
  }

  private authorize(id: RpcId, params: unknown[]): void {
    let parsed;
    try {
      parsed = parseUsername(params[0]);
      const unpayable = this.server.unpayableReason(parsed.address);
      if (unpayable !== undefined) {
        this.send(errorLine(id, ErrorCode.UNAUTHORIZED, unpayable, false));
        return;
      }
    } catch (err) {
      this.send(errorLine(id, ErrorCode.UNAUTHORIZED, (err as Error).message, false));
      // Checking an address costs a keccak: repeated failures count towards a ban.
      this.server.strike(this, "bad-authorize");
      return;
    }
    if (this.address !== null && this.address !== parsed.address) {
      this.send(
        errorLine(
          id,
          ErrorCode.UNAUTHORIZED,
          `this connection already mines for ${this.address}; use a new connection for another payout address`,
          false,
        ),
      );
      return;
    }
    const first = this.address === null;
    if (this.usernames.length >= MAX_WORKERS && !this.usernames.includes(params[0] as string)) {
      this.send(errorLine(id, ErrorCode.UNAUTHORIZED, `at most ${MAX_WORKERS} workers per connection`, false));
      return;
    }
    if (!this.usernames.includes(params[0] as string)) {
      this.usernames.push(params[0] as string);
      this.workers.push(parsed.worker);
    }
    this.address = parsed.address;
    if (first) {
      this.server.metrics.authorized++;
      this.server.log.info({ session: this.id, ip: this.ip, address: parsed.address, worker: parsed.worker, agent: this.userAgent }, "miner authorized");
      this.vardiff = new VardiffState(Date.now());
      // Password "d=0.5" is the common way to ask for a start difficulty.
      const m = typeof params[1] === "string" ? D_PARAM_RE.exec(params[1]) : null;
      if (m) this.applySuggested(Number(m[1]), false);
    }
    this.send(trueLine(id));
    if (first && this.subscribed) this.startWork();
  }

  private configure(id: RpcId, params: unknown[]): void {
    const extensions = Array.isArray(params[0]) ? params[0] : [];
    const ext = params[1] !== null && typeof params[1] === "object" && !Array.isArray(params[1]) ? (params[1] as Record<string, unknown>) : {};
    const result: Record<string, unknown> = {};
    for (const name of extensions) {
      if (typeof name !== "string") continue;
      if (name === "version-rolling") {
        const maskText = ext["version-rolling.mask"];
        const clientMask = typeof maskText === "string" && /^[0-9a-fA-F]{1,8}$/.test(maskText) ? parseInt(maskText, 16) >>> 0 : 0xffffffff;
        const minBits = typeof ext["version-rolling.min-bit-count"] === "number" ? (ext["version-rolling.min-bit-count"] as number) : 0;
        const mask = (clientMask & this.server.versionMask) >>> 0;
        if (popcount(mask) < minBits) {
          result["version-rolling"] = false;
          result["version-rolling.mask"] = uint32ToHex(mask);
        } else {
          this.versionMask = mask;
          result["version-rolling"] = true;
          result["version-rolling.mask"] = uint32ToHex(mask);
        }
      } else if (name === "minimum-difficulty") {
        const v = ext["minimum-difficulty.value"];
        if (typeof v === "number" && Number.isFinite(v) && v > 0) {
          this.minDifficulty = Math.min(v, this.server.maxDifficultyNumber);
          result["minimum-difficulty"] = true;
          if (this.difficultyNumber < this.minDifficulty) this.applySuggested(this.minDifficulty, this.jobs.size > 0);
        } else {
          result["minimum-difficulty"] = false;
        }
      } else if (name === "subscribe-extranonce") {
        result["subscribe-extranonce"] = true;
      } else {
        result[name] = false;
      }
    }
    this.send(resultLine(id, result));
  }

  private suggestDifficulty(id: RpcId, value: unknown): void {
    const d = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
    if (!Number.isFinite(d) || d <= 0) {
      this.send(errorLine(id, ErrorCode.OTHER, "suggested difficulty must be a positive number"));
      return;
    }
    this.applySuggested(d, this.jobs.size > 0);
    this.send(trueLine(id));
  }

  /** Sets the difficulty a miner asked for, within the pool's bounds and never above the network's. */
  private applySuggested(d: number, live: boolean): void {
    if (!Number.isFinite(d) || d <= 0) return;
    const bounded = Math.min(this.server.maxDifficultyNumber, Math.max(this.floor(), d));
    const text = this.server.clampDifficultyText(formatDifficulty(bounded));
    if (text === this.difficulty) return;
    if (live) this.retarget(text, Date.now());
    else this.setDifficultyQuiet(text);
  }

  private floor(): number {
    return Math.max(this.server.minDifficultyNumber, this.minDifficulty);
  }

  // --- jobs and difficulty -------------------------------------------------------------------

  /**
   * First work after authorize: set_difficulty, then a clean notify. A resumed session whose
   * address is the same gets its jobs back (shares it found before the disconnect still count) and
   * a notify with clean_jobs=false.
   */
  private startWork(): void {
    const restored = this.restoreResumed();
    const work = this.server.work;
    if (work !== null && this.difficultyUnits > work.tw.maxDifficultyUnits) this.setDifficultyQuiet(work.tw.maxDifficulty);
    this.send(setDifficultyLine(this.difficulty));
    if (work !== null) this.sendJob(!restored);
  }

  private restoreResumed(): boolean {
    const r = this.resumed;
    this.resumed = null;
    if (r === null || r.address !== this.address || r.generation !== this.server.generation) return false;
    for (const job of r.jobs) this.jobs.set(job.id, job);
    this.staleIds = r.staleIds;
    this.generation = r.generation;
    return this.jobs.size > 0;
  }

  /** What a resumed session needs back (see StratumServer.takeResumable). */
  resumableState(): ResumableState | null {
    if (this.address === null || this.jobs.size === 0) return null;
    return { address: this.address, generation: this.generation, jobs: [...this.jobs.values()], staleIds: this.staleIds };
  }

  /** Sends the server's current work as a new job at the current difficulty. */
  sendJob(cleanRequested: boolean): void {
    const work = this.server.work;
    const address = this.address;
    if (work === null || address === null || this.closed) return;
    // Work from a newer block is always clean, even if the broadcast that said so was superseded.
    const clean = cleanRequested || this.generation !== work.tw.generation;
    this.generation = work.tw.generation;
    if (this.difficultyUnits > work.tw.maxDifficultyUnits) {
      // The network's difficulty fell below ours: a share must never be worth more than a block.
      this.setDifficultyQuiet(work.tw.maxDifficulty);
      this.send(setDifficultyLine(this.difficulty));
    }
    const key = `${address}:${this.difficulty}`;
    const parts = work.tw.partsFor(address, this.difficultyUnits, key);
    let middle = work.notifyCache.get(key);
    if (middle === undefined) {
      middle = notifyMiddle(work, parts);
      work.notifyCache.set(key, middle);
    }
    const id = this.server.nextJobId();
    if (clean && this.jobs.size > 0) {
      // Remember the ids of the work just invalidated, to answer "stale" rather than "not found".
      this.staleIds = new Set(this.jobs.keys());
      this.jobs.clear();
    }
    this.jobs.set(id, { id, work, parts, difficulty: this.difficulty, difficultyUnits: this.difficultyUnits, target: this.target });
    if (this.jobs.size > this.server.config.maxJobsPerSession) {
      const oldest = this.jobs.keys().next().value;
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
    this.send(`{"id":null,"method":"mining.notify","params":["${id}${middle}${clean}]}\n`);
  }

  /** Sets the difficulty (rounded down to 12 decimals, the finest the coinbase and the store hold) without telling the miner. */
  private setDifficultyQuiet(text: string): void {
    const units = difficultyToUnitsFloor(text);
    this.difficultyUnits = units;
    this.difficulty = unitsToDifficulty(units);
    this.difficultyNumber = Number(this.difficulty);
    this.target = unitsToTarget(units);
  }

  /** New difficulty: set_difficulty, then a fresh job (clean_jobs=false) so it applies at once. */
  retarget(text: string, now: number): void {
    this.setDifficultyQuiet(text);
    this.retargetAt = now;
    this.vardiff?.reset(now);
    this.send(setDifficultyLine(text));
    this.sendJob(false);
  }

  /** Vardiff evaluation (after a share, or from the sweep with idle=true). */
  maybeRetarget(now: number, idle: boolean): void {
    if (this.vardiff === null || this.jobs.size === 0) return;
    const s = this.server;
    const next = proposeDifficulty(s.config.vardiff, this.vardiff, this.difficultyNumber, this.floor(), s.maxDifficultyNumber, now, idle);
    if (next === null) return;
    const text = s.clampDifficultyText(formatDifficulty(next));
    if (text !== this.difficulty) {
      s.log.debug({ session: this.id, from: this.difficulty, to: text }, "vardiff retarget");
      this.retarget(text, now);
    }
  }

  /** Pushes a new version mask after the server's mask changed (BIP310 mining.set_version_mask). */
  setVersionMask(serverMask: number): void {
    if (this.versionMask === 0) return;
    const mask = (this.versionMask & serverMask) >>> 0;
    if (mask === this.versionMask) return;
    this.versionMask = mask;
    this.send(`{"id":null,"method":"mining.set_version_mask","params":["${uint32ToHex(mask)}"]}\n`);
  }

  // --- shares --------------------------------------------------------------------------------

  private submit(id: RpcId, params: unknown[]): void {
    const s = this.server;
    try {
      this.checkAndRecord(id, params);
    } catch (err) {
      if (!(err instanceof StratumError)) throw err;
      s.metrics.reject(err.reason);
      this.chargeReject();
      this.send(errorLine(id, err.code, err.message));
      // Stale work and a full duplicate set are not the miner's fault.
      if (err.reason !== "stale" && err.reason !== "job-not-found" && err.reason !== "share-limit") this.countInvalid();
    }
  }

  private countInvalid(): void {
    const bans = this.server.config.bans;
    if (!bans.enabled) return;
    if (this.invalidShares === null) this.invalidShares = new WindowCounter(bans.windowMs);
    if (this.invalidShares.add(1, Date.now()) >= bans.maxInvalidShares) this.server.banSession(this, "invalid-shares");
  }

  private checkAndRecord(id: RpcId, params: unknown[]): void {
    const s = this.server;
    if (this.extranonce1Buf === null) throw new StratumError(ErrorCode.NOT_SUBSCRIBED, "not subscribed", "not-subscribed");
    if (this.address === null) throw new StratumError(ErrorCode.UNAUTHORIZED, "unauthorized worker", "unauthorized");
    const p = parseSubmitParams(params, s.config.extranonce2Size);
    const worker = this.workerOf(p.worker);
    if (worker === null) throw new StratumError(ErrorCode.UNAUTHORIZED, `worker ${JSON.stringify(p.worker.slice(0, 80))} is not authorized on this connection`, "unauthorized");
    const job = this.jobs.get(p.jobId);
    if (job === undefined) {
      if (this.staleIds !== null && this.staleIds.has(p.jobId)) throw STALE();
      throw new StratumError(ErrorCode.JOB_NOT_FOUND, "job not found", "job-not-found");
    }
    const tw = job.work.tw;
    if (tw.generation !== s.generation) throw STALE();

    const now = Date.now();
    const ntime = parseInt(p.ntime, 16);
    if (ntime < tw.template.mintime) {
      throw new StratumError(ErrorCode.OTHER, `ntime out of range: before the template's mintime ${tw.template.mintime}`, "ntime-out-of-range");
    }
    if (ntime > Math.max(Math.floor(now / 1000), job.work.ntime) + s.config.maxNtimeFutureSeconds) {
      throw new StratumError(ErrorCode.OTHER, `ntime out of range: more than ${s.config.maxNtimeFutureSeconds} s in the future`, "ntime-out-of-range");
    }
    let version = tw.template.version >>> 0;
    if (p.versionBits !== null) {
      const bits = parseInt(p.versionBits, 16) >>> 0;
      if ((bits & ~this.versionMask) !== 0) {
        throw new StratumError(
          ErrorCode.OTHER,
          this.versionMask === 0
            ? "version bits outside the negotiated mask: version rolling was not negotiated (mining.configure)"
            : `version bits ${p.versionBits} outside the negotiated mask ${uint32ToHex(this.versionMask)}`,
          "version-bits-outside-mask",
        );
      }
      version = ((version & ~this.versionMask) | (bits & this.versionMask)) >>> 0;
    }
    const h = s.hasher.hash(job, this.extranonce1Buf, p.extranonce2, version, ntime, parseInt(p.nonce, 16));
    const isBlock = h.hashValue <= tw.networkTarget;
    // This previous block's set: a found block replaces it at once (the chain may announce synchronously).
    const seen = s.duplicates;
    // The block goes out first: nothing below may delay or prevent it.
    const blockSubmit = isBlock ? s.submitBlock(s.hasher.lastHeader(), s.hasher.lastCoinbase(), tw) : null;

    // Judged and credited at the difficulty the job was sent with, which its coinbase commits to
    // (never above the network's, so a block always meets it).
    if (h.hashValue > job.target) {
      throw new StratumError(
        ErrorCode.LOW_DIFFICULTY,
        job.difficulty === this.difficulty
          ? "low difficulty share (hash above the share target)"
          : `low difficulty share: job ${job.id} was sent at difficulty ${job.difficulty} (committed in its coinbase); difficulty ${this.difficulty} applies from the next job`,
        "low-difficulty",
      );
    }
    // One header, one credit: whatever job id, spelling or connection the same header comes under.
    // Blocks are also kept apart, in a set that is never full: a full share set must not let a
    // block header be credited twice before the new block's work arrives.
    if (isBlock && !s.blockHeaders.add(h.hash)) throw new StratumError(ErrorCode.DUPLICATE, "duplicate share", "duplicate");
    const dup = seen.add(h.hash);
    if (dup === HASH_SET_FULL && !isBlock) {
      throw new StratumError(ErrorCode.OTHER, `too many shares on this block (stratum.maxSharesPerBlock ${seen.maxEntries}); the pool must raise its difficulty`, "share-limit");
    }
    if (dup !== HASH_ADDED && dup !== HASH_SET_FULL) throw new StratumError(ErrorCode.DUPLICATE, "duplicate share", "duplicate");

    const share: AcceptedShare = {
      address: this.address,
      worker,
      difficulty: job.difficulty,
      jobId: job.id,
      height: tw.template.height,
      prevhash: tw.prevhash,
      coinb1: job.parts.coinb1,
      coinb2: job.parts.coinb2,
      extranonce1: this.extranonce1!,
      extranonce2: p.extranonce2,
      merkleBranch: tw.branch,
      version: uint32ToHex(version),
      nbits: tw.nbits,
      ntime: p.ntime,
      nonce: p.nonce,
      hash: hashToDisplayHex(h.hash),
      isBlock,
      time: now,
    };
    s.recordShare(this, id, share, seen, h.hash, blockSubmit);
    if (this.vardiff !== null) {
      this.vardiff.shares++;
      this.maybeRetarget(now, false);
    }
  }

  /** The worker a submit's name refers to, if it was authorized on this connection. */
  private workerOf(name: string): string | null {
    const i = this.usernames.indexOf(name);
    if (i !== -1) return this.workers[i];
    // The same address written in another case is the same payout.
    const dot = name.indexOf(".");
    const address = (dot === -1 ? name : name.slice(0, dot)).toLowerCase();
    const worker = dot === -1 ? "" : name.slice(dot + 1);
    return address === this.address && this.workers.includes(worker) ? worker : null;
  }

  // --- output --------------------------------------------------------------------------------

  send(line: string): void {
    const socket = this.socket;
    if (this.closed || socket.destroyed) return;
    socket.write(line);
    const pending = socket.writableLength;
    if (pending > this.server.config.pauseWriteBufferBytes) {
      if (pending > this.server.config.maxWriteBufferBytes) {
        this.close("slow-reader", true);
        return;
      }
      if (this.outputPausedAt === 0) {
        // Stop reading requests from a client that does not read its replies; the sweep closes
        // it if it stays so for limits.slowReaderTimeoutMs.
        this.outputPausedAt = Date.now();
        socket.pause();
        socket.once("drain", () => {
          this.outputPausedAt = 0;
          if (this.closed) return;
          this.drainLines();
          this.maybeResume();
        });
      }
    }
  }

  /**
   * Closes the connection and records why: stops reading at once, flushes what was written (unless
   * `now`: a client that does not read gets nothing more), and destroys the socket within 2 s.
   */
  close(reason: string, now = false): void {
    if (this.closed) return;
    this.closed = true;
    this.server.metrics.disconnect(reason);
    this.server.log.debug({ session: this.id, ip: this.ip, reason }, "closing stratum connection");
    this.socket.pause();
    if (now) {
      this.socket.destroy();
      return;
    }
    this.socket.end();
    this.socket.destroySoon();
    // A client that never reads keeps end() from completing: force it after a short while.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}

const STALE = () => new StratumError(ErrorCode.JOB_NOT_FOUND, "stale job (a new block was found)", "stale");

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v !== 0; v = (v & (v - 1)) >>> 0) c++;
  return c;
}

