import type { TemplateSource } from "../chain/types";
import { windowUnitsForBits } from "../pplns";
import { partsToUnits, unitsToDifficulty, type ShareStore } from "../shares";

interface WindowSnapshot {
  at: number;
  lastId: number;
  perAccount: Map<string, { count: number; units: bigint }>;
}

const CACHE_MS = 2000;

/**
 * Reads the PPLNS window as it stands now (the last factor × network-difficulty units of shares),
 * per address: what a miner would be paid on if the pool found a block this moment. Snapshots are
 * cached for two seconds so a busy page does not walk the store on every request.
 */
export function windowReader(store: ShareStore, source: TemplateSource, factor: number) {
  let cache: Promise<WindowSnapshot> | undefined;
  let cachedAt = 0;
  return async (address: string): Promise<{ count: number; difficulty: string }> => {
    if (!cache || Date.now() - cachedAt > CACHE_MS) {
      cachedAt = Date.now();
      cache = snapshot(store, source, factor);
      cache.catch(() => (cache = undefined));
    }
    const mine = (await cache).perAccount.get(address.toLowerCase());
    return mine ? { count: mine.count, difficulty: unitsToDifficulty(mine.units) } : { count: 0, difficulty: "0" };
  };
}

async function snapshot(store: ShareStore, source: TemplateSource, factor: number): Promise<WindowSnapshot> {
  const lastId = await store.lastShareId();
  const byId = new Map<number, { count: number; units: bigint }>();
  let remaining = windowUnitsForBits(source.current().bits, String(factor));
  if (lastId > 0) {
    outer: for await (const rows of store.weightsNewestFirst(lastId)) {
      for (const row of rows) {
        const units = partsToUnits(row.whole, row.frac);
        const counted = units < remaining ? units : remaining;
        const entry = byId.get(row.account) ?? { count: 0, units: 0n };
        entry.count++;
        entry.units += counted;
        byId.set(row.account, entry);
        remaining -= counted;
        if (remaining <= 0n) break outer;
      }
    }
  }
  const addresses = await store.accountAddresses([...byId.keys()]);
  const perAccount = new Map<string, { count: number; units: bigint }>();
  for (const [id, v] of byId) perAccount.set((addresses.get(id) ?? String(id)).toLowerCase(), v);
  return { at: Date.now(), lastId, perAccount };
}
