/**
 * `pool audit` against a dishonest operator who re-derives everything consistently: the forged
 * shares go into the operator's own store and the real epoch builder writes the share log, its
 * digest, the allocations and the root from them. The audit must name the cause: a header credited
 * twice (same or next epoch, fresh share id), a credited difficulty other than the one the
 * coinbase commits to, a committed difficulty above the network's.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { auditEpoch, EpochBuilder, digestHex, keccak256Hex, parseEpochFile, parseShareLog, serializeEpochFile, type BuiltEpoch } from "../src/epochs";
import { DIFF1, difficultyToTarget, targetToBits, verifyShareWork } from "../src/pow";
import { openShareStore, type ShareStore } from "../src/shares";
import type { AcceptedShare, FoundBlock } from "../src/stratum/events";
import { mineTestShare } from "./shares.fixtures";

const ADDR = (c: string) => "0x" + c.repeat(40);
const MINERS = [ADDR("a"), ADDR("b"), ADDR("c")];
/** Network difficulty 1e-7; shares at 1e-8: a window (factor 2) is about 20 shares. */
const NBITS = targetToBits(DIFF1 * 10n ** 7n);
const SHARE_DIFFICULTY = "0.00000001";

/** A share with real proof of work whose coinbase commits to `committed`; `credited` is what the operator writes in its store. */
function mineShare(miner: number, seq: number, opts: { isBlock?: boolean; committed?: string; credited?: string } = {}): AcceptedShare {
  return mineTestShare({ address: MINERS[miner], miner, seq, height: 200, prevhash: "ab".repeat(32), merkleBranch: ["22".repeat(32)], jobId: "j1", nbits: NBITS, committed: opts.committed ?? SHARE_DIFFICULTY, credited: opts.credited, isBlock: opts.isBlock ?? false });
}

function found(s: AcceptedShare, reward = 5_000_000_000n): FoundBlock {
  return { height: s.height, hash: s.hash, reward: reward.toString(), address: s.address, worker: s.worker, submitted: true, time: s.time };
}

