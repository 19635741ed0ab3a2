import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { findPostgresUser } from "./pg.helpers";
import Database from "better-sqlite3";
import type { AcceptedShare, FoundBlock } from "../src/stratum/events";
import { MIGRATIONS, SCHEMA_VERSION, ShareValidationError, openShareStore, type Migration, type ShareStore } from "../src/shares";
import { WindowAccumulator, pplnsWeights } from "../src/pplns";
import { difficultyToUnits } from "../src/shares/difficulty";

// ---- fixtures ---------------------------------------------------------------------------------

const ADDR = (i: number) => "0x" + (i + 1).toString(16).padStart(40, "0");

function makeShare(i: number, over: Partial<AcceptedShare> = {}): AcceptedShare {
  const miner = i % 3;
  return {
    address: ADDR(miner),
    worker: `rig${miner}`,
    difficulty: ["0.02", "1", "65536.5"][miner],
    jobId: `j${Math.floor(i / 10)}`,
    height: 100 + Math.floor(i / 50),
    prevhash: "ab".repeat(32),
    coinb1: "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1f0164" + "14" + ADDR(miner).slice(2) + "08",
    coinb2: "ffffffff0100f2052a01000000015100000000",
    extranonce1: "0000000" + miner,
    extranonce2: i.toString(16).padStart(8, "0"),
    merkleBranch: ["11".repeat(32), "22".repeat(32)],
    version: "20000000",
    nbits: "207fffff",
    ntime: "66000000",
    nonce: i.toString(16).padStart(8, "0"),
    hash: i.toString(16).padStart(64, "0"),
    isBlock: false,
    time: 1_700_000_000_000 + i,
    ...over,
  };
}

function foundBlock(share: AcceptedShare, over: Partial<FoundBlock> = {}): FoundBlock {
  return { height: share.height, hash: share.hash, reward: "5000000000", address: share.address, worker: share.worker, submitted: true, time: share.time, ...over };
}

interface Backend {
  name: string;
  open(extra?: { migrations?: readonly Migration[] }): Promise<ShareStore>;
  /** Runs a read query on the store's database (to look inside its tables). */
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  cleanup(): Promise<void>;
}

