/**
 * The part of a transaction's floor that bench/gas.ts measures from its struct-log trace, shared so
 * that every gas bench counts "the storage writes and the transfer it must make" the same way:
 * - writes: each storage slot the called contract (depth 1) writes, once, priced as a write to a cold
 *   slot (an earlier read of the same slot, which made the SSTORE itself warm, is part of the write's
 *   unavoidable cost);
 * - transfers: each outgoing call of the called contract (a token's `transfer` or a value call),
 *   with everything the callee does (for an ERC-20: its own logic, its balance slots and its
 *   `Transfer` event), i.e. the gas the caller has left before the CALL minus what it has after;
 * - clears: how many of those writes set a slot to zero (refunded under EIP-3529).
 * The code is bench/gas.ts's floorOf loop, unchanged in what it counts.
 */
import { COLD_SLOAD } from "./gas-rules";

/** One step of a `debug_traceTransaction` struct log (the stack is needed for SSTORE's slot and value). */
export interface StructStep {
  op: string;
  pc?: number;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

/** A stack entry of a struct-log trace (hex, with or without 0x). */
export const word = (hex: string) => BigInt(hex.startsWith("0x") ? hex : `0x${hex}`);

/** SSTORE costs that do not include the EIP-2929 cold-slot surcharge (the slot was read before). */
export const WARM_SSTORE_COSTS = new Set([100, 2_900, 20_000]);

export interface TraceFloorParts {
  /** Storage writes of the called contract, each slot once, at its cold-slot price. */
  writes: number;
  /** Outgoing calls of the called contract, with the callees' own execution. */
  transfers: number;
  /** Number of outgoing calls counted in `transfers`. */
  calls: number;
  /** Writes that set a slot to zero (EIP-3529 refund of 4 800 each). */
  clears: number;
}

/** Writes and transfers of the transaction's top-level contract (depth 1), from its struct-log trace. */
export function traceFloorParts(logs: StructStep[]): TraceFloorParts {
  let writes = 0;
  let transfers = 0;
  let calls = 0;
  let clears = 0;
  const written = new Set<string>();
  for (let i = 0; i < logs.length; i++) {
    const step = logs[i];
    if (step.depth !== 1) continue;
    if (step.op === "SSTORE") {
      if (!step.stack) throw new Error("traceFloorParts needs the trace's stack (disableStack: false)");
      const slot = word(step.stack[step.stack.length - 1]).toString(16);
      if (written.has(slot)) continue;
      written.add(slot);
      writes += step.gasCost + (WARM_SSTORE_COSTS.has(step.gasCost) ? COLD_SLOAD : 0);
      if (word(step.stack[step.stack.length - 2]) === 0n) clears++; // nonzero -> zero: refunded
    } else if (step.op === "CALL") {
      let j = i + 1;
      while (j < logs.length && logs[j].depth !== 1) j++;
      transfers += step.gas - logs[j].gas;
      calls++;
    }
  }
  return { writes, transfers, calls, clears };
}

/** EIP-3529: 4 800 per cleared slot, capped as bench/gas.ts caps it (gas used / 4 = a fifth of the gas before the refund). */
export function clearRefund(clears: number, gasUsed: number): number {
  return Math.min(4_800 * clears, Math.floor(gasUsed / 4));
}
