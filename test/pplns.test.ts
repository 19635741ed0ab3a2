import { expect } from "chai";
import fc from "fast-check";
import {
  WindowAccumulator,
  allocateBlock,
  networkDifficultyUnits,
  parseFactor,
  pplnsWeights,
  splitReward,
  windowUnitsForBits,
  type WeightedShare,
} from "../src/pplns";
import { UNITS_PER_DIFFICULTY, difficultyToUnits, formatDifficultyParts, parseDifficulty, unitsToDifficulty } from "../src/shares/difficulty";

const U = UNITS_PER_DIFFICULTY; // 10^12 units per difficulty 1
const A = "0x" + "a".repeat(40);
const B = "0x" + "b".repeat(40);
const C = "0x" + "c".repeat(40);
const FEE = "0x" + "f".repeat(40);

/** Shares newest first from [address, difficulty] pairs; ids count down from 1000. */
function shares(list: Array<[string, string]>): WeightedShare[] {
  return list.map(([address, d], i) => ({ id: 1000 - i, address, units: difficultyToUnits(d) }));
}

function sum(m: Map<string, bigint>): bigint {
  return [...m.values()].reduce((s, v) => s + v, 0n);
}

describe("pplns: difficulty units", function () {
  it("converts exact decimals to 10^12 units per difficulty and back", function () {
    expect(difficultyToUnits("1")).to.equal(U);
    expect(difficultyToUnits("0.02")).to.equal(20_000_000_000n);
    expect(difficultyToUnits("0.000001")).to.equal(1_000_000n);
    expect(difficultyToUnits("0.000244140625")).to.equal(244_140_625n); // 2^-12, exact
    expect(difficultyToUnits("1000000000000")).to.equal(10n ** 24n); // 1e12 difficulty
    expect(difficultyToUnits("65536.5")).to.equal(65_536_500_000_000_000n);
    expect(parseDifficulty("0.020")).to.deep.equal({ whole: 0, frac: 20_000_000_000 });
    expect(formatDifficultyParts(0, 20_000_000_000)).to.equal("0.02");
    expect(unitsToDifficulty(10n ** 24n + 5n)).to.equal("1000000000000.000000000005");
  });

  it("rejects what is not an exact positive decimal with at most 12 decimals", function () {
    for (const bad of ["", "abc", "-1", "+1", "1e-6", "0", "0.000", "0.0000000000001", " 1", "1.", ".5", "0x10", "99999999999999999"]) {
      expect(() => difficultyToUnits(bad), bad).to.throw(RangeError);
    }
    expect(() => parseDifficulty(0.02 as unknown as string)).to.throw(/decimal string/);
  });
});

describe("pplns: window size from the network target", function () {
  it("N = factor × network difficulty, exactly", function () {
    // nbits 1d00ffff is difficulty 1: N = 2 difficulty = 2 × 10^12 units.
    expect(networkDifficultyUnits("1d00ffff")).to.equal(U);
    expect(windowUnitsForBits("1d00ffff")).to.equal(2n * U);
    expect(windowUnitsForBits("1d00ffff", "1.5")).to.equal(1_500_000_000_000n);
    // Block 125552's bits 1a44b9f2: difficulty 244112.48777434… → N = floor(2 × DIFF1 × 10^12 / target).
    expect(windowUnitsForBits("1a44b9f2")).to.equal(488_224_975_548_672_861n);
    // regtest (207fffff): an easy target gives a window of a fraction of a difficulty unit.
    expect(windowUnitsForBits("207fffff") > 0n).to.equal(true);
    expect(parseFactor("2")).to.deep.equal({ num: 2n, den: 1n });
    expect(() => parseFactor("0")).to.throw(RangeError);
    expect(() => parseFactor("-1")).to.throw(RangeError);
    expect(() => parseFactor("1.1234567")).to.throw(RangeError);
  });
});