function sqliteBackend(writerThread = false): Backend {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shares-test-"));
  return {
    name: "sqlite",
    open: (extra) => openShareStore({ kind: "sqlite", dataDir: dir, writerThread, ...extra }),
    async query(sql) {
      const db = new Database(path.join(dir, "shares.sqlite"), { readonly: true });
      try {
        return db.prepare(sql).all() as Array<Record<string, unknown>>;
      } finally {
        db.close();
      }
    },
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let schemaCounter = 0;
function postgresBackend(user: string): Backend {
  const schema = `shares_test_${process.pid}_${Date.now() % 1_000_000}_${schemaCounter++}`;
  const conn = { host: "127.0.0.1", port: 5432, database: "test", user };
  return {
    name: "postgres",
    open: (extra) => openShareStore({ kind: "postgres", ...conn, schema, ...extra }),
    async query(sql) {
      const client = new pg.Client(conn);
      await client.connect();
      try {
        return (await client.query(`SET search_path = ${schema}; ${sql}`) as unknown as pg.QueryResult[])[1].rows;
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      const client = new pg.Client(conn);
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

// ---- the suite, run against each backend --------------------------------------------------------

function storeSuite(label: string, makeBackend: () => Backend | Promise<Backend | undefined>) {
  describe(`shares: ${label} store`, function () {
    let backend: Backend;
    let store: ShareStore;

    beforeEach(async function () {
      const b = await makeBackend();
      if (!b) this.skip();
      backend = b as Backend;
      store = await backend.open();
    });
    afterEach(async function () {
      await store?.close();
      await backend?.cleanup();
    });

    it("stores shares with increasing ids and returns every field exactly", async function () {
      const input = Array.from({ length: 25 }, (_, i) => makeShare(i));
      const ids = await Promise.all(input.map((s) => store.recordShare(s)));
      expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).to.equal(25);
      expect(await store.lastShareId()).to.equal(ids[24]);
      expect(await store.shareCount()).to.equal(25);
      const back = [];
      for await (const s of store.sharesInRange(ids[0], ids[24], 7)) back.push(s);
      expect(back.map((s) => s.id)).to.deep.equal(ids);
      back.forEach((s, i) => {
        const { id, ...share } = s;
        expect(id).to.equal(ids[i]);
        expect(share).to.deep.equal(input[i]);
      });
      // A sub-range, and the difficulty comes back in canonical form.
      await store.recordShare(makeShare(25, { difficulty: "0.020000" }));
      const last = [];
      for await (const s of store.sharesInRange(ids[24] + 1, Number.MAX_SAFE_INTEGER)) last.push(s);
      expect(last).to.have.length(1);
      expect(last[0].difficulty).to.equal("0.02");
    });

    it("group-commits concurrent shares into few transactions and stores each job once", async function () {
      const before = (store as unknown as { commitStats: { commits: number } }).commitStats.commits;
      const ids = await Promise.all(Array.from({ length: 3000 }, (_, i) => store.recordShare(makeShare(i))));
      const commits = (store as unknown as { commitStats: { commits: number } }).commitStats.commits - before;
      expect(commits).to.be.at.least(1).and.at.most(10);
      expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
      // 3000 shares over 300 job ids × 3 coinbases (one per miner): at most 900 job rows.
      const [{ n }] = await backend.query(`SELECT COUNT(*) AS n FROM jobs`);
      expect(Number(n)).to.be.at.most(900).and.at.least(300);
    });

    it("rejects malformed shares with a reason, without failing the others", async function () {
      const cases: Array<[Partial<AcceptedShare>, RegExp]> = [
        [{ address: "0x1234" }, /address/],
        [{ difficulty: "1e-3" }, /difficulty/],
        [{ difficulty: "0.0000000000001" }, /more than 12 decimals/],
        [{ difficulty: "0" }, /greater than zero/],
        [{ nonce: "xyz" }, /nonce/],
        [{ merkleBranch: ["00"] }, /merkleBranch\[0\]/],
        [{ coinb1: "abc" }, /coinb1/],
        [{ time: -5 }, /time/],
        [{ isBlock: "yes" as unknown as boolean }, /isBlock/],
      ];
      const results = await Promise.allSettled([...cases.map(([over], i) => store.recordShare(makeShare(i, over))), store.recordShare(makeShare(99))]);
      cases.forEach(([, re], i) => {
        const r = results[i];
        expect(r.status).to.equal("rejected");
        expect((r as PromiseRejectedResult).reason).to.be.instanceOf(ShareValidationError);
        expect(String((r as PromiseRejectedResult).reason.message)).to.match(re);
      });
      expect(results[cases.length].status).to.equal("fulfilled");
      expect(await store.shareCount()).to.equal(1);
    });

    it("records found blocks, linked to their share, idempotently", async function () {
      const blockShare = makeShare(7, { isBlock: true });
      const shareId = await store.recordShare(blockShare);
      await store.recordBlock(foundBlock(blockShare), blockShare);
      await store.recordBlock(foundBlock(blockShare, { reward: "1" }), blockShare); // same hash: ignored
      // A block whose share was never recorded (its record() failed): the share is stored with it.
      const orphanShare = makeShare(8, { isBlock: true });
      await store.recordBlock(foundBlock(orphanShare, { submitted: false, submitError: "high-hash", address: "", worker: "" }), orphanShare);
      const blocks = await store.blocks();
      expect(blocks).to.have.length(2);
      expect(blocks[0]).to.deep.include({ hash: blockShare.hash, shareId, reward: 5_000_000_000n, finder: blockShare.address, status: "pending", confirmations: 0, epoch: null, nbits: "207fffff", submitted: true });
      expect(blocks[1]).to.deep.include({ submitted: false, submitError: "high-hash", finder: orphanShare.address, worker: orphanShare.worker });
      expect(blocks[1].shareId).to.be.greaterThan(shareId);
      expect(await store.shareCount()).to.equal(2);

      await store.updateBlock(blockShare.hash, { status: "confirmed", confirmations: 3 });
      await store.updateBlock(orphanShare.hash, { status: "orphaned" });
      expect((await store.blocks({ status: "confirmed", unpaid: true })).map((b) => b.hash)).to.deep.equal([blockShare.hash]);
      expect(await store.block(orphanShare.hash)).to.deep.include({ status: "orphaned" });
      expect(await store.block("ff".repeat(32))).to.equal(undefined);
      let error: unknown;
      await store.updateBlock(blockShare.hash, { status: "gone" as "pending" }).catch((e) => (error = e));
      expect(String(error)).to.match(/invalid block status/);
      error = undefined;
      await store.updateBlock("ff".repeat(32), { confirmations: 1 }).catch((e) => (error = e));
      expect(String(error)).to.match(/unknown block/);
    });

    it("a block recorded in the same burst as its share links to it", async function () {
      const s = makeShare(3, { isBlock: true });
      const [id] = await Promise.all([store.recordShare(s), store.recordBlock(foundBlock(s), s)]);
      expect((await store.block(s.hash))?.shareId).to.equal(id);
      expect(await store.shareCount()).to.equal(1);
    });

    it("walks weights newest first across batches; the PPLNS window equals the in-memory one", async function () {
      const input = Array.from({ length: 500 }, (_, i) => makeShare(i));
      const ids = await Promise.all(input.map((s) => store.recordShare(s)));
      const from = ids[400];
      const seen: number[] = [];
      for await (const batch of store.weightsNewestFirst(from, 37)) for (const r of batch) seen.push(r.id);
      expect(seen).to.deep.equal(ids.slice(0, 401).reverse());

      const N = difficultyToUnits("1000.5");
      const acc = new WindowAccumulator(N);
      outer: for await (const batch of store.weightsNewestFirst(from, 50)) for (const r of batch) if (!acc.addParts(r.account, r.whole, r.frac, r.id)) break outer;
      const names = await store.accountAddresses(acc.weights().map((w) => w.key));
      const fromStore = new Map(acc.weights().map((w) => [names.get(w.key) as string, w.weight]));
      const inMemory = pplnsWeights(
        ids
          .slice(0, 401)
          .reverse()
          .map((id, k) => ({ id, address: input[400 - k].address, units: difficultyToUnits(input[400 - k].difficulty) })),
        N,
      );
      expect(fromStore).to.deep.equal(inMemory.weights);
      expect(acc.summary()).to.deep.equal(inMemory.summary);
    });

    it("records epochs atomically: ledger, paid blocks, order, revocation", async function () {
      const s1 = makeShare(1, { isBlock: true });
      const s2 = makeShare(2, { isBlock: true });
      await store.recordShare(s1);
      await store.recordShare(s2);
      await store.recordBlock(foundBlock(s1), s1);
      await store.recordBlock(foundBlock(s2), s2);
      const epoch = (n: number, blocks: string[]) => ({
        number: n,
        blocks,
        root: "0x" + String(n).repeat(64).slice(0, 64),
        totalCumulative: 0n,
        reward: 0n,
        accounts: 2,
        filePath: `/data/epoch-${n}.json`,
        dataHash: "0x" + "d".repeat(64),
        shareLogPath: `/data/epoch-${n}.shares.jsonl`,
        shareLogDigest: "0x" + "e".repeat(64),
      });
      const a = ADDR(0);
      const b = ADDR(1);

      let error: unknown;
      await store.recordEpoch(epoch(2, [s1.hash]), []).catch((e) => (error = e));
      expect(String(error)).to.match(/not the next epoch/);

      await store.recordEpoch({ ...epoch(1, [s1.hash]), totalCumulative: 100n }, [
        { address: a, delta: 60n, cumulative: 60n },
        { address: b, delta: 40n, cumulative: 40n },
      ]);
      expect(await store.ledger()).to.deep.equal(
        new Map([
          [a, 60n],
          [b, 40n],
        ]),
      );
      expect((await store.block(s1.hash))?.epoch).to.equal(1);
      expect(await store.latestEpoch()).to.deep.include({ number: 1, state: "built", totalCumulative: 100n, blocks: [s1.hash] });

      // A paid block cannot be paid again, and a failed record changes nothing.
      error = undefined;
      await store.recordEpoch(epoch(2, [s1.hash]), [{ address: a, delta: 1n, cumulative: 61n }]).catch((e) => (error = e));
      expect(String(error)).to.match(/already paid/);
      error = undefined;
      await store.recordEpoch(epoch(2, [s2.hash]), [{ address: a, delta: 5n, cumulative: 99n }]).catch((e) => (error = e));
      expect(String(error)).to.match(/ledger mismatch/);
      expect(await store.latestEpoch()).to.deep.include({ number: 1 });
      expect((await store.block(s2.hash))?.epoch).to.equal(null);

      await store.recordEpoch(epoch(2, [s2.hash]), [{ address: a, delta: 5n, cumulative: 65n }]);
      expect(await store.ledger()).to.deep.equal(
        new Map([
          [a, 65n],
          [b, 40n],
        ]),
      );
      expect(await store.ledgerAt(1)).to.deep.equal(
        new Map([
          [a, 60n],
          [b, 40n],
        ]),
      );
      expect(await store.ledgerDeltas(2)).to.deep.equal([{ address: a, delta: 5n, cumulative: 65n }]);
      expect(await store.ledgerHistory(a)).to.deep.equal([
        { epoch: 1, address: a, delta: 60n, cumulative: 60n },
        { epoch: 2, address: a, delta: 5n, cumulative: 65n },
      ]);
      expect(await store.ledgerHistory(b)).to.deep.equal([{ epoch: 1, address: b, delta: 40n, cumulative: 40n }]);

      await store.updateEpochState(2, { state: "proposed", proposeTx: "0x" + "1".repeat(64) });
      await store.updateEpochState(2, { state: "accepted", acceptTx: "0x" + "2".repeat(64) });
      expect(await store.epoch(2)).to.deep.include({ state: "accepted", proposeTx: "0x" + "1".repeat(64), acceptTx: "0x" + "2".repeat(64) });

      // Revoking epoch 1 is refused (not the latest); revoking 2 rolls its ledger and blocks back.
      error = undefined;
      await store.revokeEpoch(1).catch((e) => (error = e));
      expect(String(error)).to.match(/only the latest/);
      await store.revokeEpoch(2);
      expect((await store.epoch(2))?.state).to.equal("revoked");
      expect(await store.ledger()).to.deep.equal(
        new Map([
          [a, 60n],
          [b, 40n],
        ]),
      );
      expect((await store.block(s2.hash))?.epoch).to.equal(null);
      expect((await store.ledgerHistory(a)).map((d) => d.epoch), "a revoked epoch leaves no history").to.deep.equal([1]);
      // The rebuilt epoch 2 takes the revoked one's number.
      await store.recordEpoch(epoch(2, [s2.hash]), [{ address: ADDR(5), delta: 7n, cumulative: 7n }]);
      expect((await store.epoch(2))?.state).to.equal("built");
      expect((await store.ledger()).get(ADDR(5))).to.equal(7n);
      expect((await store.epochs()).map((e) => e.number)).to.deep.equal([1, 2]);
    });

    it("records a large epoch without holding share commits back; what a failed record wrote never counts and is gone from the next one", async function () {
      const s1 = makeShare(1, { isBlock: true });
      const s2 = makeShare(2, { isBlock: true });
      for (const sh of [s1, s2]) {
        await store.recordShare(sh);
        await store.recordBlock(foundBlock(sh), sh);
      }
      const epoch = (n: number, blocks: string[], accounts: number) => ({
        number: n,
        blocks,
        root: "0x" + String(n).repeat(64).slice(0, 64),
        totalCumulative: 0n,
        reward: 0n,
        accounts,
        filePath: `/data/epoch-${n}.json`,
        dataHash: "0x" + "d".repeat(64),
        shareLogPath: `/data/epoch-${n}.shares.jsonl`,
        shareLogDigest: "0x" + "e".repeat(64),
      });
      const many = Array.from({ length: 20_000 }, (_, i) => ({ address: ADDR(1000 + i), delta: BigInt(i + 1), cumulative: BigInt(i + 1) }));
      // While the 20 000-row record runs, a share is stored (and acknowledged) before it ends.
      const order: string[] = [];
      // SQLite writes the chunks without an fsync each: whatever runs between them (a share commit
      // on the same connection) must still see the configured synchronous=FULL (2).
      const db = (store as unknown as { db?: { pragma(p: string, o: { simple: true }): unknown } }).db;
      const seen = new Set<unknown>();
      let watching = db !== undefined;
      const watch = () => {
        if (!watching) return;
        seen.add(db!.pragma("synchronous", { simple: true }));
        setImmediate(watch);
      };
      watch();
      const recording = store.recordEpoch(epoch(1, [s1.hash], many.length), many).then(() => order.push("epoch"));
      await store.recordShare(makeShare(3)).then(() => order.push("share"));
      await recording;
      watching = false;
      expect(order).to.deep.equal(["share", "epoch"]);
      if (db !== undefined) expect([...seen], "synchronous between the record's chunks").to.deep.equal([2]);
      expect((await store.ledger()).size).to.equal(many.length);

      // A record that fails at its last step (a block already paid), after all its rows were written.
      const other = Array.from({ length: 5_000 }, (_, i) => ({ address: ADDR(50_000 + i), delta: 3n, cumulative: 3n }));
      let error: unknown;
      await store.recordEpoch(epoch(2, [s1.hash], other.length), [...other, { address: ADDR(1000), delta: 1n, cumulative: 2n }]).catch((e) => (error = e));
      expect(String(error)).to.match(/already paid/);
      const ledger = await store.ledger();
      expect(ledger.size).to.equal(many.length);
      expect(ledger.get(ADDR(1000))).to.equal(1n);
      expect(await store.ledgerHistory(ADDR(50_000))).to.deep.equal([]);
      expect(await store.ledgerDeltas(2)).to.deep.equal([]);
      // The next record of epoch 2 (other accounts) counts alone: none of the failed one's rows remain.
      await store.recordEpoch(epoch(2, [s2.hash], 1), [{ address: ADDR(1001), delta: 10n, cumulative: 12n }]);
      const after = await store.ledger();
      expect(after.size).to.equal(many.length);
      expect(after.get(ADDR(1000))).to.equal(1n);
      expect(after.get(ADDR(1001))).to.equal(12n);
      expect(after.has(ADDR(50_000))).to.equal(false);
      expect(await store.ledgerDeltas(2)).to.deep.equal([{ address: ADDR(1001), delta: 10n, cumulative: 12n }]);
      expect(await store.ledgerHistory(ADDR(1000))).to.deep.equal([{ epoch: 1, address: ADDR(1000), delta: 1n, cumulative: 1n }]);
      // Revoked, epoch 2's value is gone at once; epoch 1's is back.
      await store.revokeEpoch(2);
      expect((await store.ledger()).get(ADDR(1001))).to.equal(2n);
      expect(await store.ledgerAt(2)).to.deep.equal(await store.ledger());
    });

    it("is bound to one deployment: the first start binds it, another chain or contract is refused naming both", async () => {
      const { bindStore } = await import("../src/shares/binding");
      const { ConfigError } = await import("../src/config");
      const a = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };
      expect(await store.getMeta("deployment")).to.equal(undefined);
      await bindStore(store, a, "the store");
      await bindStore(store, { ...a, contract: a.contract.toLowerCase() as `0x${string}` }, "the store"); // same, any spelling
      expect(await store.getMeta("deployment")).to.equal(`31337:${a.contract.toLowerCase()}`);
      for (const other of [{ ...a, contract: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" as const }, { ...a, chainId: 11155111 }]) {
        const err = await bindStore(store, other, "the store").then(() => undefined, (e: Error) => e);
        expect(err).to.be.instanceOf(ConfigError);
        expect(err!.message).to.contain(`belongs to contract ${a.contract} on chain 31337`).and.to.contain(`configured for contract ${other.contract} on chain ${other.chainId}`);
      }
      expect(await store.setMetaOnce("deployment", "1:0x0000000000000000000000000000000000000001"), "never overwritten").to.equal(`31337:${a.contract.toLowerCase()}`);
    });

    it("is versioned: migrations apply once, in order, and a newer database is refused", async function () {
      expect(await store.schemaVersion()).to.equal(SCHEMA_VERSION);
      await store.recordShare(makeShare(1));
      await store.close();
      const extra: Migration = {
        version: MIGRATIONS.length + 1,
        name: "test: miner notes",
        sqlite: [`CREATE TABLE miner_notes (address TEXT PRIMARY KEY, note TEXT)`],
        postgres: [`CREATE TABLE miner_notes (address TEXT PRIMARY KEY, note TEXT)`],
      };
      store = await backend.open({ migrations: [...MIGRATIONS, extra] });
      expect(await store.schemaVersion()).to.equal(SCHEMA_VERSION + 1);
      expect(await store.shareCount()).to.equal(1);
      const applied = await backend.query(`SELECT version, name FROM schema_migrations ORDER BY version`);
      expect(applied.map((r) => Number(r.version))).to.deep.equal([...Array(SCHEMA_VERSION + 1).keys()].map((i) => i + 1));
      await store.close();
      let error: unknown;
      await backend.open().then((s) => (store = s), (e) => (error = e));
      expect(String(error)).to.match(/newer than this program knows/);
      store = await backend.open({ migrations: [...MIGRATIONS, extra] });
      let orderError: unknown;
      await backend.open({ migrations: [...MIGRATIONS, { ...extra, version: 5 }] }).catch((e) => (orderError = e));
      expect(String(orderError)).to.contain(`expected ${MIGRATIONS.length + 1}`);
    });
  });
}

storeSuite("SQLite", () => sqliteBackend());
// Issue 15: the same contract with the shares written on a worker thread (ShareWriterThread).
storeSuite("SQLite, writer thread", () => sqliteBackend(true));

let postgres: Promise<{ user: string } | { reason: string }> | undefined;
storeSuite("PostgreSQL", async () => {
  postgres ??= findPostgresUser().then((r) => {
    if ("reason" in r) console.log(`      PostgreSQL store tests skipped: no server reachable on 127.0.0.1:5432 (${r.reason})`);
    return r;
  });
  const r = await postgres;
  return "user" in r ? postgresBackend(r.user) : undefined;
});

describe("shares: SQLite ledger rows written before migration 3", () => {
  it("get their previous values from the history, so that revoking an epoch recorded before the upgrade puts every account back (none deleted)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shares-prev-"));
    try {
      let store = await openShareStore({ kind: "sqlite", dataDir: dir });
      const [s1, s2] = [makeShare(1, { isBlock: true }), makeShare(2, { isBlock: true })];
      for (const s of [s1, s2]) {
        await store.recordShare(s);
        await store.recordBlock(foundBlock(s), s);
      }
      const epoch = (n: number, blocks: string[]) => ({ number: n, blocks, root: "0x" + String(n).repeat(64).slice(0, 64), totalCumulative: 0n, reward: 0n, accounts: 2, filePath: `/d/e${n}.json`, dataHash: "0x" + "d".repeat(64), shareLogPath: `/d/e${n}.jsonl`, shareLogDigest: "0x" + "e".repeat(64) });
      const [a, b] = [ADDR(0), ADDR(1)];
      await store.recordEpoch(epoch(1, [s1.hash]), [{ address: a, delta: 100n, cumulative: 100n }]);
      await store.recordEpoch(epoch(2, [s2.hash]), [
        { address: a, delta: 50n, cumulative: 150n },
        { address: b, delta: 7n, cumulative: 7n },
      ]);
      await store.close();
      // As the rows were before migration 3 (no previous values), then the migration's backfill.
      const db = new Database(path.join(dir, "shares.sqlite"));
      db.exec(`UPDATE ledger SET prev_cumulative = NULL, prev_epoch = NULL`);
      db.exec(MIGRATIONS[2].sqlite[2]);
      expect(db.prepare(`SELECT address, prev_cumulative, prev_epoch FROM ledger ORDER BY address`).all()).to.deep.equal([
        { address: a, prev_cumulative: "100", prev_epoch: 1 },
        { address: b, prev_cumulative: null, prev_epoch: null },
      ]);
      db.close();
      store = await openShareStore({ kind: "sqlite", dataDir: dir });
      await store.revokeEpoch(2);
      expect(await store.ledger()).to.deep.equal(new Map([[a, 100n]]));
      // Rebuilt, the epoch starts from epoch 1's values.
      await store.recordEpoch(epoch(2, [s2.hash]), [{ address: a, delta: 1n, cumulative: 101n }]);
      expect(await store.ledger()).to.deep.equal(new Map([[a, 101n]]));
      await store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
