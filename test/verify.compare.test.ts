/**
 * AllocationRecomputer.compare() (src/epochs/verify.ts: the recomputed allocations against the
 * leaves by key, when key i is leaf i's account) against compareAllocations(file, allocations())
 * and the plain set-based comparison: the same findings, on epochs recomputed from share logs
 * (shares added by addWeighed, by addPlain, and by addPlain with a worker's AddressKeyLookup key):
 * honest leaves, one or two deltas off, an allocated account with no leaf, leaves that repeat an
 * account or are out of order, a fee address that is a leaf or a miner, other spellings.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { AllocationRecomputer, compareAllocations, type WeighedShare } from "../src/epochs/verify";
import type { EpochBlock, EpochFile } from "../src/epochs/format";
import { AddressKeyLookup } from "../src/epochs/addresskeys";
import { UNITS_PER_DIFFICULTY } from "../src/shares/difficulty";
import { referenceCompareAllocations } from "./allocations.reference";

const NBITS = "1d00ffff"; // difficulty 1: N = 2 × 10^12 units at factor 2

interface Log {
  blocks: EpochBlock[];
  shares: WeighedShare[];
  fee: { bps: number; address: string | null };
}

/** A share log of 1..3 blocks, each with 1..25 shares from `miners` (ids ascending). */
function randomLog(miners: string[], fee: { bps: number; address: string | null }): Log {
  const blocks: EpochBlock[] = [];
  const shares: WeighedShare[] = [];
  let id = 1;
  const nBlocks = 1 + Math.floor(Math.random() * 3);
  for (let b = 0; b < nBlocks; b++) {
    const n = 1 + Math.floor(Math.random() * 25);
    for (let s = 0; s < n; s++) {
      const frac = 1 + Math.floor(Math.random() * 4e11);
      const last = s === n - 1;
      shares.push({ block: b, id, address: miners[Math.floor(Math.random() * miners.length)], credited: BigInt(frac), hash: last ? `hash${b}` : `share${id}`, isBlock: last, nbits: NBITS, whole: 0, frac });
      id += 1 + (Math.random() < 0.1 ? 1 : 0);
    }
    const reward = BigInt(Math.floor(Math.random() * 1e10));
    blocks.push({
      height: 100 + b,
      hash: `hash${b}`,
      reward: reward.toString(),
      finder: shares[shares.length - 1].address,
      shareId: shares[shares.length - 1].id,
      nbits: NBITS,
      window: { units: "0", coveredUnits: "0", complete: false, firstShareId: 0, lastShareId: 0, shareCount: n, firstShareCredit: "0" },
      fee: "0",
    });
  }
  return { blocks, shares, fee };
}

function fileOf(log: Log, accounts: string[], delta: bigint[]): EpochFile {
  return {
    pplns: { factor: "2", unitsPerDifficulty: UNITS_PER_DIFFICULTY.toString(), rounding: "" },
    fee: log.fee,
    blocks: log.blocks,
    shareLog: { file: "shares.log", hash: "sha256", digest: "0x", lines: log.shares.length },
    reward: "0",
    leaves: { accounts, cumulative: delta, delta },
  } as unknown as EpochFile;
}

/** How the shares reach the recomputer. */
type Mode = "weighed" | "plain" | "lookup" | "mixed";

/** Recomputes `file` from the log's shares. */
function recompute(file: EpochFile, log: Log, mode: Mode): AllocationRecomputer {
  const shared = mode === "lookup" || mode === "mixed";
  const r = new AllocationRecomputer(file, 4, shared);
  const view = shared ? r.keysView() : null;
  if (shared) expect(view).to.not.equal(null);
  const lookup = view ? new AddressKeyLookup(view) : null;
  const source = { weighedAt: (i: number) => log.shares[i] };
  log.shares.forEach((s, i) => {
    const m = mode === "mixed" ? (["weighed", "plain", "lookup"] as const)[i % 3] : mode;
    if (m === "weighed" || !/^0x[0-9a-f]{40}$/.test(s.address)) return r.addWeighed(s);
    const bytes = Buffer.concat([randomBytes(3), Buffer.from(s.address.slice(2), "hex")]);
    const key = m === "lookup" ? lookup!.keyOfBytes(bytes, 3) : -1;
    r.addPlain(s.block, s.id, bytes, 3, s.whole, s.frac, Number(s.credited), source, i, key);
  });
  r.finish();
  return r;
}

