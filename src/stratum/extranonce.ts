import { randomBytes } from "node:crypto";

interface Closed {
  extranonce1: string;
  closedAt: number;
}

/**
 * Hands out extranonce1 values, unique among live sessions: a counter from a random start, skipping
 * values in use. Remembers recently closed sessions by subscription id so that a miner that
 * reconnects with `mining.subscribe(agent, sessionId)` gets its extranonce1 back when it is free.
 */
export class ExtranonceAllocator {
  private next: number;
  private readonly live = new Set<string>();
  private readonly closed = new Map<string, Closed>();
  private readonly space: number;

  /**
   * `partition`: this allocator hands out only the values v with v mod count = index, so that the
   * Stratum processes of one pool (cluster.ts) never give two miners the same extranonce1 (the
   * coinbase, and so every header, then differs between processes).
   */
  constructor(
    readonly size: number,
    private readonly resumeTtlMs = 10 * 60_000,
    private readonly maxRemembered = 100_000,
    private readonly partition: { index: number; count: number } = { index: 0, count: 1 },
  ) {
    if (!Number.isInteger(size) || size < 1 || size > 8) throw new RangeError("extranonce1 size must be 1..8 bytes");
    const { index, count } = partition;
    const full = size >= 4 ? 2 ** 32 : 2 ** (8 * size);
    if (!Number.isInteger(count) || count < 1 || count > full || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`extranonce1 partition must be 0 <= index < count <= ${full}, got ${index} of ${count}`);
    }
    this.space = Math.floor((full - index - 1) / count) + 1;
    this.next = randomBytes(4).readUInt32LE(0) % this.space;
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Returns [extranonce1 hex, resumed]. Throws when every value is in use. */
  allocate(resumeId?: string, now = Date.now()): [string, boolean] {
    if (resumeId !== undefined) {
      const c = this.closed.get(resumeId);
      if (c !== undefined) {
        this.closed.delete(resumeId);
        if (now - c.closedAt <= this.resumeTtlMs && !this.live.has(c.extranonce1)) {
          this.live.add(c.extranonce1);
          return [c.extranonce1, true];
        }
      }
    }
    if (this.live.size >= this.space) throw new Error("extranonce1 space exhausted");
    for (;;) {
      const v = this.next;
      this.next = (this.next + 1) % this.space;
      const hex = this.format(v);
      if (!this.live.has(hex)) {
        this.live.add(hex);
        return [hex, false];
      }
    }
  }

  release(extranonce1: string, subscriptionId: string | null, now = Date.now()): void {
    if (!this.live.delete(extranonce1)) return;
    if (subscriptionId === null) return;
    if (this.closed.size >= this.maxRemembered) {
      const oldest = this.closed.keys().next().value;
      if (oldest !== undefined) this.closed.delete(oldest);
    }
    this.closed.set(subscriptionId, { extranonce1, closedAt: now });
  }

  /** Drops resume entries older than the TTL (called from the server's sweep). */
  sweep(now = Date.now()): void {
    for (const [id, c] of this.closed) {
      if (now - c.closedAt <= this.resumeTtlMs) break; // insertion order = close order
      this.closed.delete(id);
    }
  }

  private format(k: number): string {
    const v = k * this.partition.count + this.partition.index;
    const hex = v.toString(16).padStart(Math.min(this.size, 4) * 2, "0");
    // Sizes above 4 bytes pad with zeros: 2^32 live sessions is more than enough uniqueness.
    return this.size > 4 ? hex + "00".repeat(this.size - 4) : hex;
  }
}
