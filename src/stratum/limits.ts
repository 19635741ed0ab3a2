import fs from "node:fs";

/**
 * Per-connection and per-address budgets of the Stratum server (issue 16: one abusive connection
 * must not slow anyone else down). Every value is in the config (`StratumConfig.limits`) and in
 * docs/stratum.md ("Limits").
 */
export interface LimitSettings {
  /** Sustained messages per second one connection may send (token-bucket refill rate). */
  messagesPerSecond: number;
  /** Messages a connection may send at once above the sustained rate (bucket capacity). */
  messageBurst: number;
  /**
   * Extra tokens an answer that rejects costs (any rejected submit, stale and unknown job ids
   * included, unknown methods, malformed JSON): a flood of them runs the bucket dry 1 + this times
   * faster than valid traffic.
   */
  rejectCost: number;
  /** Messages dropped over budget within `bans.windowMs` after which the connection is closed. */
  maxDroppedMessages: number;
  /** Lines one connection may have handled per event-loop turn before it yields to the others. */
  maxLinesPerTurn: number;
  /** Open connections from one source address. */
  maxConnectionsPerAddress: number;
  /** New connections per second from one source address, sustained. */
  connectsPerSecondPerAddress: number;
  /** New connections from one source address at once above the sustained rate. */
  connectBurstPerAddress: number;
  /**
   * File descriptors kept free for everything else in the process (HTTP API, EVM RPC, store and
   * chain files): the total connection cap is min(maxConnections, soft RLIMIT_NOFILE − descriptors
   * open at listen() − this).
   */
  fdReserve: number;
  /** An unfinished line (no newline yet) older than this closes the connection (slowloris). */
  lineTimeoutMs: number;
  /** A connection whose unsent output stays above pauseWriteBufferBytes this long is closed. */
  slowReaderTimeoutMs: number;
  /**
   * A refused connection (banned or over a cap) gets its reason, is never read, and is held open
   * this long before it is closed (0: closed at once), so that a client reconnecting as soon as it
   * is closed cannot turn refusals into a storm of connects (and, for one that writes without
   * reading, of bytes the kernel must take in before each close).
   */
  refusalHoldMs: number;
  /** Refused connections held at once (beyond: closed at once); kept out of the connection cap. */
  maxHeldRefusals: number;
}

export const DEFAULT_LIMIT_SETTINGS: LimitSettings = {
  messagesPerSecond: 100,
  messageBurst: 500,
  rejectCost: 4,
  maxDroppedMessages: 500,
  maxLinesPerTurn: 32,
  maxConnectionsPerAddress: 5000,
  connectsPerSecondPerAddress: 100,
  connectBurstPerAddress: 1000,
  fdReserve: 256,
  lineTimeoutMs: 10_000,
  slowReaderTimeoutMs: 10_000,
  refusalHoldMs: 30_000,
  maxHeldRefusals: 128,
};

/** Checks the settings; throws a RangeError naming the first bad one (`stratum.limits.<name>`). */
export function checkLimitSettings(l: LimitSettings): LimitSettings {
  const positive: (keyof LimitSettings)[] = ["messagesPerSecond", "messageBurst", "connectsPerSecondPerAddress", "connectBurstPerAddress"];
  for (const k of positive) {
    if (typeof l[k] !== "number" || !Number.isFinite(l[k]) || l[k] <= 0) throw new RangeError(`stratum.limits.${k} must be a positive number, got ${JSON.stringify(l[k])}`);
  }
  const counts: (keyof LimitSettings)[] = ["maxDroppedMessages", "maxLinesPerTurn", "maxConnectionsPerAddress", "lineTimeoutMs", "slowReaderTimeoutMs"];
  for (const k of counts) {
    if (!Number.isInteger(l[k]) || l[k] < 1) throw new RangeError(`stratum.limits.${k} must be a positive integer, got ${JSON.stringify(l[k])}`);
  }
  for (const k of ["rejectCost", "fdReserve", "refusalHoldMs", "maxHeldRefusals"] as const) {
    if (!Number.isInteger(l[k]) || l[k] < 0) throw new RangeError(`stratum.limits.${k} must be a non-negative integer, got ${JSON.stringify(l[k])}`);
  }
  if (l.messageBurst < 1 + l.rejectCost) throw new RangeError("stratum.limits.messageBurst must be at least 1 + rejectCost");
  return l;
}

/**
 * Token bucket: `capacity` tokens, refilled at `rate` per second, lazily (no timers). take() spends
 * tokens when there are enough; charge() spends them even into debt (down to −capacity), so that
 * what an answer turned out to cost is paid by the following messages.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Spends `n` tokens if available; false (nothing spent) when over budget. */
  take(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Spends `n` tokens whatever the balance (never below −capacity). */
  charge(n: number, now: number): void {
    this.refill(now);
    this.tokens = Math.max(-this.capacity, this.tokens - n);
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }
}

interface AddressEntry {
  open: number;
  connects: TokenBucket;
}

export type AdmitRefusal = "too-many-connections" | "too-many-from-address" | "connect-rate";

/**
 * Open connections and the connection rate per source address, and the total cap. admit() is
 * called for every accepted socket; release() when it closes.
 */
export class ConnectionLimiter {
  private readonly byAddress = new Map<string, AddressEntry>();
  total = 0;

  constructor(
    readonly settings: LimitSettings,
    /** Total cap (already reduced for the descriptor reserve). */
    public cap: number,
  ) {}

  /** Admits a new connection from `ip`, or says why not (nothing is counted then). */
  admit(ip: string, now: number): AdmitRefusal | null {
    if (this.total >= this.cap) return "too-many-connections";
    let e = this.byAddress.get(ip);
    if (e === undefined) {
      e = { open: 0, connects: new TokenBucket(this.settings.connectsPerSecondPerAddress, this.settings.connectBurstPerAddress, now) };
      this.byAddress.set(ip, e);
    }
    if (e.open >= this.settings.maxConnectionsPerAddress) return "too-many-from-address";
    if (!e.connects.take(1, now)) return "connect-rate";
    e.open++;
    this.total++;
    return null;
  }

  release(ip: string): void {
    const e = this.byAddress.get(ip);
    if (e === undefined) return;
    e.open--;
    this.total--;
  }

  openFrom(ip: string): number {
    return this.byAddress.get(ip)?.open ?? 0;
  }

  /** Forgets addresses with nothing open and a full connect bucket. */
  sweep(now: number): void {
    for (const [ip, e] of this.byAddress) {
      if (e.open === 0 && e.connects.available(now) >= e.connects.capacity) this.byAddress.delete(ip);
    }
  }
}

/**
 * The soft RLIMIT_NOFILE and the descriptors open now, read from /proc (Linux). Null where /proc
 * is not available: the cap is then only `maxConnections`.
 */
export function descriptorBudget(): { limit: number; open: number } | null {
  try {
    const text = fs.readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
    if (m === null || m[1] === "unlimited") return null;
    const open = fs.readdirSync("/proc/self/fd").length;
    return { limit: Number(m[1]), open };
  } catch {
    return null;
  }
}

/** The total connection cap: configured maximum, reduced so that `fdReserve` descriptors stay free. */
export function connectionCap(maxConnections: number, fdReserve: number, budget = descriptorBudget()): number {
  if (budget === null) return maxConnections;
  return Math.max(0, Math.min(maxConnections, budget.limit - budget.open - fdReserve));
}
