/**
 * Hash-rate series from accepted shares: difficulty-weighted work per 10-s bucket, per address and
 * worker, over the last hour. A share of difficulty d stands for d × 2^32 hashes on average.
 */
export const BUCKET_MS = 10_000;
const KEEP_MS = 3600_000;
const HASHES_PER_DIFFICULTY = 2 ** 32;

interface Bucket {
  t: number;
  /** address → worker → difficulty sum */
  work: Map<string, Map<string, number>>;
}

export interface HashratePoint {
  t: number;
  hashrate: number;
  workers: Record<string, number>;
}

export class HashrateTracker {
  private buckets: Bucket[] = [];
  private lastShare = new Map<string, { at: number; shares: number }>();

  record(address: string, worker: string, difficulty: number, time = Date.now()): void {
    const t = Math.floor(time / BUCKET_MS) * BUCKET_MS;
    let bucket = this.buckets[this.buckets.length - 1];
    if (!bucket || bucket.t < t) {
      bucket = { t, work: new Map() };
      this.buckets.push(bucket);
      while (this.buckets.length && this.buckets[0].t < t - KEEP_MS) this.buckets.shift();
    } else if (bucket.t > t) {
      bucket = this.buckets.find((b) => b.t === t) ?? bucket;
    }
    const addr = address.toLowerCase();
    let workers = bucket.work.get(addr);
    if (!workers) bucket.work.set(addr, (workers = new Map()));
    workers.set(worker, (workers.get(worker) ?? 0) + difficulty);
    const key = `${addr}\u0000${worker}`;
    const seen = this.lastShare.get(key);
    this.lastShare.set(key, { at: time, shares: (seen?.shares ?? 0) + 1 });
  }

  /** Series of completed buckets (pool-wide, or one address with its workers). */
  series(address?: string, now = Date.now()): HashratePoint[] {
    const addr = address?.toLowerCase();
    const current = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const points: HashratePoint[] = [];
    for (const b of this.buckets) {
      if (b.t >= current || b.t < now - KEEP_MS) continue;
      const workers: Record<string, number> = {};
      let total = 0;
      for (const [a, ws] of b.work) {
        if (addr && a !== addr) continue;
        for (const [w, d] of ws) {
          const rate = (d * HASHES_PER_DIFFICULTY) / (BUCKET_MS / 1000);
          total += rate;
          if (addr) workers[w] = (workers[w] ?? 0) + rate;
        }
      }
      points.push({ t: b.t, hashrate: total, workers });
    }
    return points;
  }

  /** Average hash rate over the last `windowMs` (pool-wide, per address, or per worker). */
  rate(windowMs = 600_000, address?: string, worker?: string, now = Date.now()): number {
    const addr = address?.toLowerCase();
    let work = 0;
    for (const b of this.buckets) {
      if (b.t < now - windowMs) continue;
      for (const [a, ws] of b.work) {
        if (addr && a !== addr) continue;
        for (const [w, d] of ws) if (!worker || w === worker) work += d;
      }
    }
    return (work * HASHES_PER_DIFFICULTY) / (windowMs / 1000);
  }

  /** Workers of an address with their last share time and share count. */
  workers(address: string): { name: string; lastShareAt: number; shares: number }[] {
    const prefix = `${address.toLowerCase()}\u0000`;
    const out: { name: string; lastShareAt: number; shares: number }[] = [];
    for (const [key, v] of this.lastShare) if (key.startsWith(prefix)) out.push({ name: key.slice(prefix.length), lastShareAt: v.at, shares: v.shares });
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Distinct addresses and workers seen within the window. */
  activity(windowMs = 600_000, now = Date.now()): { miners: number; workers: number } {
    const miners = new Set<string>();
    let workers = 0;
    for (const [key, v] of this.lastShare) {
      if (v.at < now - windowMs) continue;
      workers++;
      miners.add(key.split("\u0000")[0]);
    }
    return { miners: miners.size, workers };
  }
}