describe("pplns: the window", function () {
  it("hand-worked: walks back until N units and counts the edge share pro rata", function () {
    // N = 10 difficulty. Newest first: A 4, B 3, A 2 (total 9), C 5: only 1 of C's 5 fits.
    // Weights: A = 4 + 2 = 6, B = 3, C = 1 (difficulty; × 10^12 units).
    const { weights, summary } = pplnsWeights(
      shares([
        [A, "4"],
        [B, "3"],
        [A, "2"],
        [C, "5"],
        [B, "7"], // outside the window: never read
      ]),
      10n * U,
    );
    expect(weights).to.deep.equal(
      new Map([
        [A, 6n * U],
        [B, 3n * U],
        [C, 1n * U],
      ]),
    );
    expect(summary).to.deep.include({ complete: true, shareCount: 4, firstShareId: 997, lastShareId: 1000, coveredUnits: 10n * U });
    expect(summary.firstShareCredit).to.equal(U);
    expect(summary.firstShareUnits).to.equal(5n * U);
  });

  it("a share straddling the edge counts only its part inside, to the unit", function () {
    // N = 10: X 6 fits whole, Y 6 has 4 of its 6 inside (pro rata 4/6 of Y).
    const { weights, summary } = pplnsWeights(
      shares([
        ["0x" + "1".repeat(40), "6"],
        ["0x" + "2".repeat(40), "6"],
      ]),
      10n * U,
    );
    expect(weights.get("0x" + "1".repeat(40))).to.equal(6n * U);
    expect(weights.get("0x" + "2".repeat(40))).to.equal(4n * U);
    expect(summary.firstShareCredit).to.equal(4n * U);
    // Fractions: N = 0.05 with shares of 0.02: 0.02 + 0.02 + 0.01 of the third.
    const small = pplnsWeights(
      shares([
        [A, "0.02"],
        [B, "0.02"],
        [C, "0.02"],
      ]),
      difficultyToUnits("0.05"),
    );
    expect([...small.weights.values()]).to.deep.equal([20_000_000_000n, 20_000_000_000n, 10_000_000_000n]);
  });

  it("a share ending exactly at N is counted whole and closes the window", function () {
    const acc = new WindowAccumulator(5n * U);
    expect(acc.add(0, 2n * U, 10)).to.equal(true);
    expect(acc.add(1, 3n * U, 9)).to.equal(false);
    expect(acc.summary()).to.deep.include({ complete: true, firstShareCredit: 3n * U, shareCount: 2 });
    expect(() => acc.add(0, U, 8)).to.throw(/already full/);
  });

  it("with a history shorter than N, the window is the whole history", function () {
    const { weights, summary } = pplnsWeights(
      shares([
        [A, "1"],
        [B, "2"],
      ]),
      100n * U,
    );
    expect(summary.complete).to.equal(false);
    expect(summary.coveredUnits).to.equal(3n * U);
    expect(summary.firstShareCredit).to.equal(2n * U);
    expect(sum(weights)).to.equal(3n * U);
  });

  it("rejects shares out of order and malformed input", function () {
    const acc = new WindowAccumulator(100n * U);
    acc.add(0, U, 5);
    expect(() => acc.add(0, U, 5)).to.throw(/newest first/);
    expect(() => acc.add(0, U, 7)).to.throw(/newest first/);
    expect(() => acc.addParts(0, 0, 0, 4)).to.throw(/difficulty parts/);
    expect(() => acc.addParts(-1, 1, 0, 4)).to.throw(/account key/);
    expect(() => acc.addParts(0, 1, 1e12, 4)).to.throw(/difficulty parts/);
    expect(() => new WindowAccumulator(0n)).to.throw(/positive/);
  });

  it("the number fast path equals plain bigint sums, including past 2^53 and huge windows", function () {
    const share = fc.record({
      key: fc.integer({ min: 0, max: 30 }),
      whole: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(2 ** 52, 2 ** 53 - 1, 2 ** 53 - 2)),
      frac: fc.integer({ min: 0, max: 999_999_999_999 }),
    });
    fc.assert(
      fc.property(fc.array(share, { minLength: 1, maxLength: 300 }), fc.bigInt({ min: 1n, max: 10n ** 35n }), (list, windowUnits) => {
        const valid = list.filter((s) => s.whole + s.frac > 0);
        const acc = new WindowAccumulator(windowUnits);
        const reference = new Map<number, bigint>();
        let covered = 0n;
        let id = valid.length + 1;
        for (const s of valid) {
          const units = BigInt(s.whole) * U + BigInt(s.frac);
          const credit = covered + units > windowUnits ? windowUnits - covered : units;
          reference.set(s.key, (reference.get(s.key) ?? 0n) + credit);
          covered += credit;
          const open = acc.addParts(s.key, s.whole, s.frac, id--);
          if (!open) break;
        }
        const got = new Map(acc.weights().map((w) => [w.key, w.weight]));
        for (const [k, v] of reference) if (v === 0n) reference.delete(k);
        return sameMap(got, reference);
      }),
      { numRuns: 300 },
    );
  });
});

