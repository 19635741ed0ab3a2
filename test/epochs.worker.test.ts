/**
 * Issue 15, part 2: the epoch build on a worker thread (src/epochs/build-worker.ts). Real stores
 * (SQLite files; PostgreSQL when a server answers), the real builder on both paths: the worker's
 * epoch files are byte-identical to the in-process build's, the worker never reuses a tree the
 * store no longer agrees with, failures reach the caller as errors, and the caller's event loop
 * stays responsive while a large epoch builds (a relative check; absolute figures are in
 * bench:stratum's "while a 1 000 000-account epoch builds" row).
 */
import { expect } from "chai";
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pg from "pg";
import { EpochBuilder, loadEpochTree, parseEpochFile, serializeEpochFile, type BuiltEpoch } from "../src/epochs";
import { EpochProofWorker } from "../src/epochs/proof-worker";
import { PayoutTree, verifyProof } from "../src/merkle";
import { openShareStore, type ShareStore, type ShareStoreConfig } from "../src/shares";
import { fillAddress, fillColdEpoch } from "./epochs.fill.helpers";
import { deltasOf, expectSameFiles } from "./epochs.same.helpers";
import { findPostgresUser } from "./pg.helpers";
import { until } from "./stratum.helpers";
import { chrtOnPath, PRIORITY_FIXTURE_MARK, SCHED_IDLE, SCHED_OTHER, threadPriorities } from "./thread.priority.fixture";

const CONTRACT = "0x" + "c0".repeat(20);
const FEE_ADDRESS = "0x" + "fe".repeat(20);

function builder(store: ShareStore, dataDir: string, worker?: ShareStoreConfig): EpochBuilder {
  return new EpochBuilder({ store, dataDir, powChain: "test", evmChainId: 31337, contract: CONTRACT, factor: "2", feeBps: 150, feeAddress: FEE_ADDRESS, confirmations: 1, ...(worker ? { worker: { store: worker } } : {}) });
}

/** The message of the error `p` rejects with (undefined when it resolves). */
async function rejection(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (err: Error) => err.message,
  );
}

