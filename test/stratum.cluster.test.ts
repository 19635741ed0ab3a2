/**
 * Issue 15 part 1: Stratum on several processes sharing one port (src/stratum/cluster.ts), the
 * template source and the store staying in this process. Real worker processes, real TCP, real shares.
 */
import { expect } from "chai";
import nodeCluster from "node:cluster";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { EmbeddedChain } from "../src/chain";
import { bitsToTarget, difficultyToTarget, hashToDisplayHex, sha256d } from "../src/pow";
import { SqliteShareStore } from "../src/shares";
import { StratumCluster } from "../src/stratum/cluster";
import { decodeShares, encodeShares } from "../src/stratum/cluster-protocol";
import { MemoryShareSink } from "../src/stratum/memory-sink";
import type { AcceptedShare } from "../src/stratum/events";
import { ADDR1, ADDR2, handshake, mine, submit, until, type Handshake } from "./stratum.helpers";

const EASY = { startDifficulty: "0.00002", minDifficulty: "0.00001", bans: { enabled: false } };

describe("stratum on several processes (StratumCluster)", function () {
  this.timeout(60_000);
  let chain: EmbeddedChain;
  let sink: MemoryShareSink;
  let cluster: StratumCluster;
  let clients: Handshake[] = [];

  async function start(processes: number, bits = "1d00ffff"): Promise<number> {
    chain = new EmbeddedChain({ bits, syntheticTxs: 3 });
    await chain.start();
    sink = new MemoryShareSink();
    cluster = new StratumCluster({ source: chain, sink, processes, logger: pino({ level: "silent" }), config: { port: 0, host: "127.0.0.1", ...EASY } });
    return cluster.listen();
  }

  afterEach(async () => {
    for (const h of clients) h.client.close();
    clients = [];
    await cluster?.close(500);
    await chain?.stop();
  });

  it("spreads miners over the processes with disjoint extranonce1 values; every share is stored here before its answer, once", async () => {
    const port = await start(2);
    const emitted: AcceptedShare[] = [];
    cluster.on("share", (s: AcceptedShare) => emitted.push(s));
    for (let i = 0; i < 8; i++) clients.push(await handshake(port, `${i % 2 ? ADDR1 : ADDR2}.rig${i}`));
    const en1 = clients.map((h) => h.extranonce1);
    expect(new Set(en1).size, "no extranonce1 handed out twice").to.equal(8);
    // Worker i hands out the values ≡ i (mod 2): both processes took miners.
    expect(new Set(en1.map((e) => parseInt(e, 16) % 2))).to.deep.equal(new Set([0, 1]));
    for (const [i, h] of clients.entries()) {
      const user = `${i % 2 ? ADDR1 : ADDR2}.rig${i}`;
      const share = mine(user, h.notify, h.extranonce1, "0000000a", (v) => v <= difficultyToTarget(h.difficulty));
      const before = sink.count;
      expect((await submit(h.client, share.params)).result).to.equal(true);
      expect(sink.count, "stored in the pool process before the miner heard true").to.equal(before + 1);
      // The same header again, on the same connection: one header, one credit.
      expect((await submit(h.client, share.params)).error).to.deep.equal([22, "duplicate share", null]);
    }
    expect(sink.shares.map((s) => s.extranonce1).sort()).to.deep.equal([...en1].sort());
    expect(emitted).to.have.length(8);
    await until(() => cluster.stats().accepted === 8 && cluster.stats().connections === 8, 5000, "summed stats");
    expect(cluster.stats().rejected).to.deep.equal({ duplicate: 8 });
  });

  it("a block found on one process is submitted through this process's source, and every process's miners get the new work, clean", async () => {
    const port = await start(2, "207fffff");
    for (let i = 0; i < 4; i++) clients.push(await handshake(port, `${ADDR1}.rig${i}`));
    const height = chain.current().height;
    const reward = chain.current().coinbaseValue;
    const nextNotifies = clients.map((h) => h.client.next("mining.notify"));
    const h = clients[0];
    const share = mine(`${ADDR1}.rig0`, h.notify, h.extranonce1, "0000000b", (v) => v <= bitsToTarget("207fffff"));
    expect((await submit(h.client, share.params)).result).to.equal(true);
    await until(() => sink.blocks.length === 1, 5000, "the block record");
    expect(sink.blocks[0].submitted, sink.blocks[0].submitError).to.equal(true);
    // Recorded by this process from the submission and the share: finder, height, reward, hash.
    expect(sink.blocks[0]).to.include({ address: ADDR1.toLowerCase(), worker: "rig0", height, reward: reward.toString(), hash: sink.shares.find((s) => s.isBlock)!.hash });
    expect(chain.current().height).to.equal(height + 1);
    for (const n of await Promise.all(nextNotifies)) expect(n.params[8], "clean_jobs").to.equal(true);
    // The old job is stale everywhere now.
    expect((await submit(h.client, share.params)).error?.[0]).to.equal(21);
  });

  it("replaces a process killed with SIGKILL; its miners reconnect and are served", async () => {
    const port = await start(2);
    const live = () => Object.values(nodeCluster.workers ?? {}).filter((w) => w !== undefined && !w.isDead());
    const pid = live()[0]!.process.pid!;
    process.kill(pid, "SIGKILL");
    await until(() => live().every((w) => w!.process.pid !== pid) && cluster.listening === 2, 15_000, "a replacement worker listening");
    for (let i = 0; i < 4; i++) clients.push(await handshake(port, `${ADDR2}.again${i}`));
    // The replacement hands out the dead worker's extranonce1 values with an empty duplicate
    // filter: its coinbases carry "~1" in the pool tag, so no header the dead one accepted is valid again.
    const marked = clients.filter((c) => (c.notify.params[2] as string).includes(Buffer.from("/pplns-pool/~1").toString("hex")));
    expect(marked.length, "some miners reached the replacement").to.be.greaterThan(0);
    expect(marked.length).to.be.lessThan(4);
    expect(new Set(marked.map((c) => parseInt(c.extranonce1, 16) % 2)).size, "all on one residue class").to.equal(1);
    const h = clients[3];
    const share = mine(`${ADDR2}.again3`, h.notify, h.extranonce1, "0000000c", (v) => v <= difficultyToTarget(h.difficulty));
    expect((await submit(h.client, share.params)).result).to.equal(true);
  });

  it("a batch of shares crosses between processes field for field (encodeShares / decodeShares)", () => {
    const base: AcceptedShare = {
      address: "0x" + "ab".repeat(20), worker: "rig,1 \"x\"", difficulty: "0.5", jobId: "1f", height: 100, prevhash: "00".repeat(32),
      coinb1: "01", coinb2: "02", extranonce1: "00000001", extranonce2: "0000000000000001", merkleBranch: ["aa".repeat(32)],
      version: "20000000", nbits: "1d00ffff", ntime: "66000000", nonce: "00000001", hash: "ff".repeat(32), isBlock: false, time: 1,
    };
    const shares: AcceptedShare[] = [];
    for (let i = 0; i < 50; i++) {
      shares.push({ ...base, jobId: (i % 7).toString(16), coinb1: i % 3 === 0 ? "01" : "0101", difficulty: i % 5 === 0 ? "1" : "0.5", merkleBranch: i % 4 === 0 ? [] : base.merkleBranch, nonce: i.toString(16).padStart(8, "0"), isBlock: i === 13, time: i });
    }
    const batch = encodeShares(shares);
    expect(batch.jobs.length).to.be.lessThan(shares.length);
    expect(decodeShares(structuredClone(batch))).to.deep.equal(shares);
    expect(() => decodeShares({ jobs: [], rows: [0] })).to.throw(TypeError);
  });

  it("a start that fails (the port is taken) says why and leaves no worker process behind", async () => {
    const net = await import("node:net");
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    chain = new EmbeddedChain({ bits: "1d00ffff", syntheticTxs: 3 });
    await chain.start();
    sink = new MemoryShareSink();
    cluster = new StratumCluster({ source: chain, sink, processes: 2, logger: pino({ level: "silent" }), config: { port, host: "127.0.0.1", ...EASY } });
    try {
      let error: unknown;
      await cluster.listen().catch((e) => (error = e));
      expect(String(error)).to.match(/did not start: .*EADDRINUSE/);
      await until(() => Object.values(nodeCluster.workers ?? {}).every((w) => w === undefined || w.isDead()), 10_000, "no worker left");
    } finally {
      taken.close();
    }
  });

  it("a share the store refuses is answered 20 and not credited", async () => {
    const port = await start(1);
    clients.push(await handshake(port, `${ADDR1}.rig`));
    const h = clients[0];
    sink.failWith = new Error("disk full");
    const share = mine(`${ADDR1}.rig`, h.notify, h.extranonce1, "0000000d", (v) => v <= difficultyToTarget(h.difficulty));
    expect((await submit(h.client, share.params)).error).to.deep.equal([20, "internal: share not stored", null]);
    sink.failWith = null;
    // Not credited, so the miner may send it again.
    expect((await submit(h.client, share.params)).result).to.equal(true);
    expect(sink.count).to.equal(1);
  });
});

