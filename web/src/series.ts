import type { HashratePoint } from "./api/types";

export const BUCKET_MS = 10_000;
const AVERAGE_BUCKETS = 6;
/** The window of the hash-rate tiles (the API's rate() default): charts average over the same. */
export const HASHRATE_WINDOW_MS = 600_000;
export const HASHRATE_WINDOW_LABEL = "10-minute average";

/**
 * The API lists only 10-s buckets that had shares, and a CPU miner's shares are sparse: missing
 * buckets are zero, and each point becomes the 1-minute trailing average so the line reads as a
 * hash rate rather than a comb of single shares.
 */
export function smoothSeries(points: HashratePoint[], averageBuckets = AVERAGE_BUCKETS): HashratePoint[] {
  const AVERAGE_BUCKETS = averageBuckets;
  if (points.length === 0) return [];
  const byTime = new Map(points.map((p) => [p.t, p]));
  const first = points[0].t;
  const last = points[points.length - 1].t;
  const filled: HashratePoint[] = [];
  for (let t = first; t <= last; t += BUCKET_MS) filled.push(byTime.get(t) ?? { t, hashrate: 0, workers: {} });
  return filled.map((p, i) => {
    const span = filled.slice(Math.max(0, i - AVERAGE_BUCKETS + 1), i + 1);
    const workers: Record<string, number> = {};
    for (const q of span) for (const [name, rate] of Object.entries(q.workers ?? {})) workers[name] = (workers[name] ?? 0) + rate / AVERAGE_BUCKETS;
    return { t: p.t, hashrate: span.reduce((sum, q) => sum + q.hashrate, 0) / AVERAGE_BUCKETS, workers };
  });
}