/** The same checks on any store: cold epoch, warm epoch (the worker's kept tree), revocation. */
function identicalBuilds(label: string, open: (dir: string) => Promise<{ store: ShareStore; config: ShareStoreConfig } | undefined>, cleanup: () => Promise<void>) {
  describe(`epochs: the build worker gives the in-process bytes (${label})`, function () {
    this.timeout(300_000);
    let dir: string;
    let store: ShareStore;
    let config: ShareStoreConfig;
    const builders: EpochBuilder[] = [];
    const make = (sub: string, worker: boolean) => {
      const b = builder(store, path.join(dir, sub), worker ? config : undefined);
      builders.push(b);
      return b;
    };

    before(async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "epochs-worker-"));
      const opened = await open(path.join(dir, "store"));
      if (!opened) this.skip();
      ({ store, config } = opened!);
      await fillColdEpoch(store, 3_000, { height: 900_000 });
    });
    after(async function () {
      for (const b of builders) await b.close();
      await store?.close();
      await cleanup();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("cold epoch: the worker's files, root, totals and ledger deltas equal the in-process build's; its tree and leaves read back from the file", async function () {
      const inProcess = (await make("a", false).prepare())!;
      const worker = make("b", true);
      const built = (await worker.build())!;
      expect(built.number).to.equal(1);
      expect(built.reusedTree).to.equal(false);
      expectSameFiles(inProcess, built);
      expect(built.deltas.length).to.equal(3_001); // every miner and the fee address
      expect(built.timings.workerMs).to.be.a("number");
      // tree and leaves stay in the worker; here they are read back from the file on first use.
      expect(built.tree.root).to.equal(built.root);
      expect(built.leaves.accounts).to.deep.equal(inProcess.leaves.accounts);
      const account = fillAddress(1234);
      const entry = built.tree.proofFor(account)!;
      expect(verifyProof(built.root, account, entry.cumulative, entry.proof)).to.equal(true);
      expect(await store.ledger()).to.deep.equal(new Map(deltasOf(inProcess.deltas).map((d) => [d.address, d.cumulative])));
    });

    it("warm epoch: the worker reuses the tree it kept for epoch 1 and gives the bytes of a fresh in-process build", async function () {
      // 2 000 more shares from accounts already paid, and a second block.
      await fillColdEpoch(store, 2_000, { height: 900_001, reward: 312_500_001n });
      const worker = builders[1];
      const fresh = (await make("c", false).prepare())!; // no cached tree: the ledger from the store
      const built = (await worker.build())!;
      expect(built.number).to.equal(2);
      expect([built.reusedTree, fresh.reusedTree]).to.deep.equal([true, false]);
      expectSameFiles(fresh, built);
      expect(parseEpochFile(fs.readFileSync(built.filePath)).previous?.epoch).to.equal(1);
    });

    it("a revoked epoch: the worker drops the tree it kept and the rebuilt epoch has the bytes of a fresh in-process build", async function () {
      const worker = builders[1];
      const before = (await store.epoch(2))!;
      await worker.revoke(2);
      const rebuilt = (await worker.build())!;
      expect(rebuilt.number).to.equal(2);
      expect(rebuilt.reusedTree).to.equal(false); // it kept epoch 2's tree, now revoked; epoch 1's is gone
      expect(rebuilt.dataHash).to.equal(before.dataHash);
      expect(await store.ledger()).to.deep.equal(await store.ledgerAt(2));
    });

    it("an epoch recorded by another builder: the worker does not reuse its stale tree of epoch 2", async function () {
      await fillColdEpoch(store, 500, { height: 900_002, reward: 7_777n });
      const other = make("d", false);
      const e3 = (await other.build())!; // epoch 3, recorded without the worker's knowledge
      expect(e3.number).to.equal(3);
      await fillColdEpoch(store, 700, { height: 900_003, reward: 8_888n });
      const fresh = (await make("e", false).prepare())!;
      const built = (await builders[1].prepare())!;
      expect(built.number).to.equal(4);
      expect(built.reusedTree).to.equal(false);
      expectSameFiles(fresh, built);
    });
  });
}

identicalBuilds(
  "SQLite",
  async (dir) => {
    const config: ShareStoreConfig = { kind: "sqlite", dataDir: dir };
    return { store: await openShareStore(config), config };
  },
  async () => undefined,
);

