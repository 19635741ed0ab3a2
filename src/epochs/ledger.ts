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
  return advanceLedgerColumns(previous, { accounts: [...allocations.keys()], amounts: [...allocations.values()] });
}

/**
 * advanceLedger for allocations given as parallel arrays, in any order, an address possibly more
 * than once (several blocks, the fee): they are sorted, summed per address, then merged into the
 * previous ledger in one linear pass (no map of a million entries).
 */
export function advanceLedgerColumns(previous: SortedLedger, additions: { accounts: readonly string[]; amounts: readonly bigint[] }): EpochLeaves {
  const { accounts: addAccounts, amounts: addAmounts } = additions;
  if (addAccounts.length !== addAmounts.length) throw new RangeError("accounts and amounts differ in length");
  for (const v of addAmounts) if (typeof v !== "bigint" || v < 0n) throw new RangeError(`negative or invalid allocation: ${String(v)}`);
  const order = sortedAccountOrder(addAccounts);
  // Sorted, one entry per address.
  const accounts: string[] = [];
  const amounts: bigint[] = [];
  for (let k = 0; k < order.length; k++) {
    const a = addAccounts[order[k]];
    const v = addAmounts[order[k]];
    if (accounts.length > 0 && accounts[accounts.length - 1] === a) amounts[amounts.length - 1] += v;
    else {
      accounts.push(a);
      amounts.push(v);
    }
  }
  const prev = previous.accounts;
  const bound = prev.length + accounts.length;
  const out: EpochLeaves = { accounts: new Array(bound), cumulative: new Array(bound), delta: new Array(bound) };
  let i = 0;
  let j = 0;
  let k = 0;
  for (; i < prev.length || j < accounts.length; k++) {
    if (j >= accounts.length || (i < prev.length && prev[i] < accounts[j])) {
      out.accounts[k] = prev[i];
      out.cumulative[k] = previous.amounts[i];
      out.delta[k] = 0n;
      i++;
    } else if (i < prev.length && prev[i] === accounts[j]) {
      out.accounts[k] = prev[i];
      out.cumulative[k] = previous.amounts[i] + amounts[j];
      out.delta[k] = amounts[j];
      i++;
      j++;
    } else {
      out.accounts[k] = accounts[j];
      out.cumulative[k] = amounts[j];
      out.delta[k] = amounts[j];
      j++;
    }
  }
  out.accounts.length = k;
  out.cumulative.length = k;
  out.delta.length = k;
  return out;
}

/** Sums per-address allocations of several blocks. */
export function sumAllocations(parts: Iterable<Map<string, bigint>>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const part of parts) for (const [a, v] of part) out.set(a, (out.get(a) ?? 0n) + v);
  return out;
}
