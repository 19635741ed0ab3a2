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

/**
 * Keeps feeding the tracker from the store, every `everyMs`, with the shares stored since the
 * last read (from id `afterId` on): the hash rate and workers of the whole pool when several front
 * ends share one PostgreSQL store (issue 15), not only this process's own. Shares whose ids commit
 * out of order across front ends can be missed by a read that passed their id (a hash-rate figure,
 * never an account balance). Returns a stop function.
 */
export function followHashrate(store: ShareStore, tracker: HashrateTracker, afterId: number, opts: { everyMs?: number; onError?: (err: unknown) => void } = {}): () => Promise<void> {
  let last = afterId;
  let stopped = false;
  let running: Promise<void> | undefined;
  const tick = async () => {
    const to = await store.lastShareId();
    if (to <= last) return;
    const shares: Array<{ address: string; worker: string; difficulty: number; time: number }> = [];
    for await (const s of store.sharesInRange(last + 1, to)) shares.push({ address: s.address, worker: s.worker, difficulty: Number(s.difficulty), time: s.time });
    shares.sort((a, b) => a.time - b.time);
    for (const s of shares) tracker.record(s.address, s.worker, s.difficulty, s.time);
    last = to;
  };
  const timer = setInterval(() => {
    if (stopped || running) return;
    running = tick()
      .catch((err) => opts.onError?.(err))
      .finally(() => (running = undefined));
  }, opts.everyMs ?? 1000);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
