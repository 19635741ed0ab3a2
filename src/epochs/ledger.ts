/**
 * The cumulative ledger as sorted parallel arrays (tree order): address → total allocated through
 * an epoch. Advancing it by an epoch's allocations is a linear merge, so a million accounts cost
 * no re-sort, and the result is directly the next tree's leaves.
 */
import { sortedAccountOrder } from "../merkle";
import type { EpochLeaves } from "./format";

export interface SortedLedger {
  /** Lower-case addresses, strictly ascending. */
  accounts: string[];
  amounts: bigint[];
}

export const EMPTY_LEDGER: SortedLedger = { accounts: [], amounts: [] };

/** Sorted ledger from an unordered map (e.g. the store's current ledger). */
export function sortLedger(ledger: Map<string, bigint>): SortedLedger {
  const keys = [...ledger.keys()];
  const order = sortedAccountOrder(keys);
  const accounts = Array.from(order, (i) => keys[i]);
  return { accounts, amounts: accounts.map((a) => ledger.get(a) as bigint) };
}

/**
 * The next ledger: every previous account (delta 0 unless allocated to) plus the new ones, in
 * order. Throws on a negative allocation: a cumulative amount never decreases.
 */
export function advanceLedger(previous: SortedLedger, allocations: Map<string, bigint>): EpochLeaves {
  const newAccounts: string[] = [];
  for (const [address, amount] of allocations) {
    if (amount < 0n) throw new RangeError(`negative allocation for ${address}`);
    if (indexOf(previous.accounts, address) < 0) newAccounts.push(address);
  }
  const order = sortedAccountOrder(newAccounts);
  const added = Array.from(order, (i) => newAccounts[i]);
  const n = previous.accounts.length + added.length;
  const out: EpochLeaves = { accounts: new Array(n), cumulative: new Array(n), delta: new Array(n) };
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    if (j >= added.length || (i < previous.accounts.length && previous.accounts[i] < added[j])) {
      const a = previous.accounts[i];
      const d = allocations.get(a) ?? 0n;
      out.accounts[k] = a;
      out.delta[k] = d;
      out.cumulative[k] = previous.amounts[i] + d;
      i++;
    } else {
      const a = added[j];
      const d = allocations.get(a) as bigint;
      out.accounts[k] = a;
      out.delta[k] = d;
      out.cumulative[k] = d;
      j++;
    }
  }
  return out;
}

function indexOf(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const a = sorted[mid];
    if (a === key) return mid;
    if (a < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Sums per-address allocations of several blocks. */
export function sumAllocations(parts: Iterable<Map<string, bigint>>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const part of parts) for (const [a, v] of part) out.set(a, (out.get(a) ?? 0n) + v);
  return out;
}
