import { expect } from "chai";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { findPostgresUser } from "./pg.helpers";
import { mineTestShare } from "./shares.fixtures";
import { MerkleTree } from "merkletreejs";
import keccak256 from "keccak256";
import { encodeAbiParameters, type Address } from "viem";
import { PayoutTree, verifyProof } from "../src/merkle";
import { keccak32Batch, keccak64Batch, keccakSortedPairsBatch } from "../src/merkle/keccak";
import { DIFF1, bitsToTarget, buildCoinbaseParts, difficultyToTarget, hashToDisplayHex, targetToBits, verifyShareWork } from "../src/pow";
import { allocateBlock, windowUnitsForBits } from "../src/pplns";
import { openShareStore, type ShareStore } from "../src/shares";
import { difficultyToUnits } from "../src/shares/difficulty";
import type { AcceptedShare, FoundBlock } from "../src/stratum/events";
import { auditEpochParallel } from "../src/audit/parallel";
import {
  EpochBuilder,
  EpochFormatError,
  advanceLedger,
  auditEpoch,
  digestFile,
  digestHex,
  keccak256Hex,
  loadEpochTree,
  parseEpochFile,
  parseShareLog,
  serializeEpochFile,
  shareLogLine,
  verifyContinuity,
  type BuiltEpoch,
} from "../src/epochs";

// ---- the fast tree is merkletreejs's tree ---------------------------------------------------------

function randomAllocations(n: number): Array<{ account: Address; cumulative: bigint }> {
  return Array.from({ length: n }, () => ({
    account: ("0x" + crypto.randomBytes(20).toString("hex")) as Address,
    cumulative: crypto.randomInt(4) === 0 ? 0n : BigInt("0x" + crypto.randomBytes(crypto.randomInt(1, 33)).toString("hex")),
  }));
}

/** The reference: viem ABI encoding, keccak256 package, merkletreejs with sortPairs. */
function referenceTree(allocations: Array<{ account: string; cumulative: bigint }>) {
  const sorted = [...allocations].sort((a, b) => (a.account.toLowerCase() < b.account.toLowerCase() ? -1 : 1));
  const leaves = sorted.map((a) => keccak256(keccak256(Buffer.from(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [a.account as Address, a.cumulative]).slice(2), "hex"))));
  return { sorted, leaves, tree: new MerkleTree(leaves, keccak256, { sortPairs: true }) };
}

