import type { HashrateTracker } from "../api/hashrate";
import type { ShareStore } from "../shares/types";

/**
 * Refills the hash-rate tracker from the store's shares of the last `windowMs` (the tracker keeps
 * an hour), so that a restart keeps the hash-rate tiles and charts instead of starting from zero.
 * Reads backwards in batches of `batch` ids and stops at the first share older than the window,
 * or after `maxShares` (a very busy pool keeps its most recent shares' worth). Returns the count.
 */
export async function seedHashrate(store: ShareStore, tracker: HashrateTracker, opts: { windowMs?: number; batch?: number; maxShares?: number; now?: number } = {}): Promise<number> {
  const cutoff = (opts.now ?? Date.now()) - (opts.windowMs ?? 3600_000);
  const batch = opts.batch ?? 20_000;
  const maxShares = opts.maxShares ?? 500_000;
  const chunks: Array<Array<{ address: string; worker: string; difficulty: number; time: number }>> = [];
  let to = await store.lastShareId();
  let count = 0;
  let older = false;
  while (to > 0 && !older && count < maxShares) {
    const from = Math.max(1, to - batch + 1);
    const chunk: Array<{ address: string; worker: string; difficulty: number; time: number }> = [];
    for await (const s of store.sharesInRange(from, to)) {
      if (s.time < cutoff) {
        older = true;
        continue;
      }
      chunk.push({ address: s.address, worker: s.worker, difficulty: Number(s.difficulty), time: s.time });
    }
    chunks.push(chunk);
    count += chunk.length;
    to = from - 1;
  }
  // The tracker takes shares in time order.
  const shares = chunks.reverse().flat().sort((a, b) => a.time - b.time);
  for (const s of shares) tracker.record(s.address, s.worker, s.difficulty, s.time);
  return shares.length;
}
