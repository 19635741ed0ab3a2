/**
 * The SQLite share writer thread (issue 15, store.writerThread): a thread that ends after its
 * commit but before its answer must not get its batch written twice; one that ends between
 * batches is started again. Real thread, real SQLite file.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { SqliteShareStore } from "../src/shares";
import { committedBatch, ShareWriterThread, type WriteItem } from "../src/shares/sqlite-writer";
import { JobCache, validateShare } from "../src/shares/validate";
import type { AcceptedShare } from "../src/stratum/events";

const ADDR = (i: number) => "0x" + (i + 1).toString(16).padStart(40, "0");

function share(i: number): AcceptedShare {
  return {
    address: ADDR(i % 3), worker: "rig", difficulty: "0.5", jobId: `j${i >> 3}`, height: 100, prevhash: "ab".repeat(32),
    coinb1: "0100000001" + "00".repeat(32) + "ffffffff20", coinb2: "ffffffff0100f2052a01000000015100000000", extranonce1: "00000001",
    extranonce2: i.toString(16).padStart(8, "0"), merkleBranch: ["11".repeat(32)], version: "20000000", nbits: "207fffff",
    ntime: "66000000", nonce: i.toString(16).padStart(8, "0"), hash: (i + 1).toString(16).padStart(64, "0"), isBlock: false, time: 1_700_000_000_000 + i,
  };
}

describe("shares: the SQLite writer thread", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "shares-writer-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a thread that ends after its commit, before its answer: the batch is answered from its marker, not written again", async () => {
    // The schema, as the store makes it.
    await (await SqliteShareStore.open({ dataDir: dir })).close();
    const file = path.join(dir, "shares.sqlite");
    const db = new Database(file);
    try {
      const jobs = new JobCache();
      const items: WriteItem[] = Array.from({ length: 25 }, (_, i) => ({ kind: "share", row: validateShare(share(i), jobs) }));
      const thread = new ShareWriterThread(file, "full", (seq) => committedBatch(db, seq));
      await thread.start();
      const worker = (thread as unknown as { worker: Worker }).worker;
      // The answer is lost: the thread's replies go nowhere from here on.
      worker.removeAllListeners("message");
      const written = thread.write(items);
      const deadline = Date.now() + 10_000;
      while (committedBatch(db, 1) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await worker.terminate();
      const ids = await written;
      expect(ids).to.deep.equal(committedBatch(db, 1));
      expect(ids).to.have.length(25);
      expect(db.prepare(`SELECT COUNT(*) FROM shares`).pluck().get()).to.equal(25);
      // The next batch starts another thread; nothing of the first is written again.
      const more = await thread.write(items.slice(0, 3).map((it, i) => ({ kind: "share", row: validateShare(share(100 + i), jobs) })));
      expect(more).to.have.length(3);
      expect(db.prepare(`SELECT COUNT(*) FROM shares`).pluck().get()).to.equal(28);
      await thread.close();
    } finally {
      db.close();
    }
  });

  it("a thread that ends between batches is started again for the next; every share is stored once", async () => {
    const store = await SqliteShareStore.open({ dataDir: dir, writerThread: true });
    await store.startWriter();
    const ids = await Promise.all([0, 1, 2].map((i) => store.recordShare(share(i))));
    expect(ids).to.have.length(3);
    const thread = (store as unknown as { writerThread: { worker: Worker } }).writerThread;
    await thread.worker.terminate();
    // A new thread for the next shares; every share once.
    await Promise.all([3, 4, 5, 6].map((i) => store.recordShare(share(i))));
    expect(await store.shareCount()).to.equal(7);
    const hashes = new Set<string>();
    for await (const s of store.sharesInRange(1, 100)) hashes.add(s.hash);
    expect(hashes.size).to.equal(7);
    await store.close();
  });
});