describe("merkle: the fast tree builder gives merkletreejs's roots and proofs", function () {
  it("WebAssembly keccak256 batches equal the keccak256 package, across chunk boundaries", function () {
    for (const n of [1, 2, 8191, 8192, 8193, 17000]) {
      const input = crypto.randomBytes(n * 64);
      if (n >= 2) input.copy(input, 32, 0, 32); // an equal pair: both orders hash the same
      const h64 = Buffer.alloc(n * 32);
      const h32 = Buffer.alloc(n * 32);
      const pairs = Buffer.alloc(n * 32);
      keccak64Batch(input, n, h64);
      keccak32Batch(input, n, h32);
      keccakSortedPairsBatch(input, n, pairs);
      for (const i of [0, 1, n >> 1, n - 1]) {
        if (i >= n) continue;
        const m = input.subarray(i * 64, i * 64 + 64);
        expect(h64.subarray(i * 32, i * 32 + 32).equals(keccak256(m)), `64-byte ${i}/${n}`).to.equal(true);
        expect(h32.subarray(i * 32, i * 32 + 32).equals(keccak256(input.subarray(i * 32, i * 32 + 32))), `32-byte ${i}/${n}`).to.equal(true);
        const [a, b] = [m.subarray(0, 32), m.subarray(32)];
        const sorted = Buffer.compare(a, b) <= 0 ? Buffer.concat([a, b]) : Buffer.concat([b, a]);
        expect(pairs.subarray(i * 32, i * 32 + 32).equals(keccak256(sorted)), `pair ${i}/${n}`).to.equal(true);
      }
    }
    expect(() => keccak64Batch(Buffer.alloc(10), 1, Buffer.alloc(32))).to.throw(RangeError);
  });

  it("random trees of 1..200 leaves: identical root and every proof", function () {
    for (let n = 1; n <= 200; n++) {
      const allocations = randomAllocations(n);
      const ours = new PayoutTree(allocations);
      const ref = referenceTree(allocations);
      expect(ours.root, `root of ${n}`).to.equal(ref.tree.getHexRoot());
      for (let i = 0; i < n; i++) {
        expect(ours.proofAt(i), `proof ${i} of ${n}`).to.deep.equal(ref.tree.getHexProof(ref.leaves[i], i));
        expect(ours.accountAt(i)).to.equal(ref.sorted[i].account.toLowerCase());
      }
    }
  });

  it("trees of a few thousand leaves: identical root and proofs; verifyProof accepts them", function () {
    for (const n of [2048, 3001, 4097]) {
      const allocations = randomAllocations(n);
      const ours = new PayoutTree(allocations);
      const ref = referenceTree(allocations);
      expect(ours.root).to.equal(ref.tree.getHexRoot());
      for (let i = 0; i < n; i++) expect(ours.proofAt(i)).to.deep.equal(ref.tree.getHexProof(ref.leaves[i], i));
      for (const i of [0, n >> 1, n - 1]) {
        expect(verifyProof(ours.root, ours.accountAt(i), ours.cumulativeAt(i), ours.proofAt(i))).to.equal(true);
        expect(verifyProof(ours.root, ours.accountAt(i), ours.cumulativeAt(i) + 1n, ours.proofAt(i))).to.equal(false);
      }
      expect(ours.tree.getHexRoot()).to.equal(ours.root); // the merkletreejs view of the same leaves
    }
  });

  it("reusing unchanged leaves of the previous tree gives the tree built from scratch", function () {
    const base = new PayoutTree(randomAllocations(3000));
    const accounts = Array.from({ length: base.size }, (_, i) => base.accountAt(i) as string);
    const amounts = Array.from({ length: base.size }, (_, i) => base.cumulativeAt(i));
    for (let i = 0; i < amounts.length; i += 17) amounts[i] += 5n; // some amounts grow
    amounts[3] += 1n << 200n; // one past 2^64 (the other leaf encoding path)
    const extra = randomAllocations(50).map((a) => a.account.toLowerCase()); // new accounts
    const merged = [...accounts.map((a, i) => [a, amounts[i]] as const), ...extra.map((a) => [a, 9n] as const)].sort((x, y) => (x[0] < y[0] ? -1 : 1));
    const incremental = PayoutTree.fromSorted(
      merged.map((m) => m[0]),
      merged.map((m) => m[1]),
      base,
    );
    const scratch = new PayoutTree(merged.map(([account, cumulative]) => ({ account: account as Address, cumulative })));
    expect(incremental.root).to.equal(scratch.root);
    expect(incremental.total).to.equal(scratch.total);
    expect(() => PayoutTree.fromSorted(["0x" + "b".repeat(40), "0x" + "a".repeat(40)], [1n, 2n])).to.throw(/ascending/);
    expect(() => PayoutTree.fromSorted(["0x" + "B".repeat(40)], [1n])).to.throw(/lower-case/);
    expect(() => new PayoutTree([{ account: ("0x" + "a".repeat(40)) as Address, cumulative: 1n }, { account: ("0x" + "A".repeat(40)) as Address, cumulative: 2n }])).to.throw(/duplicate/);
  });
});

// ---- ledger and file format ---------------------------------------------------------------------

const ADDR = (c: string) => "0x" + c.repeat(40);

describe("epochs: ledger and epoch file", function () {
  it("advances the cumulative ledger by a merge that keeps every account", function () {
    const next = advanceLedger(
      { accounts: [ADDR("2"), ADDR("5")], amounts: [10n, 20n] },
      new Map([
        [ADDR("5"), 3n],
        [ADDR("1"), 4n],
        [ADDR("9"), 1n],
      ]),
    );
    expect(next.accounts).to.deep.equal([ADDR("1"), ADDR("2"), ADDR("5"), ADDR("9")]);
    expect(next.cumulative).to.deep.equal([4n, 10n, 23n, 1n]);
    expect(next.delta).to.deep.equal([4n, 0n, 3n, 1n]);
    expect(() => advanceLedger({ accounts: [], amounts: [] }, new Map([[ADDR("1"), -1n]]))).to.throw(/negative/);
  });

  it("the epoch file parser rejects malformed documents with the failing field named", function () {
    expect(() => parseEpochFile(JSON.stringify({ format: "something-else" }))).to.throw(EpochFormatError, /format must be/);
    expect(() => parseEpochFile(JSON.stringify({ format: "pplns-epoch", version: 99 }))).to.throw(EpochFormatError, /unsupported version 99/);
    expect(() => parseEpochFile("{")).to.throw(EpochFormatError, /not valid JSON/);
  });
});

