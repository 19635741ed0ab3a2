import { expect } from "chai";
import { parseStratumUrl } from "../src/miner/client";
import { WorkUnit } from "../src/miner/hasher";
import { parseNotify } from "../src/miner/job";
import { LoadGenerator, percentile } from "../src/miner/load";
import { Miner } from "../src/miner/miner";
import { hashToDisplayHex, uint32ToHex, verifyShareWork } from "../src/pow";
import { ADDR1, ADDR2, ADDR3, handshake, startPool, until, type Pool } from "./stratum.helpers";

describe("miner: our Stratum client, CPU hasher and load mode", function () {
  let pool: Pool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it("parses stratum URLs", () => {
    expect(parseStratumUrl("stratum+tcp://127.0.0.1:3333")).to.deep.equal({ host: "127.0.0.1", port: 3333 });
    expect(parseStratumUrl("localhost:1")).to.deep.equal({ host: "localhost", port: 1 });
    expect(parseStratumUrl("stratum+tcp://[::1]:3333")).to.deep.equal({ host: "::1", port: 3333 });
    expect(() => parseStratumUrl("http://x")).to.throw(/bad stratum url/);
    expect(() => parseStratumUrl("x:70000")).to.throw(/port/);
  });

  it("hashes headers exactly as the proof-of-work core verifies them, and ignores malformed notifies", async () => {
    pool = await startPool();
    const h = await handshake(pool.port);
    const job = parseNotify(h.notify.params, "0.5");
    const unit = new WorkUnit(job, Buffer.from(h.extranonce1, "hex"), Buffer.from("0a0b0c0d", "hex"), job.version | 0x4000, 0x4000);
    unit.nextNonce = 12345;
    const [f] = unit.scan(1, (1n << 256n) - 1n);
    const w = verifyShareWork({
      coinb1: h.notify.params[2] as string,
      coinb2: h.notify.params[3] as string,
      extranonce1: h.extranonce1,
      extranonce2: "0a0b0c0d",
      merkleBranch: h.notify.params[4] as string[],
      version: uint32ToHex(job.version | 0x4000),
      prevhash: h.notify.params[1] as string,
      nbits: h.notify.params[6] as string,
      ntime: h.notify.params[7] as string,
      nonce: uint32ToHex(12345),
    });
    expect(hashToDisplayHex(f.hash)).to.equal(hashToDisplayHex(w.hash));
    const bad = [...h.notify.params];
    bad[1] = (bad[1] as string).slice(2);
    expect(() => parseNotify(bad, "1")).to.throw(/prevhash/);
    const bad2 = [...h.notify.params];
    bad2[5] = "2000000";
    expect(() => parseNotify(bad2, "1")).to.throw(/version/);
    expect(() => parseNotify([1, ...h.notify.params.slice(1)], "1")).to.throw(/job_id/);
    h.client.close();
  });

  it("throttles to a set hash rate; vardiff raises a fast miner's difficulty and lowers a slow one's", async () => {
    pool = await startPool({
      startDifficulty: "0.00001",
      minDifficulty: "0.000001",
      vardiff: { targetShareSeconds: 1, retargetShares: 4, retargetSeconds: 1 },
      sweepIntervalMs: 100,
    });
    const url = `stratum+tcp://127.0.0.1:${pool.port}`;
    const fast = new Miner({ url, user: `${ADDR1}.fast` });
    const slow = new Miner({ url, user: `${ADDR2}.slow`, maxHashrate: 5_000 });
    const fastDiffs: string[] = [];
    const slowDiffs: string[] = [];
    fast.on("difficulty", (d: string) => fastDiffs.push(d));
    slow.on("difficulty", (d: string) => slowDiffs.push(d));
    await fast.start();
    await slow.start();
    try {
      await until(() => fastDiffs.some((d) => Number(d) > 0.00001) && slowDiffs.some((d) => Number(d) < 0.00001), 20_000, "retargets both ways");
      await until(() => fast.accepted >= 6, 20_000, "fast miner shares");
    } finally {
      await fast.stop();
      await slow.stop();
    }
    expect(slow.hashrate).to.be.at.most(5_000 * 1.3);
    expect(fast.rejected).to.equal(0);
    // Shares after the retarget are credited at the raised difficulty of their jobs.
    const credited = new Set(pool.sink.shares.filter((s) => s.worker === "fast").map((s) => s.difficulty));
    expect([...credited].some((d) => Number(d) > 0.00001)).to.equal(true);
  });

  it("reconnects after a dropped connection, resuming its extranonce1, and after client.reconnect on shutdown", async () => {
    pool = await startPool();
    const port = pool.port;
    const miner = new Miner({ url: `stratum+tcp://127.0.0.1:${port}`, user: `${ADDR3}.rig` });
    await miner.start();
    try {
      await until(() => miner.accepted >= 1, 20_000, "first share");
      const en1 = miner.extranonce1Hex;
      const connected = new Promise((r) => miner.once("connected", r));
      const [session] = pool.server.sessions;
      session.socket.destroy();
      await connected;
      expect(miner.extranonce1Hex).to.equal(en1);
      const n = miner.accepted;
      await until(() => miner.accepted > n, 20_000, "shares after the reconnect");

      const reconnect = new Promise((r) => miner.once("reconnect", r));
      await pool.close();
      await reconnect;
      pool = await startPool({ port });
      const m = miner.accepted;
      await until(() => miner.accepted > m, 20_000, "shares on the restarted pool");
      expect(pool.sink.shares.length).to.be.greaterThan(0);
    } finally {
      await miner.stop();
    }
  });

  it("load mode: many connections submit real pre-mined shares at a set rate", async () => {
    pool = await startPool({ startDifficulty: "0.0000000001", minDifficulty: "0.0000000001", maxDifficulty: "0.0000000001" });
    const load = new LoadGenerator({ endpoint: { host: "127.0.0.1", port: pool.port }, connections: 20, users: [`${ADDR1}.l`, `${ADDR2}.l`] });
    await load.connect();
    const r = await load.run(1000, 1000);
    load.close();
    expect(r.sent).to.be.within(900, 1000);
    expect(r.accepted).to.equal(r.sent);
    expect(r.latencyCount).to.equal(r.sent);
    expect(percentile(r.latencies, 50)).to.be.greaterThan(0);
    expect(pool.sink.count).to.equal(r.accepted);
  });

  it("load mode with random nonces: the server rejects what misses the difficulty (23)", async () => {
    pool = await startPool({ startDifficulty: "1", minDifficulty: "1" });
    const load = new LoadGenerator({ endpoint: { host: "127.0.0.1", port: pool.port }, connections: 5, users: [`${ADDR3}.r`], mode: "random" });
    await load.connect();
    const r = await load.run(200, 500);
    load.close();
    expect(r.accepted).to.equal(0);
    expect(r.rejected["23 low difficulty share (hash above the share target)"]).to.equal(r.sent);
    expect(pool.sink.count).to.equal(0);
  });
});
