export interface BanSettings {
  enabled: boolean;
  /** Protocol strikes (malformed JSON, bad requests, over-long lines) per IP within the window. */
  maxStrikes: number;
  /** Invalid shares (other than stale) per connection within the window. */
  maxInvalidShares: number;
  windowMs: number;
  banMs: number;
}

export const DEFAULT_BAN_SETTINGS: BanSettings = {
  enabled: true,
  maxStrikes: 20,
  maxInvalidShares: 200,
  windowMs: 60_000,
  banMs: 10 * 60_000,
};

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

/** Per-IP strike counting and temporary bans. */
export class BanList {
  private readonly strikes = new Map<string, StrikeWindow>();
  private readonly banned = new Map<string, number>();

  constructor(readonly settings: BanSettings) {}

  isBanned(ip: string, now = Date.now()): boolean {
    if (!this.settings.enabled) return false;
    const until = this.banned.get(ip);
    if (until === undefined) return false;
    if (until > now) return true;
    this.banned.delete(ip);
    return false;
  }

  ban(ip: string, now = Date.now()): void {
    if (!this.settings.enabled) return;
    this.banned.set(ip, now + this.settings.banMs);
    this.strikes.delete(ip);
  }

  /** Records a strike; returns true when the IP is now banned. */
  strike(ip: string, weight = 1, now = Date.now()): boolean {
    if (!this.settings.enabled) return false;
    let w = this.strikes.get(ip);
    if (w === undefined || now - w.start > this.settings.windowMs) {
      w = { start: now, count: 0 };
      this.strikes.set(ip, w);
    }
    w.count += weight;
    if (w.count >= this.settings.maxStrikes) {
      this.ban(ip, now);
      return true;
    }
    return false;
  }

  unban(ip: string): void {
    this.banned.delete(ip);
    this.strikes.delete(ip);
  }

  list(now = Date.now()): { ip: string; until: number }[] {
    const out: { ip: string; until: number }[] = [];
    for (const [ip, until] of this.banned) if (until > now) out.push({ ip, until });
    return out;
  }

  sweep(now = Date.now()): void {
    for (const [ip, until] of this.banned) if (until <= now) this.banned.delete(ip);
    for (const [ip, w] of this.strikes) if (now - w.start > this.settings.windowMs) this.strikes.delete(ip);
  }
}