// ---- the builder on a real store with mined shares ------------------------------------------------

const MINERS = [ADDR("a"), ADDR("b"), ADDR("c")];
const DIFFICULTY = ["0.00000001", "0.00000002", "0.000000005"];
const FEE_ADDRESS = ADDR("f");
/** Network difficulty 1e-7: a window of N = 2e-7 difficulty is a few dozen of these shares. */
const NBITS = targetToBits(DIFF1 * 10n ** 7n);

/** Mines a share (or a block) for `miner` with real proof of work at test difficulties. */
function mineShare(miner: number, height: number, seq: number, isBlock: boolean, difficulty = DIFFICULTY[miner]): AcceptedShare {
  return mineTestShare({ address: MINERS[miner], miner, height, seq, isBlock, nbits: NBITS, committed: difficulty });
}

interface Scenario {
  shares: AcceptedShare[];
  /** Index into shares of each block's share, and its reward. */
  blocks: Array<{ at: number; reward: bigint }>;
}

/** 90 shares from three miners; blocks at shares 40 (miner b), 60 (miner a) and 85 (miner c). */
function makeScenario(): Scenario {
  const blockAt = new Map([
    [40, 1],
    [60, 0],
    [85, 2],
  ]);
  const shares: AcceptedShare[] = [];
  for (let i = 0; i < 90; i++) {
    const miner = blockAt.get(i) ?? (i * 7) % 3;
    shares.push(mineShare(miner, 100 + Math.floor(i / 30), i, blockAt.has(i)));
  }
  return { shares, blocks: [...blockAt.keys()].map((at, k) => ({ at, reward: 5_000_000_000n + BigInt(k) * 1234n })) };
}

let scenario: Scenario;

function found(s: AcceptedShare, reward: bigint): FoundBlock {
  return { height: s.height, hash: s.hash, reward: reward.toString(), address: s.address, worker: s.worker, submitted: true, time: s.time };
}

/** Records shares [from, to) and the blocks among them; returns the store ids. */
async function record(store: ShareStore, from: number, to: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = from; i < to; i++) {
    const s = scenario.shares[i];
    ids.push(await store.recordShare(s));
    const b = scenario.blocks.find((x) => x.at === i);
    if (b) await store.recordBlock(found(s, b.reward), s);
  }
  return ids;
}

/** What the epoch must pay for the block at share index `at`, computed independently in memory. */
function expectedAllocation(at: number, ids: number[], reward: bigint, feeBps: number) {
  const newestFirst = [];
  for (let i = at; i >= 0; i--) newestFirst.push({ id: ids[i], address: scenario.shares[i].address, units: difficultyToUnits(scenario.shares[i].difficulty) });
  return allocateBlock({ sharesNewestFirst: newestFirst, windowUnits: windowUnitsForBits(NBITS, "2"), reward, feeBps, feeAddress: FEE_ADDRESS }).allocations;
}

function builderFor(store: ShareStore, dataDir: string): EpochBuilder {
  return new EpochBuilder({ store, dataDir, powChain: "test-sha256d", evmChainId: 31337, contract: "0x" + "c0".repeat(20), factor: "2", feeBps: 250, feeAddress: FEE_ADDRESS, confirmations: 1 });
}