function sameMap(a: Map<number, bigint>, b: Map<number, bigint>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

describe("pplns: splitting the reward", function () {
  it("hand-worked: pro rata with no remainder", function () {
    // Weights A 6, B 3, C 1 (W = 10), reward 1000, no fee: 600 / 300 / 100.
    const r = splitReward({ reward: 1000n, feeBps: 0, weights: [{ address: A, weight: 6n }, { address: B, weight: 3n }, { address: C, weight: 1n }] });
    expect(r.allocations).to.deep.equal(
      new Map([
        [A, 600n],
        [B, 300n],
        [C, 100n],
      ]),
    );
    expect(r.fee).to.equal(0n);
  });

  it("hand-worked: fee, floors and largest remainders", function () {
    // reward 100, fee 100 bps: fee = floor(100 × 100 / 10000) = 1; R = 99.
    // A: 99 × 6 / 10 = 59.4 → 59 (rem 4); B: 29.7 → 29 (rem 7); C: 9.9 → 9 (rem 9).
    // Σ floors = 97, 2 units left: to the largest remainders C (9) and B (7).
    const r = splitReward({ reward: 100n, feeBps: 100, feeAddress: FEE, weights: [{ address: A, weight: 6n }, { address: B, weight: 3n }, { address: C, weight: 1n }] });
    expect(r.fee).to.equal(1n);
    expect(r.allocations).to.deep.equal(
      new Map([
        [FEE, 1n],
        [A, 59n],
        [B, 30n],
        [C, 10n],
      ]),
    );
    expect(sum(r.allocations)).to.equal(100n);
  });

  it("hand-worked: equal remainders go to the lower address", function () {
    // 100 / 3 = 33 rem 1 each; one unit left: A (lowest address) gets 34.
    const r = splitReward({ reward: 100n, feeBps: 0, weights: [{ address: C, weight: 5n }, { address: A, weight: 5n }, { address: B, weight: 5n }] });
    expect(r.allocations.get(A)).to.equal(34n);
    expect(r.allocations.get(B)).to.equal(33n);
    expect(r.allocations.get(C)).to.equal(33n);
  });

  it("one miner gets everything but the fee; the fee address mining too gets both", function () {
    const r = splitReward({ reward: 5_000_000_000n, feeBps: 150, feeAddress: FEE, weights: [{ address: A, weight: 123n }] });
    // fee = floor(5e9 × 150 / 10000) = 75 000 000
    expect(r.allocations).to.deep.equal(
      new Map([
        [FEE, 75_000_000n],
        [A, 4_925_000_000n],
      ]),
    );
    const both = splitReward({ reward: 1000n, feeBps: 1000, feeAddress: A, weights: [{ address: A, weight: 1n }, { address: B, weight: 1n }] });
    // fee 100 to A; 900 split 450 / 450: A = 550, B = 450.
    expect(both.allocations).to.deep.equal(
      new Map([
        [A, 550n],
        [B, 450n],
      ]),
    );
  });

  it("zero fee: no fee leaf; fee only: everything to the fee address", function () {
    const zero = splitReward({ reward: 999n, feeBps: 0, feeAddress: FEE, weights: [{ address: A, weight: 1n }, { address: B, weight: 2n }] });
    expect(zero.allocations.has(FEE)).to.equal(false);
    expect(zero.allocations).to.deep.equal(
      new Map([
        [A, 333n],
        [B, 666n],
      ]),
    );
    const all = splitReward({ reward: 999n, feeBps: 10_000, feeAddress: FEE, weights: [{ address: A, weight: 1n }] });
    expect(all.allocations).to.deep.equal(new Map([[FEE, 999n]]));
    const empty = splitReward({ reward: 7n, feeBps: 0, feeAddress: FEE, weights: [] });
    expect(empty.allocations).to.deep.equal(new Map([[FEE, 7n]]));
    expect(() => splitReward({ reward: 7n, feeBps: 0, weights: [] })).to.throw(/no fee address/);
  });

  it("many miners: every amount is the floor or floor + 1 of its exact share, and they sum to the reward", function () {
    const weights = Array.from({ length: 997 }, (_, i) => ({ address: "0x" + (i + 1).toString(16).padStart(40, "0"), weight: BigInt(((i * 7919) % 1000) + 1) * 10n ** 9n }));
    const reward = 312_500_000n + 12_345n;
    const r = splitReward({ reward, feeBps: 200, feeAddress: FEE, weights });
    expect(sum(r.allocations)).to.equal(reward);
    const W = weights.reduce((s, w) => s + w.weight, 0n);
    for (const w of weights) {
      const exactFloor = (r.distributed * w.weight) / W;
      const got = r.allocations.get(w.address) ?? 0n;
      expect(got === exactFloor || got === exactFloor + 1n, w.address).to.equal(true);
    }
  });

  it("rejects bad input with clear errors", function () {
    expect(() => splitReward({ reward: -1n, feeBps: 0, weights: [] })).to.throw(/non-negative/);
    expect(() => splitReward({ reward: 1n, feeBps: 10_001, feeAddress: FEE, weights: [] })).to.throw(/basis points/);
    expect(() => splitReward({ reward: 1n, feeBps: 5, weights: [{ address: A, weight: 1n }] })).to.throw(/fee address is required/);
    expect(() => splitReward({ reward: 1n, feeBps: 0, weights: [{ address: A.toUpperCase(), weight: 1n }] })).to.throw(/lower-case/);
    expect(() => splitReward({ reward: 1n, feeBps: 0, weights: [{ address: A, weight: 0n }] })).to.throw(/positive/);
    expect(() => splitReward({ reward: 1n, feeBps: 0, weights: [{ address: A, weight: 1n }, { address: A, weight: 1n }] })).to.throw(/duplicate/);
  });

  const weightList = (min: number, max: number) =>
    fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 2 ** 30 }), weight: fc.bigInt({ min: 1n, max: 10n ** 30n }) }), { minLength: min, maxLength: max, selector: (x) => x.id }).map((list) =>
      list.map((x) => ({ address: "0x" + x.id.toString(16).padStart(40, "0"), weight: x.weight })),
    );

  it("property: allocations sum exactly to the reward and are never negative", function () {
    fc.assert(
      fc.property(weightList(0, 40), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 10_000 }), (weights, reward, feeBps) => {
        const r = splitReward({ reward, feeBps, feeAddress: FEE, weights });
        return sum(r.allocations) === reward && [...r.allocations.values()].every((v) => v >= 0n);
      }),
      { numRuns: 500 },
    );
  });

  it("property: a miner's allocation never falls when only its weight grows", function () {
    fc.assert(
      fc.property(weightList(1, 30), fc.nat(), fc.bigInt({ min: 1n, max: 10n ** 24n }), fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 10_000 }), (weights, pick, extra, reward, feeBps) => {
        const i = pick % weights.length;
        const before = splitReward({ reward, feeBps, feeAddress: FEE, weights }).allocations.get(weights[i].address) ?? 0n;
        const grown = weights.map((w, k) => (k === i ? { ...w, weight: w.weight + extra } : w));
        const after = splitReward({ reward, feeBps, feeAddress: FEE, weights: grown }).allocations.get(weights[i].address) ?? 0n;
        return after >= before;
      }),
      { numRuns: 500 },
    );
  });

  it("property: the large-input remainder selection equals an exact full sort", function () {
    // Above 4096 participants the cut is found with floats and refined exactly near it.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.bigInt({ min: 1n, max: 10n ** 22n }), (seed, reward) => {
        const n = 5000;
        let x = seed;
        const weights = Array.from({ length: n }, (_, i) => {
          x = (x * 1103515245 + 12345) % 2147483648;
          // many equal weights force exact ties at the cut
          return { address: "0x" + (i + 1).toString(16).padStart(40, "0"), weight: BigInt(x % 7 === 0 ? 1000 : (x % 100_000) + 1) };
        });
        const got = splitReward({ reward, feeBps: 0, weights }).allocations;
        const W = weights.reduce((s, w) => s + w.weight, 0n);
        const rows = weights.map((w) => ({ a: w.address, q: (reward * w.weight) / W, r: (reward * w.weight) % W }));
        let left = reward - rows.reduce((s, r) => s + r.q, 0n);
        rows.sort((p, q) => (p.r > q.r ? -1 : p.r < q.r ? 1 : p.a < q.a ? -1 : 1));
        for (const r of rows) {
          const expected = r.q + (left > 0n ? 1n : 0n);
          if (left > 0n) left--;
          if ((got.get(r.a) ?? 0n) !== expected) return false;
        }
        return true;
      }),
      { numRuns: 15 },
    );
  });
});

describe("pplns: allocateBlock", function () {
  it("window + split in one call; the allocation sums to the reward", function () {
    // N = 10: A 4, B 3, A 2, C 1 of 5 → weights 6 / 3 / 1; reward 100, fee 1 → as hand-worked above.
    const r = allocateBlock({
      sharesNewestFirst: shares([
        [A, "4"],
        [B, "3"],
        [A, "2"],
        [C, "5"],
      ]),
      windowUnits: 10n * U,
      reward: 100n,
      feeBps: 100,
      feeAddress: FEE,
    });
    expect(r.allocations).to.deep.equal(
      new Map([
        [FEE, 1n],
        [A, 59n],
        [B, 30n],
        [C, 10n],
      ]),
    );
    expect(r.window.firstShareCredit).to.equal(U);
  });
});
