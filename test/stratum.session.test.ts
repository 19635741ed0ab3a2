import { expect } from "chai";
import { Miner } from "../src/miner/miner";
import { coinbasePayoutAddress, difficultyToTarget, hashToDisplayHex, verifyShareWork } from "../src/pow";
import type { AcceptedShare } from "../src/stratum/events";
import { ADDR1, ADDR2, ADDR3, handshake, startPool, TestClient, until, type Pool } from "./stratum.helpers";

describe("stratum: sessions with a real miner over TCP", function () {
  let pool: Pool;
  afterEach(async () => {
    await pool?.close();
  });

  it("a full session with our miner finds shares that are accepted, stored and re-verifiable", async () => {
    pool = await startPool();
    const events: AcceptedShare[] = [];
    pool.server.on("share", (s: AcceptedShare) => events.push(s));
    const miner = new Miner({ url: `stratum+tcp://127.0.0.1:${pool.port}`, user: `${ADDR1}.rig1` });
    await miner.start();
    try {
      await until(() => miner.accepted >= 3, 20_000, "3 accepted shares");
    } finally {
      await miner.stop();
    }
    expect(miner.rejected).to.equal(0);
    expect(pool.sink.shares.length).to.be.gte(3);
    expect(events.length).to.equal(pool.sink.shares.length);
    for (const s of pool.sink.shares) {
      expect(s.address).to.equal(ADDR1.toLowerCase());
      expect(s.worker).to.equal("rig1");
      // The coinbase names the payout address: the work is bound to who earned it.
      expect(coinbasePayoutAddress(s.coinb1)).to.equal(ADDR1.toLowerCase());
      const w = verifyShareWork({ ...s });
      expect(hashToDisplayHex(w.hash)).to.equal(s.hash);
      expect(w.hashValue <= difficultyToTarget(s.difficulty)).to.equal(true);
      expect(s.isBlock).to.equal(false);
    }
    const stats = pool.server.stats();
    expect(stats.accepted).to.equal(pool.sink.shares.length);
    expect(stats.hashrate[ADDR1.toLowerCase()]).to.be.greaterThan(0);
  });

  it("answers subscribe, then authorize, with no notification before the authorize result; then set_difficulty, then notify", async () => {
    pool = await startPool();
    const c = await TestClient.open(pool.port);
    const sub = await c.request("mining.subscribe", ["cgminer/4.11.1"]);
    const [subs, en1, en2Size] = sub.result as [[string, string][], string, number];
    expect(subs.map((s) => s[0])).to.deep.equal(["mining.set_difficulty", "mining.notify"]);
    expect(en1).to.match(/^[0-9a-f]{8}$/);
    expect(en2Size).to.equal(4);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.notes).to.have.length(0);
    const firstJob = c.next("mining.notify");
    const auth = await c.request("mining.authorize", [`${ADDR3}.w`, "x"]);
    expect(auth.result).to.equal(true);
    await firstJob;
    const order = c.lines.map((l) => JSON.parse(l)).map((m) => m.method ?? `reply ${m.id}`);
    expect(order.slice(0, 4)).to.deep.equal(["reply 1", "reply 2", "mining.set_difficulty", "mining.notify"]);
    const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = c.notes[1].params as [
      string, string, string, string, string[], string, string, string, boolean,
    ];
    expect(jobId).to.be.a("string");
    expect(prevhash).to.match(/^[0-9a-f]{64}$/);
    expect(coinb1).to.match(/^[0-9a-f]+$/);
    expect(coinb2).to.match(/^[0-9a-f]+$/);
    expect(branch).to.have.length(2); // 3 synthetic transactions
    for (const b of branch) expect(b).to.match(/^[0-9a-f]{64}$/);
    expect(version).to.match(/^[0-9a-f]{8}$/);
    expect(nbits).to.equal("1d00ffff");
    expect(ntime).to.match(/^[0-9a-f]{8}$/);
    expect(clean).to.equal(true);
    expect(coinbasePayoutAddress(coinb1)).to.equal(ADDR3);
    c.close();
  });

  it("builds each connection's coinbase for its own payout address", async () => {
    pool = await startPool();
    const a = await handshake(pool.port, `${ADDR1}.a`);
    const b = await handshake(pool.port, `${ADDR2}.b`);
    expect(coinbasePayoutAddress(a.notify.params[2] as string)).to.equal(ADDR1.toLowerCase());
    expect(coinbasePayoutAddress(b.notify.params[2] as string)).to.equal(ADDR2.toLowerCase());
    expect(a.notify.params[2]).to.not.equal(b.notify.params[2]);
    a.client.close();
    b.client.close();
  });

  it("refuses invalid payout addresses at authorize and says why", async () => {
    pool = await startPool();
    const c = await TestClient.open(pool.port);
    await c.request("mining.subscribe", []);
    const cases: [string, RegExp][] = [
      ["0x1234", /bad length/],
      ["0x52908400098527886E0F7030069857D2E4169Ee7", /checksum/],
      ["0x52908400098527886E0F7030069857D2E4169EZZ", /not hex/],
      ["52908400098527886E0F7030069857D2E4169EE7", /start with 0x/],
      ["", /payout address/],
    ];
    for (const [user, why] of cases) {
      const r = await c.request("mining.authorize", [user, "x"]);
      expect(r.result, user).to.equal(false);
      expect(r.error![0]).to.equal(24);
      expect(r.error![1]).to.match(why);
    }
    const r = await c.request("mining.authorize", [12345, "x"]);
    expect(r.result).to.equal(false);
    // Checksummed, lower-case and upper-case forms are all valid.
    expect((await c.request("mining.authorize", [ADDR1.toLowerCase() + ".x", "x"])).result).to.equal(true);
    expect((await c.request("mining.authorize", [ADDR1 + ".y", "x"])).result).to.equal(true);
    // One payout address per connection: jobs are bound to it.
    const other = await c.request("mining.authorize", [ADDR2, "x"]);
    expect(other.result).to.equal(false);
    expect(other.error![1]).to.match(/already mines for/);
    const upper = await TestClient.open(pool.port);
    expect((await upper.request("mining.authorize", ["0x" + ADDR2.slice(2).toUpperCase(), "x"])).result).to.equal(true);
    upper.close();
    c.close();
  });

  it("negotiates version rolling (client mask & server mask, min-bit-count) and minimum-difficulty", async () => {
    pool = await startPool({ versionMask: 0x1fffe000 });
    const c = await TestClient.open(pool.port);
    const all = await c.request("mining.configure", [["version-rolling"], { "version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2 }]);
    expect(all.result).to.deep.equal({ "version-rolling": true, "version-rolling.mask": "1fffe000" });
    const part = await c.request("mining.configure", [["version-rolling"], { "version-rolling.mask": "00ffff00" }]);
    expect(part.result).to.deep.equal({ "version-rolling": true, "version-rolling.mask": "00ffe000" });
    const tooFew = await c.request("mining.configure", [["version-rolling"], { "version-rolling.mask": "00006000", "version-rolling.min-bit-count": 3 }]);
    expect((tooFew.result as Record<string, unknown>)["version-rolling"]).to.equal(false);
    const md = await c.request("mining.configure", [["minimum-difficulty", "subscribe-extranonce", "made-up"], { "minimum-difficulty.value": 0.5 }]);
    expect(md.result).to.deep.equal({ "minimum-difficulty": true, "subscribe-extranonce": true, "made-up": false });
    await c.request("mining.subscribe", []);
    const diff = c.next("mining.set_difficulty");
    await c.request("mining.authorize", [ADDR1, "x"]);
    // The configured minimum wins over the lower start difficulty.
    expect((await diff).params[0]).to.equal(0.5);
    // A later change of the server's mask is pushed with mining.set_version_mask.
    const pushed = c.next("mining.set_version_mask");
    pool.server.setVersionMask(0x00ff0000);
    expect((await pushed).params).to.deep.equal(["00ff0000"]);
    c.close();
  });

  it("respects suggest_difficulty: set_difficulty then a new job (clean_jobs=false) at the new difficulty", async () => {
    // Network difficulty 16 307 (bits 1b0404cb): the pool's maximum is the lower bound here.
    pool = await startPool({ maxDifficulty: "1000" }, { bits: "1b0404cb" });
    const h = await handshake(pool.port);
    const diff = h.client.next("mining.set_difficulty");
    const job = h.client.next("mining.notify");
    expect((await h.client.request("mining.suggest_difficulty", [0.25])).result).to.equal(true);
    expect((await diff).params[0]).to.equal(0.25);
    const n = await job;
    expect(n.params[8]).to.equal(false);
    expect(n.params[0]).to.not.equal(h.notify.params[0]);
    // Above the pool's maximum it is clamped.
    const d2 = h.client.next("mining.set_difficulty");
    await h.client.request("mining.suggest_difficulty", [5000]);
    expect((await d2).params[0]).to.equal(1000);
    const bad = await h.client.request("mining.suggest_difficulty", ["lots"]);
    expect(bad.error![0]).to.equal(20);
    // Password d=... works as a start difficulty too.
    const c = await TestClient.open(pool.port);
    await c.request("mining.subscribe", []);
    const d3 = c.next("mining.set_difficulty");
    await c.request("mining.authorize", [ADDR2, "d=0.125"]);
    expect((await d3).params[0]).to.equal(0.125);
    c.close();
    h.client.close();
  });

  it("answers extranonce.subscribe, get_transactions and unknown methods", async () => {
    pool = await startPool();
    const c = await TestClient.open(pool.port);
    expect((await c.request("mining.extranonce.subscribe", [])).result).to.equal(true);
    const gt = await c.request("mining.get_transactions", ["1"]);
    expect(gt.result).to.equal(null);
    expect(gt.error![0]).to.equal(20);
    const u = await c.request("mining.frobnicate", []);
    expect(u.error).to.deep.equal([20, "unknown method", null]);
    c.close();
  });

  it("gives unique extranonce1 values to many live connections and resumes a closed session's one", async () => {
    pool = await startPool();
    const clients = await Promise.all(Array.from({ length: 300 }, () => TestClient.open(pool.port)));
    const subs = await Promise.all(clients.map((c) => c.request("mining.subscribe", ["x"])));
    const en1s = subs.map((s) => (s.result as [[string, string][], string])[1]);
    expect(new Set(en1s).size).to.equal(300);
    const sid = (subs[0].result as [[string, string][]])[0][0][1];
    const closed = clients[0].closedPromise();
    clients[0].close();
    await closed;
    await until(() => pool.server.sessions.size === 299, 5000, "server noticing the close");
    const again = await TestClient.open(pool.port);
    const r = await again.request("mining.subscribe", ["x", sid]);
    expect((r.result as [[string, string][], string])[1]).to.equal(en1s[0]);
    expect((r.result as [[string, string][]])[0][0][1]).to.equal(sid);
    // A live session's extranonce1 is never handed out again, even when its id is offered.
    const sid1 = (subs[1].result as [[string, string][]])[0][0][1];
    const third = await TestClient.open(pool.port);
    const r3 = await third.request("mining.subscribe", ["x", sid1]);
    expect(en1s).to.not.include((r3.result as [[string, string][], string])[1]);
    for (const c of [...clients, again, third]) c.close();
  });

  it("sends client.reconnect to every miner on shutdown", async () => {
    pool = await startPool();
    const a = await handshake(pool.port);
    const b = await TestClient.open(pool.port);
    const ra = a.client.next("client.reconnect");
    const rb = b.next("client.reconnect");
    await pool.server.close();
    await ra;
    await rb;
    await a.client.closedPromise();
    await b.closedPromise();
  });
});
