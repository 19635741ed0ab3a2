import type { RejectReason } from "./errors";

const TWO_32 = 4294967296;

/** Accepted difficulty per address in fixed time buckets, for a windowed hash-rate estimate. */
class RateBuckets {
  readonly sums: Float64Array;
  readonly stamps: Float64Array;
  lastShare = 0;
  firstShare = 0;
  constructor(n: number) {
    this.sums = new Float64Array(n);
    this.stamps = new Float64Array(n).fill(-1);
  }
}

export interface StratumStats {
  connections: number;
  subscribed: number;
  authorized: number;
  totalConnections: number;
  accepted: number;
  acceptedDifficulty: number;
  rejected: Record<string, number>;
  rejectedTotal: number;
  blocks: number;
  blocksSubmitFailed: number;
  sinkErrors: number;
  strikes: number;
  /** Connections closed for abuse (strikes, invalid shares, message flood). */
  bans: number;
  /** Source addresses refused for a while after repeated abuse. */
  addressBans: number;
  /** Messages dropped because their connection was over its message budget. */
  droppedMessages: number;
  /** New connections refused at accept, by reason (banned, too-many-connections, too-many-from-address, connect-rate). */
  refused: Record<string, number>;
  /** Total connection cap in force (maxConnections reduced for the descriptor reserve). */
  connectionCap: number;
  disconnects: Record<string, number>;
  /** Estimated hashes per second per payout address over the rate window. */
  hashrate: Record<string, number>;
  hashrateWindowSeconds: number;
}

/** Counters of the Stratum server; everything is plain numbers, readable at any time. */
export class StratumMetrics {
  connections = 0;
  subscribed = 0;
  authorized = 0;
  totalConnections = 0;
  accepted = 0;
  acceptedDifficulty = 0;
  rejectedTotal = 0;
  readonly rejected: Record<string, number> = {};
  blocks = 0;
  blocksSubmitFailed = 0;
  sinkErrors = 0;
  strikes = 0;
  bans = 0;
  addressBans = 0;
  droppedMessages = 0;
  readonly refused: Record<string, number> = {};
  connectionCap = 0;
  readonly disconnects: Record<string, number> = {};
  private readonly rates = new Map<string, RateBuckets>();
  private readonly bucketMs: number;
  private readonly buckets: number;

  constructor(readonly windowSeconds = 600, bucketSeconds = 10) {
    this.bucketMs = bucketSeconds * 1000;
    this.buckets = Math.max(1, Math.ceil(windowSeconds / bucketSeconds));
  }

  reject(reason: RejectReason): void {
    this.rejectedTotal++;
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  disconnect(reason: string): void {
    this.disconnects[reason] = (this.disconnects[reason] ?? 0) + 1;
  }

  refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }

  accept(address: string, difficulty: number, now: number): void {
    this.accepted++;
    this.acceptedDifficulty += difficulty;
    let r = this.rates.get(address);
    if (r === undefined) {
      r = new RateBuckets(this.buckets);
      r.firstShare = now;
      this.rates.set(address, r);
    }
    const b = Math.floor(now / this.bucketMs);
    const i = b % this.buckets;
    if (r.stamps[i] !== b) {
      r.stamps[i] = b;
      r.sums[i] = 0;
    }
    r.sums[i] += difficulty;
    r.lastShare = now;
  }

  /**
   * difficulty × 2^32 summed over the window ÷ window seconds (or ÷ the time since the address's
   * first share when that is shorter, so a miner that just started is not under-reported).
   */
  hashrate(address: string, now = Date.now()): number {
    const r = this.rates.get(address);
    if (r === undefined) return 0;
    const current = Math.floor(now / this.bucketMs);
    let sum = 0;
    for (let i = 0; i < this.buckets; i++) {
      if (r.stamps[i] > current - this.buckets) sum += r.sums[i];
    }
    const span = Math.min(this.windowSeconds, Math.max(this.bucketMs / 1000, (now - r.firstShare) / 1000));
    return (sum * TWO_32) / span;
  }

  /** Forgets addresses with no share within the window. */
  sweep(now = Date.now()): void {
    for (const [addr, r] of this.rates) if (now - r.lastShare > this.windowSeconds * 1000) this.rates.delete(addr);
  }

  snapshot(now = Date.now()): StratumStats {
    const hashrate: Record<string, number> = {};
    for (const addr of this.rates.keys()) hashrate[addr] = this.hashrate(addr, now);
    return {
      connections: this.connections,
      subscribed: this.subscribed,
      authorized: this.authorized,
      totalConnections: this.totalConnections,
      accepted: this.accepted,
      acceptedDifficulty: this.acceptedDifficulty,
      rejected: { ...this.rejected },
      rejectedTotal: this.rejectedTotal,
      blocks: this.blocks,
      blocksSubmitFailed: this.blocksSubmitFailed,
      sinkErrors: this.sinkErrors,
      strikes: this.strikes,
      bans: this.bans,
      addressBans: this.addressBans,
      droppedMessages: this.droppedMessages,
      refused: { ...this.refused },
      connectionCap: this.connectionCap,
      disconnects: { ...this.disconnects },
      hashrate,
      hashrateWindowSeconds: this.windowSeconds,
    };
  }
}