const pgSchemas: string[] = [];
let pgUser: Promise<string | undefined> | undefined;
identicalBuilds(
  "PostgreSQL",
  async () => {
    pgUser ??= findPostgresUser().then((r) => {
      if ("reason" in r) console.log(`      PostgreSQL build-worker tests skipped: no server reachable on 127.0.0.1:5432 (${r.reason})`);
      return "user" in r ? r.user : undefined;
    });
    const user = await pgUser;
    if (!user) return undefined;
    const schema = `epochs_worker_${process.pid}_${pgSchemas.length}`;
    pgSchemas.push(schema);
    const config: ShareStoreConfig = { kind: "postgres", host: "127.0.0.1", port: 5432, database: "test", user, schema };
    return { store: await openShareStore(config), config };
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

describe("epochs: the build worker under a tampered store, and the caller's event loop", function () {
  this.timeout(300_000);
  let dir: string;
  const stores: ShareStore[] = [];
  const builders: EpochBuilder[] = [];

  /** A SQLite store at dir/<name> filled with a cold epoch; its config for the worker. */
  async function filled(name: string, accounts: number): Promise<{ store: ShareStore; config: ShareStoreConfig; file: string }> {
    const config: ShareStoreConfig = { kind: "sqlite", dataDir: path.join(dir, name) };
    const store = await openShareStore(config);
    stores.push(store);
    await fillColdEpoch(store, accounts);
    return { store, config, file: path.join(dir, name, "shares.sqlite") };
  }
  const make = (store: ShareStore, sub: string, worker?: ShareStoreConfig) => {
    const b = builder(store, path.join(dir, sub), worker);
    builders.push(b);
    return b;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "epochs-worker-adv-"));
  });
  after(async () => {
    for (const b of builders) await b.close();
    for (const s of stores) await s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a builder whose worker would open another kind of store is refused at construction", async function () {
    const { store } = await filled("kind", 10);
    expect(() => builder(store, path.join(dir, "kind-out"), { kind: "postgres", host: "127.0.0.1", database: "test" })).to.throw(TypeError, /worker\.store must open the builder's own store \(a sqlite store\), got postgres/);
  });

  it("on Linux the build worker's thread runs at nice 19 with the SCHED_IDLE policy while the caller's thread keeps nice 0 and SCHED_OTHER", async function () {
    if (process.platform !== "linux") this.skip();
    const lowered = () => new Set(threadPriorities().filter((t) => t.nice === 19).map((t) => t.tid));
    const before = lowered();
    const { store, config } = await filled("nice", 20);
    const b = make(store, "nice-out", config);
    expect((await b.prepare())?.number).to.equal(1); // the worker is up and has served a build
    const added = threadPriorities().filter((t) => t.nice === 19 && !before.has(t.tid));
    expect(added, "one thread lowered: the worker's").to.have.length(1);
    if (chrtOnPath()) expect(added[0].policy).to.equal(SCHED_IDLE);
    else console.log("      (util-linux's chrt not on PATH: only the nice value is checked)");
    const main = threadPriorities().find((t) => t.tid === String(process.pid))!;
    expect(main).to.include({ nice: 0, policy: SCHED_OTHER });
    await b.close();
    await until(() => [...lowered()].every((t) => before.has(t)), 5000, "the worker's thread gone");
  });

  it("a fresh process whose first async work comes after the worker lowered itself: libuv's pool threads keep nice 0 and SCHED_OTHER (they inherit the thread that starts them)", async function () {
    if (process.platform !== "linux") this.skip();
    const fixture = path.join(__dirname, "thread.priority.fixture.ts");
    const script = `
      const threadsBefore = require("fs").readdirSync("/proc/self/task").length;
      const { startModuleWorker } = require(${JSON.stringify(path.join(__dirname, "..", "src", "epochs", "thread.ts"))});
      const { threadPriorities } = require(${JSON.stringify(fixture)});
      const w = startModuleWorker(${JSON.stringify(fixture)}, { mark: ${JSON.stringify(PRIORITY_FIXTURE_MARK)} });
      w.on("message", (m) => {
        process.stdout.write(JSON.stringify({ applied: m.applied, pid: String(process.pid), threadsBefore, tasks: threadPriorities() }));
        process.exit(0);
      });`;
    const run = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), "-e", script], { cwd: path.join(__dirname, ".."), encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = JSON.parse(run.stdout) as { applied: string; pid: string; threadsBefore: number; tasks: { tid: string; nice: number; policy: number }[] };
    expect(out.applied).to.equal(chrtOnPath() ? "idle" : "nice");
    const lowered = out.tasks.filter((t) => t.nice !== 0 || t.policy !== SCHED_OTHER);
    expect(lowered, "only the worker's thread is lowered").to.have.length(1);
    expect(lowered[0].tid).to.not.equal(out.pid);
    // The pool's 4 threads (UV_THREADPOOL_SIZE's default) and the worker's, started meanwhile.
    expect(out.tasks.length - out.threadsBefore, "the pool's threads and the worker's were started").to.be.at.least(5);
  });

  it("the worker thread dies in the middle of a build: that build rejects with the reason, the next one starts a new thread and gives the in-process bytes", async function () {
    const { store, config } = await filled("crash", 5_000);
    const b = make(store, "crash-out", config);
    const building = b.prepare();
    // The thread, reached through the builder's internals: nothing else may end it.
    const host = (b as unknown as { worker: { worker?: { terminate(): Promise<number> } } }).worker;
    await new Promise((r) => setTimeout(r, 50));
    await host.worker!.terminate();
    expect(await rejection(building)).to.match(/^epoch build worker exited \(code \d+\)$/);
    const again = (await b.prepare())!;
    const inProcess = (await make(store, "crash-ref").prepare())!;
    expectSameFiles(inProcess, again);
  });

  it("amounts beyond 64 bits cross from the worker as decimals: the same deltas and bytes as the in-process build", async function () {
    const config: ShareStoreConfig = { kind: "sqlite", dataDir: path.join(dir, "wide") };
    const store = await openShareStore(config);
    stores.push(store);
    await fillColdEpoch(store, 40, { reward: (1n << 70n) + 12_345n });
    const inProcess = (await make(store, "wide-a").prepare())!;
    const worker = (await make(store, "wide-b", config).prepare())!;
    expect(deltasOf(inProcess.deltas).some((d) => d.cumulative >= 1n << 64n)).to.equal(true);
    expectSameFiles(inProcess, worker);
    // The packed decimals read in any order (the cursor restarts behind), and nothing past the end.
    const order = [...Array(inProcess.deltas.length).keys()].sort(() => Math.random() - 0.5);
    for (const i of [...order, 0, inProcess.deltas.length - 1, 3, 2, 1]) expect(worker.deltas.at(i)).to.deep.equal(inProcess.deltas.at(i));
    expect(worker.deltas.at(inProcess.deltas.length)).to.equal(undefined);
    expect(worker.deltas.at(-1)).to.equal(undefined);
  });

  it("an operator deletes a share from the middle of a window: the worker's file discloses the gap exactly as the in-process build does", async function () {
    const { store, config, file } = await filled("gap", 400);
    const db = new Database(file);
    try {
      expect(db.prepare(`DELETE FROM shares WHERE id IN (100, 101, 102)`).run().changes).to.equal(3);
    } finally {
      db.close();
    }
    const inProcess = (await make(store, "gap-a").prepare())!;
    const worker = (await make(store, "gap-b", config).prepare())!;
    expectSameFiles(inProcess, worker);
    const window = parseEpochFile(fs.readFileSync(worker.filePath)).blocks[0].window;
    expect(window.gaps).to.deep.equal([{ from: 100, to: 102, reason: "not in the SQLite store, whose ids never skip: these shares were deleted" }]);
    expect(window.shareCount).to.equal(397);
  });

  it("the block's share deleted from the store: the worker build rejects with the store's error as the in-process one does, and the worker keeps serving", async function () {
    const { store, config, file } = await filled("noblock", 300);
    const db = new Database(file);
    try {
      expect(db.prepare(`DELETE FROM shares WHERE id = (SELECT MAX(id) FROM shares)`).run().changes).to.equal(1);
    } finally {
      db.close();
    }
    const inProcessError = await make(store, "nb-a").prepare().then(
      () => undefined,
      (err: Error) => err,
    );
    expect(inProcessError?.message).to.match(/^block [0-9a-f]{64}: its share 300 is not in the store$/);
    const worker = make(store, "nb-b", config);
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await worker.prepare().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message, `attempt ${attempt}`).to.equal(inProcessError!.message);
    }
    expect(fs.existsSync(path.join(dir, "nb-b", "epochs", "epoch-000001.json"))).to.equal(false);
  });

  it("the caller's event loop stays responsive: its longest delay during a 100 000-account cold build in the worker is a small fraction of the in-process build's", async function () {
    const { store, config } = await filled("large", 100_000);
    const inLoop = make(store, "large-a");
    const inWorker = make(store, "large-b", config);
    const measure = async (b: EpochBuilder) => {
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      const e = (await b.prepare())!;
      h.disable();
      return { e, maxMs: h.max / 1e6 };
    };
    const a = await measure(inLoop);
    const w = await measure(inWorker);
    console.log(`      longest event-loop delay: in-process ${a.maxMs.toFixed(0)} ms, worker ${w.maxMs.toFixed(0)} ms (build ${a.e.timings.treeMs.toFixed(0)} ms tree in-process; worker total ${w.e.timings.workerMs.toFixed(0)} ms)`);
    expect(w.e.dataHash).to.equal(a.e.dataHash);
    expect(w.e.deltas.length).to.equal(100_001);
    // Not a benchmark (bench:stratum's epoch row measures it): only that the loop is not blocked for
    // the build. On a loaded CI machine GC and scheduling alone reach ~200 ms.
    expect(w.maxMs).to.be.lessThan(a.maxMs / 2);
    large = w.e;
  });

  let large: BuiltEpoch | undefined;

  it("proofs of the 100 000-account epoch from the proof worker: the in-process tree's proofs, the loop free while it loads the file", async function () {
    if (!large) this.skip();
    const e = large!;
    const source = { number: e.number, filePath: e.filePath, root: e.root };
    const proofs = new EpochProofWorker();
    try {
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      const first = await proofs.lookup(source, fillAddress(77_777)); // loads the file in the worker
      h.disable();
      const t = performance.now();
      const { tree } = loadEpochTree(e.filePath); // the same work on this thread: it is blocked throughout
      const inLoopMs = performance.now() - t;
      console.log(`      loading the file: in-process ${inLoopMs.toFixed(0)} ms blocked; proof worker, longest loop delay ${(h.max / 1e6).toFixed(0)} ms`);
      expect(h.max / 1e6).to.be.lessThan(inLoopMs / 2);
      for (const i of [0, 1, 77_777, 99_999]) {
        const expected = tree.proofFor(fillAddress(i))!;
        const got = i === 77_777 ? first : await proofs.lookup(source, fillAddress(i));
        expect(got).to.deep.equal(expected);
        expect(verifyProof(e.root, fillAddress(i), got!.cumulative, got!.proof)).to.equal(true);
      }
      expect(await proofs.lookup(source, "0x" + "ab".repeat(20))).to.equal(undefined); // no leaf
    } finally {
      await proofs.close();
    }
  });

  it("the proof worker refuses a file whose leaves do not give the recorded root, and a missing file, with the reason", async function () {
    const { store, config } = await filled("proofs", 50);
    const e = (await make(store, "proofs-out", config).build())!;
    const proofs = new EpochProofWorker();
    try {
      const account = fillAddress(3);
      expect((await proofs.lookup({ number: 1, filePath: e.filePath, root: e.root }, account))?.cumulative).to.be.a("bigint");
      // The operator moves 1 unit from one leaf to another and fixes up the file's root: the store's root no longer matches.
      const f = parseEpochFile(fs.readFileSync(e.filePath));
      f.leaves.cumulative[0] -= 1n;
      f.leaves.delta[0] -= 1n;
      f.leaves.cumulative[1] += 1n;
      f.leaves.delta[1] += 1n;
      const forged = path.join(dir, "forged.json");
      const forgedRoot = PayoutTree.fromSorted(f.leaves.accounts, f.leaves.cumulative).root;
      fs.writeFileSync(forged, serializeEpochFile({ ...f, root: forgedRoot }));
      const refused = await rejection(proofs.lookup({ number: 1, filePath: forged, root: e.root }, account));
      expect(refused).to.equal(`epoch 1: the leaves of ${forged} give root ${forgedRoot}, the store recorded ${e.root}`);
      expect(await rejection(proofs.lookup({ number: 1, filePath: path.join(dir, "missing.json"), root: e.root }, account))).to.match(/^ENOENT: no such file or directory/);
      // The worker still answers for the genuine file after the refusals.
      expect((await proofs.lookup({ number: 1, filePath: e.filePath, root: e.root }, account))?.account.toLowerCase()).to.equal(account);
    } finally {
      await proofs.close();
    }
  });
});
