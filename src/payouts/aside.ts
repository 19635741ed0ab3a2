import fs from "node:fs";
import path from "node:path";

/** One account the relay could not pay, kept out of batches until its next retry. */
export interface AsideEntry {
  /** Checksummed account. */
  account: string;
  /** Active epoch when it last failed. */
  epoch: number;
  /** What it would have been paid then (smallest unit, decimal string). */
  amount: string;
  /** Why, e.g. `NativeTransferFailed(0x…, 10)`, `Blacklisted(0x…)`, `gas 900000 > 250000 per account`. */
  reason: string;
  /** When it was first set aside (ms since the epoch); kept across failed retries. */
  since: number;
  /** Failed attempts so far (1 after the first). */
  attempts: number;
  /** When the relay tries it again, alone (ms since the epoch). */
  nextRetryAt: number;
}

export interface AsideOptions {
  /** First delay before a retry, in ms (default 1 h); doubles after each failed retry. */
  retryBaseMs?: number;
  /** Longest delay between retries, in ms (default 24 h). */
  retryMaxMs?: number;
}

/**
 * The relay's list of accounts set aside: accounts whose claim fails on its own (a receiver that
 * refuses the asset, a token blacklist, a precompile) or costs more gas than one account may. It is
 * kept in `<dataDir>/payouts-aside.json` (rewritten atomically on each change) so that a restart
 * does not hand a known-bad account back to every batch. Such an account is never lost: it stays in
 * the tree, can claim by itself at any time, and is retried alone after a delay (1 h, doubling to
 * 24 h by default).
 */
export class AsideRegistry {
  private readonly file: string;
  private readonly entries = new Map<string, AsideEntry>();
  private readonly base: number;
  private readonly max: number;

  constructor(dataDir: string, opts: AsideOptions = {}) {
    this.file = path.join(dataDir, "payouts-aside.json");
    this.base = opts.retryBaseMs ?? 3_600_000;
    this.max = opts.retryMaxMs ?? 86_400_000;
  }

  /** Reads the file if there is one; a corrupt file is reported, not ignored. */
  load(): void {
    if (!fs.existsSync(this.file)) return;
    const parsed = JSON.parse(fs.readFileSync(this.file, "utf8")) as AsideEntry[];
    if (!Array.isArray(parsed)) throw new Error(`${this.file}: expected a JSON array of set-aside accounts`);
    for (const e of parsed) this.entries.set(e.account.toLowerCase(), e);
  }

  /** Every account set aside, most recent failure first. */
  list(): AsideEntry[] {
    return [...this.entries.values()].sort((a, b) => b.nextRetryAt - a.nextRetryAt);
  }

  get(account: string): AsideEntry | undefined {
    return this.entries.get(account.toLowerCase());
  }

  /** True while `account` is set aside and its retry is not due at `now`. */
  held(account: string, now: number): boolean {
    const e = this.get(account);
    return e !== undefined && e.nextRetryAt > now;
  }

  /** Records a failure of `account` (first or retried) and schedules its next retry. */
  setAside(account: string, epoch: number, amount: bigint, reason: string, now: number): AsideEntry {
    const previous = this.get(account);
    const attempts = (previous?.attempts ?? 0) + 1;
    const entry: AsideEntry = {
      account,
      epoch,
      amount: amount.toString(),
      reason,
      since: previous?.since ?? now,
      attempts,
      nextRetryAt: now + Math.min(this.base * 2 ** (attempts - 1), this.max),
    };
    this.entries.set(account.toLowerCase(), entry);
    this.save();
    return entry;
  }

  /** Forgets `account` (paid, or nothing due any more); true if it was set aside. */
  clear(account: string): boolean {
    const had = this.entries.delete(account.toLowerCase());
    if (had) this.save();
    return had;
  }

  /** The earliest retry time, or undefined when nothing is set aside. */
  nextRetryAt(): number | undefined {
    let min: number | undefined;
    for (const e of this.entries.values()) if (min === undefined || e.nextRetryAt < min) min = e.nextRetryAt;
    return min;
  }

  get size(): number {
    return this.entries.size;
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.list(), null, 1));
    fs.renameSync(tmp, this.file);
  }
}