describe("stratum on several processes: a found block's record in the pool process, whichever message comes first", function () {
  this.timeout(30_000);

  // The pool process gets two messages for a found block from its worker: the submission (answered
  // once the source has it) and the share, in the next batch. Each order is driven here through the
  // cluster's own message handler, into a real SQLite store: the share must be stored once (the
  // block record finds its row) and the block once. "submission first" guards the bug 27024c5
  // fixed (it fails with the old order): the block's record queued before the share's, so the share
  // row was written by both (the header credited twice). "share first" guards the other order,
  // where the block record waits for the submission's answer.
  for (const order of ["submission first", "share first"] as const) {
    it(`${order}: the share is stored once and the block once`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-block-"));
      const store = await SqliteShareStore.open({ dataDir: dir });
      const chain = new EmbeddedChain({ bits: "1d00ffff", syntheticTxs: 0 });
      await chain.start();
      try {
        const cluster = new StratumCluster({ source: chain, sink: store, processes: 1, logger: pino({ level: "silent" }), config: { port: 0, host: "127.0.0.1" } });
        const blocks: string[] = [];
        cluster.on("block", (b: { hash: string }) => blocks.push(b.hash));
        const header = crypto.randomBytes(80);
        const hash = hashToDisplayHex(sha256d(header));
        const share: AcceptedShare = {
          address: "0x" + "ab".repeat(20), worker: "rig", difficulty: "1", jobId: "1", height: 5, prevhash: "00".repeat(32),
          coinb1: "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0b55",
          coinb2: "ffffffff0100f2052a010000001976a914000000000000000000000000000000000000000088ac00000000",
          extranonce1: "00000001", extranonce2: "0000000000000001", merkleBranch: [],
          version: "20000000", nbits: "1d00ffff", ntime: "66000000", nonce: "00000001", hash, isBlock: true, time: 1_700_000_000,
        };
        const sent: unknown[] = [];
        const worker = { isConnected: () => true, send: (m: unknown, cb?: (e: Error | null) => void) => (sent.push(m), cb?.(null), true) };
        const onMessage = (m: unknown) => (cluster as unknown as { onMessage(w: unknown, m: unknown): void }).onMessage(worker, m);
        const submitted = () => sent.some((m) => (m as { t: string }).t === "submitted");
        if (order === "submission first") {
          onMessage({ t: "submit", id: 1, hex: header.toString("hex") + "00" });
          await until(submitted, 5000, "the submission's answer");
          onMessage({ t: "shares", seq: 1, batch: encodeShares([share]) });
        } else {
          onMessage({ t: "shares", seq: 1, batch: encodeShares([share]) });
          onMessage({ t: "submit", id: 1, hex: header.toString("hex") + "00" });
        }
        await until(() => blocks.length === 1 && sent.some((m) => (m as { t: string }).t === "stored"), 5000, "the block and the share stored");
        expect(await store.shareCount(), "the block's share, once").to.equal(1);
        const recorded = await store.blocks();
        expect(recorded.map((b) => b.hash)).to.deep.equal([hash]);
        expect(recorded[0].submitted, "the source refused this made-up block").to.equal(false);
        expect(sent.find((m) => (m as { t: string }).t === "stored")).to.deep.include({ errors: [null] });
      } finally {
        await chain.stop();
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