describe("audit: credit only real, unique work (a consistent forger's share logs)", function () {
  let dir: string;
  const stores: ShareStore[] = [];
  let honestShares: AcceptedShare[];
  let honestBlock: AcceptedShare;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-credit-"));
    honestShares = [];
    for (let i = 0; i < 40; i++) honestShares.push(mineShare(i % 3, i));
    honestBlock = mineShare(1, 1000, { isBlock: true });
  });
  after(async () => {
    for (const s of stores) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh operator store and data dir; records `shares` (in order) and the block among them. */
  async function operator(name: string, shares: AcceptedShare[], blocks: AcceptedShare[]): Promise<{ store: ShareStore; builder: EpochBuilder; dataDir: string }> {
    const dataDir = path.join(dir, name);
    const store = await openShareStore({ kind: "sqlite", dataDir });
    stores.push(store);
    for (const s of shares) {
      await store.recordShare(s);
      if (blocks.includes(s)) {
        await store.recordBlock(found(s), s);
        await store.updateBlock(s.hash, { status: "confirmed", confirmations: 1 });
      }
    }
    const builder = new EpochBuilder({ store, dataDir, powChain: "test-sha256d", evmChainId: 31337, contract: "0x" + "c0".repeat(20), factor: "2", feeBps: 100, feeAddress: ADDR("f"), confirmations: 1 });
    return { store, builder, dataDir };
  }

  it("the honest log passes", async () => {
    const { builder } = await operator("honest", [...honestShares, honestBlock], [honestBlock]);
    const e = (await builder.build()) as BuiltEpoch;
    const r = await auditEpoch({ epochFile: e.filePath });
    expect(r.findings).to.deep.equal([]);
  });

  it("a share duplicated under a fresh id (newer ids shifted) is named as a repeated header", async () => {
    const copy = honestShares[30];
    const shares = [...honestShares.slice(0, 35), copy, ...honestShares.slice(35), honestBlock];
    const { builder } = await operator("dup-same-epoch", shares, [honestBlock]);
    const e = (await builder.build()) as BuiltEpoch;
    const r = await auditEpoch({ epochFile: e.filePath });
    expect(r.ok).to.equal(false);
    // Store ids start at 1: the original is id 31, its copy id 36.
    expect(r.findings.join("\n")).to.match(/duplicate header: share 36 \(epoch 1\) repeats the header of share 31: hash [0-9a-f]{64} credited twice/);
  });

  it("a share of epoch 1's window copied into epoch 2's window under a fresh id is named (with the previous share log)", async () => {
    const block2 = mineShare(2, 2000, { isBlock: true });
    const later: AcceptedShare[] = [];
    for (let i = 40; i < 46; i++) later.push(mineShare(i % 3, i));
    const shares = [...honestShares, honestBlock, ...later, honestShares[25], block2];
    const { builder } = await operator("dup-next-epoch", shares.slice(0, 41), [honestBlock]);
    const e1 = (await builder.build()) as BuiltEpoch;
    const store = stores[stores.length - 1];
    for (const s of shares.slice(41)) await store.recordShare(s);
    await store.recordBlock(found(block2), block2);
    await store.updateBlock(block2.hash, { status: "confirmed", confirmations: 1 });
    const e2 = (await builder.build()) as BuiltEpoch;
    const r = await auditEpoch({ epochFile: e2.filePath, previousEpochFile: e1.filePath });
    expect(r.findings.join("\n")).to.match(/duplicate header: share 48 \(epoch 2\) repeats the header of share 26:/);
    // Without the previous share log the auditor says what it could not rule out.
    const moved = path.join(dir, "e1-alone");
    fs.mkdirSync(moved);
    fs.copyFileSync(e1.filePath, path.join(moved, path.basename(e1.filePath)));
    const r2 = await auditEpoch({ epochFile: e2.filePath, previousEpochFile: path.join(moved, path.basename(e1.filePath)) });
    expect(r2.findings.join("\n")).to.match(/previous epoch's share log .* is missing: headers repeated from epoch 1 cannot be ruled out/);
  });

  it("a share line repeated under the same id inside a window is named, not only as a digest or allocation mismatch", async () => {
    const { builder, dataDir } = await operator("dup-same-id", [...honestShares, honestBlock], [honestBlock]);
    const e = (await builder.build()) as BuiltEpoch;
    const lines = fs.readFileSync(e.shareLogPath, "utf8").split("\n");
    const at = lines.findIndex((l) => l.includes('"id":35,'));
    lines.splice(at + 1, 0, lines[at]);
    const log = lines.join("\n");
    const t = path.join(dataDir, "forged");
    fs.mkdirSync(t);
    fs.writeFileSync(path.join(t, path.basename(e.shareLogPath)), log);
    const file = parseEpochFile(fs.readFileSync(e.filePath));
    file.shareLog.digest = digestHex(file.shareLog.hash, log);
    file.shareLog.lines = parseShareLog(log).entries.length;
    fs.writeFileSync(path.join(t, path.basename(e.filePath)), serializeEpochFile(file));
    const r = await auditEpoch({ epochFile: path.join(t, path.basename(e.filePath)) });
    expect(r.findings.join("\n")).to.match(/pplns: block 0: share 35 is listed twice in the window \(one header, one credit\)/);
  });

  it("the block-finding share's difficulty raised so that it fills the window alone is named against the coinbase", async () => {
    // The forger writes difficulty 1 (its hash would even reach it? no: only the network's 1e-7).
    const raised = { ...honestBlock, difficulty: "0.0000002" };
    const { builder } = await operator("raised-block", [...honestShares, raised], [raised]);
    const e = (await builder.build()) as BuiltEpoch;
    const r = await auditEpoch({ epochFile: e.filePath });
    expect(r.ok).to.equal(false);
    expect(r.findings.join("\n")).to.match(/pplns: share 41: credited difficulty 0\.0000002 differs from the difficulty 0\.00000001 its coinbase commits to/);
  });

  it("a lucky share's recorded difficulty raised to what its hash reaches is still named (the coinbase decides)", async () => {
    // One inside the block's window (the newest 20 or so shares).
    const lucky = honestShares.findIndex((s, i) => i >= 30 && verifyShareWork(s).hashValue <= difficultyToTarget("0.00000002"));
    expect(lucky).to.be.at.least(30);
    const shares = honestShares.map((s, i) => (i === lucky ? { ...s, difficulty: "0.00000002" } : s));
    const { builder } = await operator("raised-lucky", [...shares, honestBlock], [honestBlock]);
    const e = (await builder.build()) as BuiltEpoch;
    const r = await auditEpoch({ epochFile: e.filePath });
    expect(r.findings.join("\n")).to.match(new RegExp(`share ${lucky + 1}: credited difficulty 0\\.00000002 differs from the difficulty 0\\.00000001 its coinbase commits to`));
  });

  it("a job whose coinbase commits to a difficulty above the network's is named, block or not", async () => {
    const forged = mineShare(0, 3000, { isBlock: true, committed: "1" });
    const { builder } = await operator("above-network", [...honestShares, forged], [forged]);
    const e = (await builder.build()) as BuiltEpoch;
    const r = await auditEpoch({ epochFile: e.filePath });
    expect(r.findings.join("\n")).to.match(/work: share 41: its coinbase commits to difficulty 1, above the network difficulty of nbits/);
  });
});
