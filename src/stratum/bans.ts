/**
 * Bans, connection first (issue 16, item 4): a connection that misbehaves is closed with the
 * reason in a Stratum error; its source address is refused only after `maxOffencesPerAddress`
 * such closes within `windowMs`, and then only for `banMs` (short: a farm behind one NAT shares
 * the address with the offender). Connections already open from that address are never touched.
 */
export interface BanSettings {
  enabled: boolean;
  /** Protocol strikes (malformed JSON, bad authorize) on one connection within the window: that connection is closed. */
  maxStrikes: number;
  /** Invalid shares (other than stale / unknown job) on one connection within the window: that connection is closed. */
  maxInvalidShares: number;
  /** Connections from one address closed for abuse within the window before the address is refused. */
  maxOffencesPerAddress: number;
  windowMs: number;
  /** How long an address is refused. */
  banMs: number;
}

export const DEFAULT_BAN_SETTINGS: BanSettings = {
  enabled: true,
  maxStrikes: 20,
  maxInvalidShares: 200,
  maxOffencesPerAddress: 5,
  windowMs: 60_000,
  banMs: 60_000,
};

/** Checks the settings; throws a RangeError naming the first bad one. */
export function checkBanSettings(b: BanSettings): BanSettings {
  if (typeof b.enabled !== "boolean") throw new RangeError("stratum.bans.enabled must be true or false");
  for (const k of ["maxStrikes", "maxInvalidShares", "maxOffencesPerAddress", "windowMs", "banMs"] as const) {
    if (!Number.isInteger(b[k]) || b[k] < 1) throw new RangeError(`stratum.bans.${k} must be a positive integer, got ${JSON.stringify(b[k])}`);
  }
  return b;
}

interface StrikeWindow {
  start: number;
  count: number;
}

/** A fixed window counter; cheap enough to keep one per connection. */
export class WindowCounter {
  private start = 0;
  private count = 0;
  constructor(private readonly windowMs: number) {}
  /** Adds `n` and returns the total within the current window. */
  add(n: number, now: number): number {
    if (now - this.start > this.windowMs) {
      this.start = now;
      this.count = 0;
    }
    this.count += n;
    return this.count;
  }
}

/** Per-address offence counting and short address bans. */
export class BanList {
  private readonly offences = new Map<string, StrikeWindow>();
  private readonly banned = new Map<string, { until: number; reason: string }>();

  constructor(readonly settings: BanSettings) {}

  isBanned(ip: string, now = Date.now()): boolean {
    return this.banOf(ip, now) !== null;
  }

  /** The active ban of `ip` (time left and why), or null. */
  banOf(ip: string, now = Date.now()): { until: number; reason: string } | null {
    if (!this.settings.enabled) return null;
    const b = this.banned.get(ip);
    if (b === undefined) return null;
    if (b.until > now) return b;
    this.banned.delete(ip);
    return null;
  }

  ban(ip: string, reason = "abuse", now = Date.now()): void {
    if (!this.settings.enabled) return;
    this.banned.set(ip, { until: now + this.settings.banMs, reason });
    this.offences.delete(ip);
  }

  /**
   * Records that a connection from `ip` was closed for abuse; returns true when that made the
   * address banned (the `maxOffencesPerAddress`-th offence within the window).
   */
  strike(ip: string, weight = 1, now = Date.now(), reason = "abuse"): boolean {
    if (!this.settings.enabled) return false;
    let w = this.offences.get(ip);
    if (w === undefined || now - w.start > this.settings.windowMs) {
      w = { start: now, count: 0 };
      this.offences.set(ip, w);
    }
    w.count += weight;
    if (w.count >= this.settings.maxOffencesPerAddress) {
      this.ban(ip, reason, now);
      return true;
    }
    return false;
  }

  unban(ip: string): void {
    this.banned.delete(ip);
    this.offences.delete(ip);
  }

  list(now = Date.now()): { ip: string; until: number; reason: string }[] {
    const out: { ip: string; until: number; reason: string }[] = [];
    for (const [ip, b] of this.banned) if (b.until > now) out.push({ ip, until: b.until, reason: b.reason });
    return out;
  }

  sweep(now = Date.now()): void {
    for (const [ip, b] of this.banned) if (b.until <= now) this.banned.delete(ip);
    for (const [ip, w] of this.offences) if (now - w.start > this.settings.windowMs) this.offences.delete(ip);
  }
}