function builderSuite(label: string, openStore: (dir: string) => Promise<ShareStore | undefined>, cleanup: () => Promise<void>) {
  describe(`epochs: builder and auditor on the ${label} store`, function () {
    let dir: string;
    let store: ShareStore;
    let ids: number[];
    let epoch1: BuiltEpoch;

    before(async function () {
      scenario ??= makeScenario();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "epochs-test-"));
      const s = await openStore(path.join(dir, "a"));
      if (!s) this.skip();
      store = s as ShareStore;
      ids = await record(store, 0, 70);
    });
    after(async function () {
      await store?.close();
      await cleanup();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("pays only confirmed blocks at depth K; an orphaned block never pays", async function () {
      const builder = builderFor(store, path.join(dir, "a"));
      expect(await builder.prepare()).to.equal(undefined); // both blocks still pending
      const [b1, b2] = scenario.blocks;
      await store.updateBlock(scenario.shares[b1.at].hash, { status: "confirmed", confirmations: 0 });
      expect(await builder.prepare()).to.equal(undefined); // depth 0 < K = 1
      await store.updateBlock(scenario.shares[b1.at].hash, { confirmations: 1 });
      await store.updateBlock(scenario.shares[b2.at].hash, { status: "confirmed", confirmations: 2 });
      // A block that left the chain: its share stays a share, the block itself is never paid.
      const orphan = mineShare(2, 99, 999, true);
      await store.recordShare(orphan);
      await store.recordBlock(found(orphan, 7n), orphan);
      await store.updateBlock(orphan.hash, { status: "orphaned", confirmations: 9 });
      expect((await builder.payableBlocks()).map((b) => b.height)).to.deep.equal([scenario.shares[b1.at].height, scenario.shares[b2.at].height]);
    });

    it("builds epoch 1 over both blocks: allocations as computed independently, exact sums, root of the ledger", async function () {
      const builder = builderFor(store, path.join(dir, "a"));
      const prepared = await builder.prepare();
      const again = await builder.prepare();
      expect(prepared && again).to.not.equal(undefined);
      // Idempotent: byte-identical files and the same root when built twice.
      expect(again!.dataHash).to.equal(prepared!.dataHash);
      expect(again!.root).to.equal(prepared!.root);
      expect(await store.ledger()).to.deep.equal(new Map()); // not recorded yet: the ledger has not moved

      epoch1 = (await builder.build()) as BuiltEpoch;
      expect(epoch1.number).to.equal(1);
      expect(epoch1.dataHash).to.equal(prepared!.dataHash);
      const bytes = fs.readFileSync(epoch1.filePath);
      expect(keccak256Hex(bytes)).to.equal(epoch1.dataHash);
      const file = parseEpochFile(bytes);
      expect(serializeEpochFile(file).equals(bytes)).to.equal(true); // canonical layout
      expect(file.blocks.map((b) => b.hash)).to.deep.equal(scenario.blocks.slice(0, 2).map((b) => scenario.shares[b.at].hash));
      expect((await store.blocks({ status: "orphaned" }))[0].epoch).to.equal(null);
      expect(file.shareLog.hash).to.equal("sha256");
      expect(file.shareLog.digest).to.equal(await digestFile("sha256", epoch1.shareLogPath));

      const [b1, b2] = scenario.blocks;
      const expected = new Map<string, bigint>();
      for (const b of [b1, b2]) for (const [a, v] of expectedAllocation(b.at, ids, b.reward, 250)) expected.set(a, (expected.get(a) ?? 0n) + v);
      const got = new Map(file.leaves.accounts.map((a, i) => [a, file.leaves.delta[i]]));
      expect(got).to.deep.equal(expected);
      expect([...got.values()].reduce((s, v) => s + v, 0n)).to.equal(b1.reward + b2.reward);
      expect(BigInt(file.totalCumulative)).to.equal(b1.reward + b2.reward);
      expect(got.get(FEE_ADDRESS)).to.equal((b1.reward * 250n) / 10_000n + (b2.reward * 250n) / 10_000n);
      // The window of block 1 is complete and starts with a share counted in part or whole.
      expect(file.blocks[0].window.complete).to.equal(true);
      expect(BigInt(file.blocks[0].window.units)).to.equal(windowUnitsForBits(NBITS, "2"));

      // The ledger advanced with the record, and nothing is left to pay.
      expect(await store.ledger()).to.deep.equal(got);
      expect(await builder.prepare()).to.equal(undefined);
      const { tree } = loadEpochTree(epoch1.filePath);
      const proof = tree.proofFor(MINERS[0])!;
      expect(verifyProof(epoch1.root, MINERS[0], proof.cumulative, proof.proof)).to.equal(true);
    });

    it("another store holding the same shares builds the byte-identical epoch file", async function () {
      const other = await openStore(path.join(dir, "b"));
      if (!other) this.skip();
      try {
        await record(other!, 0, 70);
        for (const b of scenario.blocks.slice(0, 2)) await other!.updateBlock(scenario.shares[b.at].hash, { status: "confirmed", confirmations: 1 });
        const e = await builderFor(other!, path.join(dir, "b")).prepare();
        expect(e!.dataHash).to.equal(epoch1.dataHash);
        expect(fs.readFileSync(e!.filePath).equals(fs.readFileSync(epoch1.filePath))).to.equal(true);
        expect(fs.readFileSync(e!.shareLogPath).equals(fs.readFileSync(epoch1.shareLogPath))).to.equal(true);
      } finally {
        await other!.close();
      }
    });

    it("the audit of epoch 1 passes: digests, tree, every allocation and every share's proof of work", async function () {
      const progress: number[] = [];
      const report = await auditEpoch({ epochFile: epoch1.filePath, onProgress: (done) => progress.push(done), progressEvery: 10 });
      expect(report.findings).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      expect(report).to.deep.include({ epoch: 1, root: epoch1.root, dataHash: epoch1.dataHash, totalCumulative: epoch1.totalCumulative });
      expect(report.shares).to.equal(parseEpochFile(fs.readFileSync(epoch1.filePath)).shareLog.lines);
      expect(progress.length).to.be.greaterThan(1);
    });

    it("an epoch file written before SHA-256 share-log digests (shareLog.hash keccak256) still audits, and its digest is checked as keccak256", async function () {
      const t = path.join(dir, "keccak-log");
      fs.mkdirSync(t, { recursive: true });
      const epochFile = path.join(t, path.basename(epoch1.filePath));
      const logFile = path.join(t, path.basename(epoch1.shareLogPath));
      const log = fs.readFileSync(epoch1.shareLogPath);
      fs.writeFileSync(logFile, log);
      const older = parseEpochFile(fs.readFileSync(epoch1.filePath));
      older.shareLog.hash = "keccak256";
      older.shareLog.digest = digestHex("keccak256", log);
      fs.writeFileSync(epochFile, serializeEpochFile(older));
      for (const threads of [0, 1]) {
        const report = await auditEpochParallel({ epochFile, threads });
        expect(report.findings, `${threads} worker threads`).to.deep.equal([]);
      }
      older.shareLog.digest = digestHex("sha256", log);
      fs.writeFileSync(epochFile, serializeEpochFile(older));
      const wrong = await auditEpoch({ epochFile });
      expect(wrong.findings.join("\n")).to.match(/share log: keccak256 0x[0-9a-f]{64} differs from the digest in the epoch file/);
    });

    it("epoch 2 builds on epoch 1; leaf reuse gives the bytes a fresh builder gives; continuity holds", async function () {
      await record(store, 70, 90);
      const b3 = scenario.blocks[2];
      await store.updateBlock(scenario.shares[b3.at].hash, { status: "confirmed", confirmations: 1 });
      const cached = builderFor(store, path.join(dir, "a"));
      await cachedBuildOfEpoch1(cached); // a builder that built epoch 1 in this process holds its tree
      const fresh = await builderFor(store, path.join(dir, "a")).prepare();
      const reused = await cached.prepare();
      expect(reused!.dataHash).to.equal(fresh!.dataHash);
      const epoch2 = (await cached.build()) as BuiltEpoch;
      expect(epoch2.number).to.equal(2);
      const file2 = parseEpochFile(fs.readFileSync(epoch2.filePath));
      expect(file2.previous).to.deep.equal({ epoch: 1, root: epoch1.root, dataHash: epoch1.dataHash });
      const report = await auditEpoch({ epochFile: epoch2.filePath, previousEpochFile: epoch1.filePath });
      expect(report.findings).to.deep.equal([]);
      // Without the previous file the auditor says what it could not check.
      const partial = await auditEpoch({ epochFile: epoch2.filePath, checkWork: false });
      expect(partial.ok).to.equal(false);
      expect(partial.findings.join()).to.match(/pass its file/);

      // Revoke epoch 2 and rebuild it explicitly: same blocks, same bytes, ledger back and forward.
      await cached.revoke(2);
      expect(await store.ledger()).to.deep.equal(await store.ledgerAt(1));
      const kept = epoch2.filePath.replace(/\.json$/, `.revoked-${epoch2.dataHash.slice(2, 10)}.json`);
      expect(fs.existsSync(epoch2.filePath)).to.equal(false);
      expect(keccak256Hex(fs.readFileSync(kept))).to.equal(epoch2.dataHash); // the revoked file is kept as evidence
      const rebuilt = await builderFor(store, path.join(dir, "a")).build();
      expect(rebuilt!.number).to.equal(2);
      expect(rebuilt!.dataHash).to.equal(epoch2.dataHash);
    });

    it("a tampered share log or epoch file fails the audit with a precise finding", async function () {
      const t = path.join(dir, "tamper");
      fs.mkdirSync(t, { recursive: true });
      const epochFile = path.join(t, path.basename(epoch1.filePath));
      const logFile = path.join(t, path.basename(epoch1.shareLogPath));
      const original = fs.readFileSync(epoch1.filePath);
      const log = fs.readFileSync(epoch1.shareLogPath, "utf8");

      // 1. A share moved to another miner (digest fixed up so that only the content can tell).
      const parsed = parseShareLog(log);
      const victim = parsed.entries.findIndex((e) => e.address === MINERS[0] && !e.isBlock);
      const moved = { ...parsed.entries[victim], address: MINERS[1] };
      const lines = log.split("\n");
      lines[victim + 1] = shareLogLine(moved).trimEnd();
      const tamperedLog = lines.join("\n");
      fs.writeFileSync(logFile, tamperedLog);
      const file = parseEpochFile(original);
      file.shareLog.digest = digestHex(file.shareLog.hash, tamperedLog);
      fs.writeFileSync(epochFile, serializeEpochFile(file));
      let r = await auditEpoch({ epochFile });
      expect(r.ok).to.equal(false);
      expect(r.findings.join("\n")).to.match(/work: share \d+: credited to 0x(b{40}) but its coinbase pays 0x(a{40})/);
      expect(r.findings.join("\n")).to.match(/allocation: first differing leaf: leaf \d+ \(0x/);

      // 2. The untampered log with a digest that does not match it.
      fs.writeFileSync(logFile, log.replace(/"credited":"(\d+)"/, (_m, d) => `"credited":"${BigInt(d) + 1n}"`));
      fs.writeFileSync(epochFile, original);
      r = await auditEpoch({ epochFile, checkWork: false });
      expect(r.findings.join("\n")).to.match(/share log: sha256 0x[0-9a-f]{64} differs/);
      expect(r.findings.join("\n")).to.match(/credited \d+, should be \d+/);

      // 3. An epoch file whose leaf was raised: root, totals and allocation all disagree.
      fs.writeFileSync(logFile, log);
      const raised = parseEpochFile(original);
      raised.leaves.cumulative[0] += 1n;
      raised.leaves.delta[0] += 1n;
      fs.writeFileSync(epochFile, serializeEpochFile(raised));
      r = await auditEpoch({ epochFile });
      expect(r.dataHash).to.not.equal(epoch1.dataHash);
      const text = r.findings.join("\n");
      expect(text).to.match(/tree: root mismatch/);
      expect(text).to.match(/first differing leaf: leaf 0 /);

      // 4. A next epoch that lowers an account's cumulative amount: continuity names it.
      const prev = parseEpochFile(original);
      const next = parseEpochFile(original);
      next.epoch = 2;
      next.previous = { epoch: 1, root: prev.root, dataHash: keccak256Hex(original) };
      next.leaves.cumulative[1] -= 1n;
      const findings = verifyContinuity(next, { file: prev, dataHash: keccak256Hex(original) });
      expect(findings.join("\n")).to.match(new RegExp(`leaf 1 \\(${prev.leaves.accounts[1]}\\): cumulative decreased`));
    });

    /** Gives `builder` the in-memory tree of epoch 1, as the process that built it would have. */
    async function cachedBuildOfEpoch1(builder: EpochBuilder): Promise<void> {
      (builder as unknown as { cached: { epoch: number; tree: PayoutTree } }).cached = { epoch: 1, tree: epoch1.tree };
    }
  });
}

builderSuite("SQLite", async (dir) => openShareStore({ kind: "sqlite", dataDir: dir }), async () => undefined);

const pgSchemas: string[] = [];
let pgUser: Promise<string | undefined> | undefined;
builderSuite(
  "PostgreSQL",
  async () => {
    pgUser ??= findPostgresUser().then((r) => {
      if ("reason" in r) console.log(`      PostgreSQL builder tests skipped: no server reachable on 127.0.0.1:5432 (${r.reason})`);
      return "user" in r ? r.user : undefined;
    });
    const user = await pgUser;
    if (!user) return undefined;
    const schema = `epochs_test_${process.pid}_${pgSchemas.length}`;
    pgSchemas.push(schema);
    return openShareStore({ kind: "postgres", host: "127.0.0.1", port: 5432, database: "test", user, schema });
  },
  async () => {
    const user = await pgUser;
    if (!user) return;
    const c = new pg.Client({ host: "127.0.0.1", port: 5432, database: "test", user });
    await c.connect();
    try {
      for (const s of pgSchemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    } finally {
      await c.end();
    }
  },
);
