import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { syntheticTransactions } from "../src/chain/synthetic";
import type { BlockTemplate } from "../src/chain/types";
import { verifyShareWork } from "../src/pow";
import { makeWork, TemplateWork, type SessionJob } from "../src/stratum/jobs";
import { ARENA_COINBASE_MAX, ShareHasher } from "../src/stratum/sharehash";
import { hashShare } from "../src/stratum/shares";

function template(txs: number, prev = randomBytes(32).toString("hex")): BlockTemplate {
  return {
    height: 800_000 + txs,
    previousBlockHash: prev,
    version: 0x20000000,
    bits: "1d00ffff",
    curtime: 1_700_000_000,
    mintime: 1_699_999_000,
    coinbaseValue: 312_500_000n,
    transactions: syntheticTransactions(txs),
    id: `t${txs}`,
  };
}

function job(tw: TemplateWork, address: string, units: bigint, extraCoinb2 = Buffer.alloc(0)): SessionJob {
  const base = tw.partsFor(address, units, `${address}:${units}`);
  const parts = extraCoinb2.length === 0 ? base : { ...base, coinb2Buf: Buffer.concat([base.coinb2Buf, extraCoinb2]), coinb2: base.coinb2 + extraCoinb2.toString("hex") };
  const work = makeWork(tw, 1_700_000_000_000, true);
  return { id: "1", work, parts, difficulty: "1", difficultyUnits: units, target: 0n };
}

describe("ShareHasher (WebAssembly) against hashShare and verifyShareWork", () => {
  const opts = { poolTag: "/test/", extranonce1Size: 4, extranonce2Size: 8, payoutScript: Buffer.from("0014" + "ab".repeat(20), "hex") };
  const trees = [0, 1, 2, 3, 7, 100].map((n, i) => new TemplateWork(template(n), i + 1, opts));
  const hasher = new ShareHasher();

  function agree(j: SessionJob, en1: Buffer, en2: string, version: number, ntime: number, nonce: number): void {
    const ref = hashShare(j, en1, en2, version, ntime, nonce);
    const got = hasher.hash(j, en1, en2, version, ntime, nonce);
    expect(got.hash.equals(ref.hash)).to.equal(true);
    expect(got.hashValue).to.equal(ref.hashValue);
    expect(hasher.lastHeader().equals(ref.header)).to.equal(true);
    expect(hasher.lastCoinbase().equals(ref.coinbase)).to.equal(true);
    const tw = j.work.tw;
    const v = verifyShareWork({
      coinb1: j.parts.coinb1, coinb2: j.parts.coinb2, extranonce1: en1.toString("hex"), extranonce2: en2, merkleBranch: tw.branch,
      version: (version >>> 0).toString(16).padStart(8, "0"), prevhash: tw.prevhash, nbits: tw.nbits,
      ntime: (ntime >>> 0).toString(16).padStart(8, "0"), nonce: (nonce >>> 0).toString(16).padStart(8, "0"),
    });
    expect(v.hashValue).to.equal(got.hashValue);
  }

  it("gives the same hash, header and coinbase on random shares over branches of 0 to 7 steps", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: trees.length - 1 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (t, addr, units, en1, en2, version, ntime, nonce) => {
          const j = job(trees[t], "0x" + Buffer.from(addr).toString("hex"), units);
          agree(j, Buffer.from(en1), Buffer.from(en2).toString("hex"), version, ntime, nonce);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("hashes every coinbase length across SHA-256's block boundaries, and past the arena's room through the reference", () => {
    const tw = trees[3];
    const en1 = Buffer.from("deadbeef", "hex");
    // Coinbases of every length over three 64-byte blocks, then the largest in the arena and beyond it.
    const base = job(tw, "0x" + "11".repeat(20), 1000n);
    const baseLength = base.parts.coinb1Buf.length + 4 + 8 + base.parts.coinb2Buf.length;
    for (let extra = 0; extra < 192; extra++) agree(job(tw, "0x" + "11".repeat(20), 1000n, randomBytes(extra)), en1, "00112233445566ff", 0x20000000, 1_700_000_000, extra);
    for (const total of [ARENA_COINBASE_MAX - 1, ARENA_COINBASE_MAX, ARENA_COINBASE_MAX + 1, 3 * ARENA_COINBASE_MAX]) {
      agree(job(tw, "0x" + "11".repeat(20), 1000n, randomBytes(total - baseLength)), en1, "ffffffffffffffff", 0xffffffff, 0, 0xffffffff);
    }
  });

  it("keeps nothing of one share in the next: interleaved jobs, a large coinbase between small ones", () => {
    const small = job(trees[4], "0x" + "22".repeat(20), 5n);
    const large = job(trees[5], "0x" + "33".repeat(20), 7n, randomBytes(ARENA_COINBASE_MAX));
    const en1 = Buffer.from("00000001", "hex");
    for (let i = 0; i < 20; i++) agree(i % 3 === 1 ? large : small, en1, randomBytes(8).toString("hex"), 0x20000000 + i, 1_700_000_000 + i, i * 7919);
  });

  it("returns a hash that the next call does not overwrite (the duplicate filter keeps it)", () => {
    const j = job(trees[2], "0x" + "44".repeat(20), 9n);
    const a = hasher.hash(j, Buffer.from("01020304", "hex"), "0000000000000001", 0x20000000, 1_700_000_000, 1);
    const copy = Buffer.from(a.hash);
    hasher.hash(j, Buffer.from("01020304", "hex"), "0000000000000002", 0x20000000, 1_700_000_000, 2);
    expect(a.hash.equals(copy)).to.equal(true);
  });
});