/** compare() against compareAllocations and the plain reference, by every mode; returns the findings. */
function same(log: Log, accounts: string[], delta: bigint[], what: string): string[] {
  const file = fileOf(log, accounts, delta);
  let first: string[] | undefined;
  let firstAllocations: Map<string, bigint> | undefined;
  for (const mode of ["weighed", "plain", "lookup", "mixed"] as const) {
    const r = recompute(file, log, mode);
    const allocations = r.allocations();
    const got = r.compare();
    expect(got, `${what} (${mode}): compare() vs compareAllocations`).to.deep.equal(compareAllocations(file, allocations));
    expect(got, `${what} (${mode}): compare() vs the plain reference`).to.deep.equal(referenceCompareAllocations(accounts, delta, allocations));
    if (first === undefined) {
      first = got;
      firstAllocations = allocations;
    } else {
      expect(got, `${what} (${mode}): the same as by addWeighed`).to.deep.equal(first);
      expect([...allocations].sort(), `${what} (${mode}): allocations`).to.deep.equal([...firstAllocations!].sort());
    }
  }
  return first!;
}

/** The allocations of the log (recomputed with no leaves), as sorted honest leaves. */
function honestLeaves(log: Log): { accounts: string[]; delta: bigint[] } {
  const r = recompute(fileOf(log, [], []), log, "weighed");
  const entries = [...r.allocations()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { accounts: entries.map(([a]) => a), delta: entries.map(([, v]) => v) };
}

const addr = () => "0x" + randomBytes(20).toString("hex");

describe("epochs: AllocationRecomputer.compare() gives compareAllocations' findings", () => {
  let compared = 0;
  after(() => console.log(`      (${compared} epochs compared, each in 4 ways)`));

  function fixed(): { log: Log; accounts: string[]; delta: bigint[]; feeAddress: string } {
    const feeAddress = addr();
    const miners = Array.from({ length: 6 }, addr);
    let log: Log;
    let h: { accounts: string[]; delta: bigint[] };
    do {
      log = randomLog(miners, { bps: 200, address: feeAddress });
      h = honestLeaves(log);
    } while (h.accounts.length < 4);
    return { log, ...h, feeAddress };
  }

  it("honest leaves: no findings", () => {
    for (let i = 0; i < 30; i++) {
      const { log, accounts, delta } = fixed();
      expect(same(log, accounts, delta, `honest ${i}`)).to.deep.equal([]);
      compared++;
    }
  });

  it("one leaf's delta off by one, then two leaves off", () => {
    for (let i = 0; i < 30; i++) {
      const { log, accounts, delta } = fixed();
      const j = Math.floor(Math.random() * accounts.length);
      const one = [...delta];
      one[j] += i % 2 === 0 ? 1n : -1n;
      const f1 = same(log, accounts, one, `one off ${i}`);
      expect(f1).to.have.length(1);
      expect(f1[0]).to.contain(`leaf ${j} (${accounts[j]})`);
      const two = [...one];
      const k = (j + 1) % accounts.length;
      two[k] += 1n;
      const f2 = same(log, accounts, two, `two off ${i}`);
      expect(f2).to.have.length(2);
      expect(f2[0]).to.contain(`leaf ${Math.min(j, k)} `);
      expect(f2[1]).to.equal("2 leaves differ in all");
      compared += 2;
    }
  });

  it("an account allocated by the log with no leaf (a miner, the fee address), and a leaf the log does not allocate", () => {
    for (let i = 0; i < 30; i++) {
      const { log, accounts, delta, feeAddress } = fixed();
      const j = Math.floor(Math.random() * accounts.length);
      const dropped = accounts.filter((_, x) => x !== j);
      const droppedDelta = delta.filter((_, x) => x !== j);
      const f = same(log, dropped, droppedDelta, `dropped ${i}`);
      expect(f).to.deep.equal([`account ${accounts[j]} is allocated ${delta[j]} by the share log but has no leaf`]);
      const noFee = accounts.filter((a) => a !== feeAddress);
      same(log, noFee, delta.filter((_, x) => accounts[x] !== feeAddress), `no fee leaf ${i}`);
      // An extra leaf (delta 0 and not), kept in order.
      const extra = addr();
      const withExtra = [...accounts, extra].sort();
      const extraDelta = withExtra.map((a) => (a === extra ? BigInt(i % 2) : delta[accounts.indexOf(a)]));
      expect(same(log, withExtra, extraDelta, `extra leaf ${i}`)).to.have.length(i % 2);
      compared += 3;
    }
  });

  it("leaves that repeat an account or are out of order (key i is not leaf i: compare falls back)", () => {
    for (let i = 0; i < 30; i++) {
      const { log, accounts, delta } = fixed();
      const j = Math.floor(Math.random() * accounts.length);
      same(log, [...accounts, accounts[j]], [...delta, delta[j]], `repeated at end ${i}`);
      same(log, [accounts[j], ...accounts], [0n, ...delta], `repeated at start ${i}`);
      same(log, [...accounts].reverse(), [...delta].reverse(), `reversed ${i}`);
      const dup = [...accounts];
      dup[1] = dup[0];
      same(log, dup, delta, `leaf 1 = leaf 0 ${i}`);
      compared += 4;
    }
  });

  it("a fee address that is also a miner and a leaf, a zero fee, other spellings of leaf accounts", () => {
    for (let i = 0; i < 30; i++) {
      const miners = Array.from({ length: 4 }, addr);
      const log = randomLog(miners, { bps: i % 3 === 0 ? 0 : 150, address: i % 5 === 0 ? null : miners[0] });
      if (log.fee.address === null && log.fee.bps > 0) log.fee.bps = 0;
      const { accounts, delta } = honestLeaves(log);
      expect(same(log, accounts, delta, `fee is a miner ${i}`)).to.deep.equal([]);
      // Upper-case spellings of leaf accounts are other accounts (the allocations are lower case).
      const upper = accounts.map((a, x) => (x % 2 === 0 ? "0x" + a.slice(2).toUpperCase() : a));
      const f = same(log, upper, delta, `upper-case leaves ${i}`);
      expect(f.length).to.be.greaterThan(0);
      compared += 2;
    }
  });

  it("on random leaves: subsets, changed deltas, extra and repeated accounts, reversed order, fee address as a leaf or not", () => {
    for (let round = 0; round < 300; round++) {
      const miners = Array.from({ length: 1 + Math.floor(Math.random() * 10) }, addr);
      const feeAddress = Math.random() < 0.3 ? miners[0] : addr();
      const log = randomLog(miners, { bps: Math.floor(Math.random() * 3) * 100, address: feeAddress });
      const h = honestLeaves(log);
      let accounts = h.accounts.filter(() => Math.random() < 0.85);
      if (Math.random() < 0.3) accounts.push(addr());
      if (Math.random() < 0.3) accounts.push(miners[Math.floor(Math.random() * miners.length)]);
      accounts = [...new Set(accounts)].sort();
      if (round % 5 === 0) accounts.reverse();
      if (round % 7 === 0 && accounts.length > 0) accounts.push(accounts[Math.floor(Math.random() * accounts.length)]);
      const delta = accounts.map((a) => {
        const honest = h.delta[h.accounts.indexOf(a)] ?? 0n;
        return Math.random() < 0.85 ? honest : honest + BigInt(1 + Math.floor(Math.random() * 3));
      });
      same(log, accounts, delta, `round ${round}`);
      compared++;
    }
  });
});
