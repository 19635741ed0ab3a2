/**
 * WindowColumns (the auditor's window, src/epochs/windowcolumns.ts) against the plain pairs it
 * packs: every share's difficulty (whole, fraction) and credited units read back exactly, on
 * random values and at the edges of the number packing (fractions next to 10^12, wholes around
 * 9007 where whole × 10^12 passes 2^53, the largest safe whole), across growth.
 */
import { expect } from "chai";
import { WindowColumns } from "../src/epochs/windowcolumns";
import { partsToUnits } from "../src/shares/difficulty";
import { referenceCompareAllocations } from "./allocations.reference";

describe("epochs: WindowColumns reads back what it was given", () => {
  it("on random and edge difficulties and credits, across growth", () => {
    const cols = new WindowColumns(4);
    const given: { whole: number; frac: number; credited: bigint }[] = [];
    const edgeWholes = [0, 1, 9006, 9007, 9008, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const edgeFracs = [0, 1, 999_999_999_999, 500_000_000_000, 254_740_991];
    for (let i = 0; i < 20_000; i++) {
      const whole = i % 3 === 0 ? edgeWholes[i % edgeWholes.length] : Math.floor(Math.random() * 20_000);
      const frac = i % 5 === 0 ? edgeFracs[i % edgeFracs.length] : Math.floor(Math.random() * 1e12);
      if (whole + frac === 0) continue;
      const units = partsToUnits(whole, frac);
      // Mostly the full units (as a number when exact), sometimes less (the oldest share), sometimes forged.
      const credited = i % 7 === 0 ? units / 2n : i % 11 === 0 ? units + 1n : units;
      cols.push(i + 1, i % 97, whole, frac, credited <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(credited) : credited);
      given.push({ whole, frac, credited });
    }
    expect(cols.length).to.equal(given.length);
    for (let i = 0; i < given.length; i++) {
      const g = given[i];
      const whole = cols.wholeAt(i);
      expect([whole, cols.fracAt(i, whole), cols.fracAt(i)], `share ${i}`).to.deep.equal([g.whole, g.frac, g.frac]);
      expect(cols.unitsAt(i)).to.equal(partsToUnits(g.whole, g.frac));
      expect(cols.creditedAt(i)).to.equal(g.credited);
      expect(cols.creditDiffers(i)).to.equal(g.credited !== partsToUnits(g.whole, g.frac));
    }
  });
});

describe("epochs: compareAllocations equals the plain set-based comparison", () => {
  it("on random leaves and allocations: sorted or not, duplicated leaves, missing and extra accounts, zero amounts", () => {
    const { compareAllocations } = require("../src/epochs/verify") as typeof import("../src/epochs/verify");
    for (let round = 0; round < 3000; round++) {
      const names = Array.from({ length: 1 + Math.floor(Math.random() * 8) }, (_, i) => "0x" + (i * 7 + round).toString(16).padStart(40, "0"));
      let accounts = [...new Set(names.filter(() => Math.random() < 0.8))].sort();
      if (round % 5 === 0 && accounts.length > 1) accounts = [...accounts].reverse();
      if (round % 7 === 0 && accounts.length > 0) accounts = [...accounts, accounts[0]];
      const allocations = new Map<string, bigint>();
      for (const n of names) if (Math.random() < 0.7) allocations.set(n, BigInt(Math.floor(Math.random() * 3)));
      const delta = accounts.map((a) => (Math.random() < 0.8 ? allocations.get(a) ?? 0n : 5n));
      const file = { leaves: { accounts, delta, cumulative: delta } } as unknown as Parameters<typeof compareAllocations>[0];
      expect(compareAllocations(file, allocations), `round ${round}`).to.deep.equal(referenceCompareAllocations(accounts, delta, allocations));
    }
  });
});
