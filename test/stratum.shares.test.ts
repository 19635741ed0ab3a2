import { expect } from "chai";
import { bitsToTarget, coinbaseShareDifficultyUnits, difficultyToTarget, hashToDisplayHex, uint32ToHex, verifyShareWork } from "../src/pow";
import { difficultyToUnits } from "../src/shares/difficulty";
import type { FoundBlock } from "../src/stratum/events";
import { ADDR1, ADDR2, handshake, mine, sleep, startPool, submit, TestClient, type Pool } from "./stratum.helpers";

const USER = `${ADDR1}.rig1`;
const EASY = { startDifficulty: "0.000002", minDifficulty: "0.000001" };
const below = (t: bigint) => (v: bigint) => v <= t;
const above = (t: bigint) => (v: bigint) => v > t;

describe("stratum: share checks and their error codes", function () {
  let pool: Pool;
  afterEach(async () => {
    await pool?.close();
  });

  it("25 before subscribe, 24 before authorize or for a worker not authorized here", async () => {
    pool = await startPool(EASY);
    const c = await TestClient.open(pool.port);
    const params = [USER, "1", "00000000", "65000000", "00000000"];
    expect((await submit(c, params)).error).to.deep.equal([25, "not subscribed", null]);
    await c.request("mining.subscribe", []);
    expect((await submit(c, params)).error![0]).to.equal(24);
    await c.request("mining.authorize", [USER, "x"]);
    const other = await submit(c, [`${ADDR2}.rig1`, "1", "00000000", "65000000", "00000000"]);
    expect(other.error![0]).to.equal(24);
    expect(other.error![1]).to.match(/not authorized/);
    const otherWorker = await submit(c, [`${ADDR1}.rig2`, "1", "00000000", "65000000", "00000000"]);
    expect(otherWorker.error![0]).to.equal(24);
    c.close();
  });

  it("20 for bad hex, wrong lengths, wrong types and missing params; 21 for an unknown job", async () => {
    pool = await startPool(EASY);
    const h = await handshake(pool.port, USER);
    const job = h.notify.params[0] as string;
    const ntime = h.notify.params[7] as string;
    const cases: [unknown[], RegExp][] = [
      [[USER, job, "zzzzzzzz", ntime, "00000000"], /extranonce2 is not hex/],
      [[USER, job, "0000", ntime, "00000000"], /extranonce2 must be 8 hex characters, got 4/],
      [[USER, job, "0000000000", ntime, "00000000"], /extranonce2 must be 8 hex/],
      [[USER, job, "00000000", "123456", "00000000"], /ntime must be 8 hex characters/],
      [[USER, job, "00000000", ntime, "0000000g"], /nonce is not hex/],
      [[USER, job, "00000000", ntime, 12345678], /nonce must be a hex string/],
      [[USER, job, "00000000", ntime, "00000000", "xyz"], /version bits is not hex/],
      [[USER, job, "00000000", ntime], /needs 5 or 6 params/],
      [[USER, 7, "00000000", ntime, "00000000"], /job id/],
      [[null, job, "00000000", ntime, "00000000"], /worker name/],
    ];
    for (const [params, why] of cases) {
      const r = await submit(h.client, params);
      expect(r.result, JSON.stringify(params)).to.equal(null);
      expect(r.error![0], JSON.stringify(params)).to.equal(20);
      expect(r.error![1]).to.match(why);
    }
    const unknown = await submit(h.client, [USER, "abcdef", "00000000", ntime, "00000000"]);
    expect(unknown.error).to.deep.equal([21, "job not found", null]);
    expect(pool.server.stats().rejected["bad-params"]).to.equal(cases.length);
    h.client.close();
  });

  it("20 for ntime out of range (before the template's mintime, or too far ahead)", async () => {
    pool = await startPool(EASY);
    const h = await handshake(pool.port, USER);
    const job = h.notify.params[0] as string;
    const old = await submit(h.client, [USER, job, "00000000", "00000001", "00000000"]);
    expect(old.error![0]).to.equal(20);
    expect(old.error![1]).to.match(/ntime out of range.*mintime/);
    const future = uint32ToHex(Math.floor(Date.now() / 1000) + 7200 + 120);
    const ahead = await submit(h.client, [USER, job, "00000000", future, "00000000"]);
    expect(ahead.error![0]).to.equal(20);
    expect(ahead.error![1]).to.match(/ntime out of range.*future/);
    h.client.close();
  });

  it("22 for a duplicate, 23 for a share above the target; the accepted one re-verifies", async () => {
    pool = await startPool(EASY);
    const h = await handshake(pool.port, USER);
    const target = difficultyToTarget(h.difficulty);
    const good = mine(USER, h.notify, h.extranonce1, "01000000", below(target));
    expect(await submit(h.client, good.params)).to.deep.include({ result: true, error: null });
    expect((await submit(h.client, good.params)).error).to.deep.equal([22, "duplicate share", null]);
    // Same nonce with the extranonce2 in another case is the same share.
    const upper = [...good.params];
    upper[2] = upper[2].toUpperCase();
    expect((await submit(h.client, upper)).error![0]).to.equal(22);
    const low = mine(USER, h.notify, h.extranonce1, "02000000", above(target));
    const r = await submit(h.client, low.params);
    expect(r.result).to.equal(null);
    expect(r.error![0]).to.equal(23);
    const [s] = pool.sink.shares;
    expect(s.hash).to.equal(hashToDisplayHex(good.hash));
    expect(s.difficulty).to.equal(h.difficulty);
    expect(s.extranonce1).to.equal(h.extranonce1);
    const w = verifyShareWork({ ...s });
    expect(hashToDisplayHex(w.hash)).to.equal(s.hash);
    const st = pool.server.stats();
    expect(st.accepted).to.equal(1);
    expect(st.rejected).to.deep.include({ duplicate: 2, "low-difficulty": 1 });
    h.client.close();
  });

  it("version rolling: bits inside the negotiated mask change the hash as BIP310 says and are accepted; outside → 20", async () => {
    pool = await startPool(EASY);
    const plain = await handshake(pool.port, `${ADDR2}.plain`);
    const job0 = plain.notify.params[0] as string;
    const notNegotiated = await submit(plain.client, [`${ADDR2}.plain`, job0, "00000000", plain.notify.params[7], "00000000", "00002000"]);
    expect(notNegotiated.error![0]).to.equal(20);
    expect(notNegotiated.error![1]).to.match(/version rolling was not negotiated/);
    // Many miners send a 6th parameter of zeros without configure: that is fine.
    const zero = mine(`${ADDR2}.plain`, plain.notify, plain.extranonce1, "00000000", below(difficultyToTarget(plain.difficulty)), { versionBits: 0, mask: 0 });
    expect((await submit(plain.client, zero.params)).result).to.equal(true);

    const mask = 0x1fffe000;
    const h = await handshake(pool.port, USER, [["version-rolling"], { "version-rolling.mask": "ffffffff" }]);
    const job = h.notify.params[0] as string;
    const outside = await submit(h.client, [USER, job, "00000000", h.notify.params[7], "00000000", "e0000000"]);
    expect(outside.error![0]).to.equal(20);
    expect(outside.error![1]).to.match(/outside the negotiated mask 1fffe000/);

    const bits = 0x0badc000 & mask;
    const share = mine(USER, h.notify, h.extranonce1, "03000000", below(difficultyToTarget(h.difficulty)), { versionBits: bits, mask });
    expect((await submit(h.client, share.params)).result).to.equal(true);
    const s = pool.sink.shares[pool.sink.shares.length - 1];
    const jobVersion = parseInt(h.notify.params[5] as string, 16);
    const rolled = ((jobVersion & ~mask) | bits) >>> 0;
    expect(s.version).to.equal(uint32ToHex(rolled));
    expect(s.version).to.not.equal(h.notify.params[5]);
    expect(hashToDisplayHex(verifyShareWork({ ...s }).hash)).to.equal(s.hash);
    // Without the rolled bits the same share hashes differently (and XOR would be wrong too).
    const unrolled = verifyShareWork({ ...s, version: h.notify.params[5] as string });
    expect(hashToDisplayHex(unrolled.hash)).to.not.equal(s.hash);
    plain.client.close();
    h.client.close();
  });

  it("judges a share at the difficulty its job was sent with, not the current one; old ids with the same prevhash stay valid", async () => {
    pool = await startPool({ ...EASY, maxDifficulty: "100", jobRefreshMs: 100, sweepIntervalMs: 50 });
    const h = await handshake(pool.port, USER);
    const oldTarget = difficultyToTarget(h.difficulty);
    // Raise the difficulty: job 2 comes at difficulty 1.
    const job2 = h.client.next("mining.notify");
    await h.client.request("mining.suggest_difficulty", [1]);
    const n2 = await job2;
    // Let the refresh timer issue a few more jobs with the same prevhash.
    await h.client.next("mining.notify", 2000);
    const share = mine(USER, h.notify, h.extranonce1, "04000000", below(oldTarget));
    expect((await submit(h.client, share.params)).result).to.equal(true);
    expect(pool.sink.shares[0].difficulty).to.equal(h.difficulty);
    // The same work on the new job misses difficulty 1.
    const onNew = mine(USER, n2, h.extranonce1, "05000000", (v) => v <= oldTarget && v > difficultyToTarget("1"));
    expect((await submit(h.client, onNew.params)).error![0]).to.equal(23);
    h.client.close();
  });

  it("after a difficulty drop, a share for an older job is judged at the difficulty its coinbase commits to (23 naming it), the new job at the new one", async () => {
    pool = await startPool(EASY);
    const c = await TestClient.open(pool.port);
    const sub = await c.request("mining.subscribe", []);
    const en1 = (sub.result as [unknown, string])[1];
    const first = c.next("mining.notify");
    await c.request("mining.authorize", [USER, "d=0.001"]);
    const n1 = await first;
    expect(coinbaseShareDifficultyUnits(n1.params[2] as string)).to.equal(difficultyToUnits("0.001"));
    const high = difficultyToTarget("0.001");
    const low = difficultyToTarget("0.000002");
    const second = c.next("mining.notify");
    await c.request("mining.suggest_difficulty", [0.000002]);
    const n2 = await second;
    expect(coinbaseShareDifficultyUnits(n2.params[2] as string)).to.equal(difficultyToUnits("0.000002"));
    // Meets the new difficulty only, on the old job: that job's coinbase commits to 0.001.
    const onOld = mine(USER, n1, en1, "06000000", (v) => v <= low && v > high);
    const r = await submit(c, onOld.params);
    expect(r.error![0]).to.equal(23);
    expect(r.error![1]).to.match(/sent at difficulty 0\.001 \(committed in its coinbase\)/);
    // The same kind of hash on the new job counts, at the new difficulty.
    const onNew = mine(USER, n2, en1, "07000000", (v) => v <= low && v > high);
    expect((await submit(c, onNew.params)).result).to.equal(true);
    expect(pool.sink.shares.map((s) => s.difficulty)).to.deep.equal(["0.000002"]);
    c.close();
  });

  it("a miner asking for difficulty 1 on a network of 0.00002 is clamped to the network's: every block is a share, credited at most the network difficulty; clean jobs follow, old jobs are stale (21)", async () => {
    pool = await startPool({ startDifficulty: "1", minDifficulty: "1" }, { bits: undefined, networkDifficulty: "0.00002" });
    const blocks: FoundBlock[] = [];
    pool.server.on("block", (b: FoundBlock) => blocks.push(b));
    const h = await handshake(pool.port, USER);
    const network = bitsToTarget(h.notify.params[6] as string);
    // set_difficulty is the network's difficulty (rounded down), and the coinbase commits to it.
    expect(Number(h.difficulty)).to.be.above(0.0000199).and.at.most(0.00002);
    expect(difficultyToTarget(h.difficulty) >= network).to.equal(true);
    expect(coinbaseShareDifficultyUnits(h.notify.params[2] as string)).to.equal(difficultyToUnits(h.difficulty));
    const share = mine(USER, h.notify, h.extranonce1, "08000000", below(network));
    const clean = h.client.next("mining.notify", 5000, (n) => n.params[8] === true);
    expect((await submit(h.client, share.params)).result).to.equal(true);
    const n = await clean;
    expect(n.params[1]).to.not.equal(h.notify.params[1]);
    expect(pool.chain.tip().height).to.equal(1);
    expect(pool.chain.tip().hash).to.equal(hashToDisplayHex(share.hash));
    expect(pool.chain.tip().payoutAddress).to.equal(ADDR1.toLowerCase());
    const s = pool.sink.shares[0];
    expect(s.isBlock).to.equal(true);
    expect(s.difficulty).to.equal(h.difficulty);
    await sleep(50);
    expect(blocks).to.have.length(1);
    expect(blocks[0]).to.deep.include({ height: 1, hash: s.hash, submitted: true, address: ADDR1.toLowerCase(), worker: "rig1" });
    expect(pool.sink.blocks).to.have.length(1);
    expect(pool.server.stats().blocks).to.equal(1);
    // The old job (previous block) is now stale.
    const stale = mine(USER, h.notify, h.extranonce1, "09000000", () => true);
    expect((await submit(h.client, stale.params)).error).to.deep.equal([21, "stale job (a new block was found)", null]);
    h.client.close();
  });

  it("replies 20 'internal: share not stored' when the sink fails, and keeps serving", async () => {
    pool = await startPool(EASY);
    const h = await handshake(pool.port, USER);
    const target = difficultyToTarget(h.difficulty);
    pool.sink.failWith = new Error("disk full");
    const s1 = mine(USER, h.notify, h.extranonce1, "0a000000", below(target));
    expect((await submit(h.client, s1.params)).error).to.deep.equal([20, "internal: share not stored", null]);
    pool.sink.failWith = null;
    // Not stored means not counted as seen: the miner's retry is accepted.
    expect((await submit(h.client, s1.params)).result).to.equal(true);
    expect(pool.server.stats().sinkErrors).to.equal(1);
    // A throwing event listener is logged, not allowed to break the share path.
    pool.server.on("share", () => {
      throw new Error("listener bug");
    });
    const s2 = mine(USER, h.notify, h.extranonce1, "0b000000", below(target));
    expect((await submit(h.client, s2.params)).result).to.equal(true);
    expect(pool.sink.count).to.equal(2);
    h.client.close();
  });
});
