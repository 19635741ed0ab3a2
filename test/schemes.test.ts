/**
 * PPS and FPPS credits (src/schemes/credit.ts): hand-worked examples with exact numbers, and the
 * properties the issue asks for (credits sum exactly, never negative, a share's value never depends
 * on who else mined), over seeded random shares. Plus the epoch file's scheme section and the
 * `payout.*` settings.
 */
import { expect } from "chai";
import { DIFF1, bitsToTarget } from "../src/pow/target";
import { advanceLedgerColumns } from "../src/epochs/ledger";
import { FEE_WINDOW_BLOCKS, REGTEST_SUBSIDY, BITCOIN_SUBSIDY, feeWindow, shareCredit, subsidyAt } from "../src/schemes/credit";
import { FeeWindows } from "../src/schemes/fees";
import { loadConfig } from "../src/config";

// nbits 1e00ffff: target = 0xffff × 2^216 = 256 × DIFF1, so the network difficulty is exactly 1/256.
const NBITS_1_256 = "1e00ffff";

describe("schemes: PPS / FPPS credit arithmetic", () => {
  it("the example's chain: nbits 1e00ffff is network difficulty 1/256 exactly", () => {
    expect(bitsToTarget(NBITS_1_256)).to.equal(DIFF1 * 256n);
  });

  it("PPS, hand-worked: difficulty 0.001 at network difficulty 1/256, 50 BTC subsidy, 1 % fee", () => {
    // d / D = 0.001 × 256 = 0.256; 0.256 × 5 000 000 000 sat × 0.99 = 1 267 200 000 sat exactly.
    const base = { units: 10n ** 9n, nbits: NBITS_1_256, subsidy: 5_000_000_000n, feeBps: 100, unitsPerSatoshi: 1n };
    expect(shareCredit(base)).to.equal(1_267_200_000n);
    // In an 18-decimal asset (10^10 wei per satoshi): 12 672 000 000 000 000 000 wei.
    expect(shareCredit({ ...base, unitsPerSatoshi: 10n ** 10n })).to.equal(12_672_000_000_000_000_000n);
    // Fee 0: 1 280 000 000; fee 100 %: nothing.
    expect(shareCredit({ ...base, feeBps: 0 })).to.equal(1_280_000_000n);
    expect(shareCredit({ ...base, feeBps: 10_000 })).to.equal(0n);
    // After the first halving (height 150 on regtest): half.
    expect(shareCredit({ ...base, subsidy: subsidyAt(150, REGTEST_SUBSIDY) })).to.equal(633_600_000n);
  });

  it("PPS, hand-worked rounding: one floor per share", () => {
    // difficulty 1e-9: 1e-9 × 256 × 5e9 × 0.99 = 1267.2 sat -> 1267.
    expect(shareCredit({ units: 1000n, nbits: NBITS_1_256, subsidy: 5_000_000_000n, feeBps: 100, unitsPerSatoshi: 1n })).to.equal(1267n);
    // difficulty 1e-12 (one unit): 1e-12 × 256 × 5e9 × 0.99 = 1.2672 sat -> 1; in wei (×10^10): 12 672 000 000 exactly.
    expect(shareCredit({ units: 1n, nbits: NBITS_1_256, subsidy: 5_000_000_000n, feeBps: 100, unitsPerSatoshi: 1n })).to.equal(1n);
    expect(shareCredit({ units: 1n, nbits: NBITS_1_256, subsidy: 5_000_000_000n, feeBps: 100, unitsPerSatoshi: 10n ** 10n })).to.equal(12_672_000_000n);
    // At network difficulty 1 (1d00ffff), difficulty 1e-12: 5e9 × 0.99 × 1e-12 = 0.00495 sat -> 0 (the operator keeps it).
    expect(shareCredit({ units: 1n, nbits: "1d00ffff", subsidy: 5_000_000_000n, feeBps: 100, unitsPerSatoshi: 1n })).to.equal(0n);
  });

  it("FPPS, hand-worked: a share at height 3 averages the fees of blocks 1 and 2", () => {
    expect(feeWindow(3)).to.deep.equal({ from: 1, to: 2, n: 2 });
    expect(feeWindow(1)).to.deep.equal({ from: 1, to: 0, n: 0 });
    expect(feeWindow(1000)).to.deep.equal({ from: 1000 - FEE_WINDOW_BLOCKS, to: 999, n: 144 });
    // fees 1000 and 3000 sat: average 2000; 0.256 × (5 000 000 000 + 2000) × 0.99 = 1 267 200 506.88 -> 1 267 200 506.
    const credit = shareCredit({ units: 10n ** 9n, nbits: NBITS_1_256, subsidy: 5_000_000_000n, feeBps: 100, unitsPerSatoshi: 1n, fees: { sum: 4000n, blocks: 2 } });
    expect(credit).to.equal(1_267_200_506n);
    // No fee blocks (a share at height 1): as PPS.
    expect(shareCredit({ units: 10n ** 9n, nbits: NBITS_1_256, subsidy: 5_000_000_000n, feeBps: 100, unitsPerSatoshi: 1n, fees: { sum: 0n, blocks: 0 } })).to.equal(1_267_200_000n);
  });

  it("FeeWindows reads each block's fee once and sums the 144 before the height", async () => {
    const reads: number[] = [];
    const w = new FeeWindows(async (h) => {
      reads.push(h);
      return BigInt(h) * 10n;
    });
    const at200 = await w.at(200);
    // heights 56..199: sum of 10h = 10 × (56 + 199) × 144 / 2
    expect(at200).to.deep.equal({ sum: (10n * (56n + 199n) * 144n) / 2n, blocks: 144 });
    await w.at(201);
    expect(reads.length).to.equal(145); // 56..200, each once
    const missing = new FeeWindows(async () => undefined);
    let err: Error | undefined;
    await missing.at(5).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/no block at height 1: its fees are unknown/);
  });

  it("subsidy schedules: regtest halves every 150 blocks, bitcoin every 210 000; 64 halvings pay nothing", () => {
    expect(subsidyAt(149, REGTEST_SUBSIDY)).to.equal(5_000_000_000n);
    expect(subsidyAt(300, REGTEST_SUBSIDY)).to.equal(1_250_000_000n);
    expect(subsidyAt(840_000, BITCOIN_SUBSIDY)).to.equal(312_500_000n);
    expect(subsidyAt(64 * 210_000, BITCOIN_SUBSIDY)).to.equal(0n);
  });

  describe("properties (seeded random shares)", () => {
    // xorshift32: reproducible.
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed / 2 ** 32;
    };
    const bitsList = ["1e00ffff", "1d00ffff", "207fffff", "1c0ae493", "17034219"];
    const shares = Array.from({ length: 400 }, (_, i) => ({
      id: i + 1,
      address: "0x" + String(Math.floor(rand() * 7)).repeat(40),
      units: BigInt(1 + Math.floor(rand() * 1e9)) * BigInt(1 + Math.floor(rand() * 1000)),
      nbits: bitsList[Math.floor(rand() * bitsList.length)],
      height: 1 + Math.floor(rand() * 1000),
      fees: { sum: BigInt(Math.floor(rand() * 1e8)), blocks: Math.floor(rand() * 145) },
    }));
    const credit = (s: (typeof shares)[number], fpps: boolean) =>
      shareCredit({ units: s.units, nbits: s.nbits, subsidy: subsidyAt(s.height, REGTEST_SUBSIDY), feeBps: 250, unitsPerSatoshi: 10n ** 10n, ...(fpps ? { fees: s.fees } : {}) });

    for (const fpps of [false, true]) {
      const name = fpps ? "FPPS" : "PPS";
      it(`${name}: credits are never negative, and the ledger grows by exactly their sum`, () => {
        const credits = shares.map((s) => credit(s, fpps));
        for (const c of credits) expect(c >= 0n).to.equal(true);
        const total = credits.reduce((a, b) => a + b, 0n);
        const leaves = advanceLedgerColumns({ accounts: [], amounts: [] }, { accounts: shares.map((s) => s.address), amounts: credits });
        expect(leaves.delta.reduce((a, b) => a + b, 0n)).to.equal(total);
        expect(leaves.cumulative.reduce((a, b) => a + b, 0n)).to.equal(total);
        // Per address: exactly the sum of its shares.
        for (let i = 0; i < leaves.accounts.length; i++) {
          const mine = shares.map((s, k) => (s.address === leaves.accounts[i] ? credits[k] : 0n)).reduce((a, b) => a + b, 0n);
          expect(leaves.delta[i]).to.equal(mine);
        }
        expect(total > 0n).to.equal(true);
      });

      it(`${name}: a share's value never depends on who else mined (alone, among others, in any order)`, () => {
        const alone = shares.map((s) => credit(s, fpps));
        const shuffled = [...shares].sort(() => rand() - 0.5);
        const among = new Map(shuffled.map((s) => [s.id, credit(s, fpps)]));
        shares.forEach((s, i) => expect(among.get(s.id)).to.equal(alone[i]));
        // An address's total = its shares' credits, whatever the others' shares (drop every other address).
        const a = shares[0].address;
        const onlyA = shares.filter((s) => s.address === a);
        const leavesAll = advanceLedgerColumns({ accounts: [], amounts: [] }, { accounts: shares.map((s) => s.address), amounts: alone });
        const leavesA = advanceLedgerColumns({ accounts: [], amounts: [] }, { accounts: onlyA.map((s) => s.address), amounts: onlyA.map((s) => credit(s, fpps)) });
        expect(leavesA.delta[0]).to.equal(leavesAll.delta[leavesAll.accounts.indexOf(a)]);
      });
    }

    it("doubling a share's difficulty doubles its credit, up to one unit of rounding", () => {
      for (const s of shares.slice(0, 100)) {
        const c = credit(s, true);
        const bigger = shareCredit({ units: s.units * 2n, nbits: s.nbits, subsidy: subsidyAt(s.height, REGTEST_SUBSIDY), feeBps: 250, unitsPerSatoshi: 10n ** 10n, fees: s.fees });
        expect(bigger >= c * 2n).to.equal(true);
        expect(bigger <= c * 2n + 1n).to.equal(true);
      }
    });
  });

  describe("settings: payout.scheme, payout.intervalSeconds", () => {
    it("default pplns, interval 3600", () => {
      const c = loadConfig({ env: {} });
      expect(c.payout).to.deep.equal({ scheme: "pplns", intervalSeconds: 3600 });
    });
    it("pps from the environment; fpps on the embedded chain too (its coinbases are published with the headers)", () => {
      expect(loadConfig({ env: { POOL_PAYOUT_SCHEME: "pps", POOL_PAYOUT_INTERVAL_SECONDS: "600" } }).payout).to.deep.equal({ scheme: "pps", intervalSeconds: 600 });
      expect(loadConfig({ env: { POOL_PAYOUT_SCHEME: "fpps" } }).payout).to.deep.equal({ scheme: "fpps", intervalSeconds: 3600 });
    });
    it("bad values name the setting", () => {
      expect(() => loadConfig({ env: { POOL_PAYOUT_SCHEME: "prop" } })).to.throw(/invalid configuration: payout\.scheme: must be one of pplns, pps, fpps, got "prop"/);
      expect(() => loadConfig({ overrides: { payout: { intervalSeconds: 0 } } })).to.throw(/invalid configuration: payout\.intervalSeconds: must be an integer from 60/);
      expect(() => loadConfig({ env: { POOL_PAYOUT_SCHEME: "" } })).to.throw(/payout\.scheme: POOL_PAYOUT_SCHEME is set but empty/);
    });
  });
});
