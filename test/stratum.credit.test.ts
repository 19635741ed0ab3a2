/**
 * Issue "Credit only real, unique work": one header one credit (whatever job id, spelling or
 * connection), no difficulty above the network's, the difficulty committed in the coinbase, a
 * resumed session keeps its jobs, unpayable addresses refused. Real TCP, real shares.
 */
import { expect } from "chai";
import { bitsToTarget, coinbaseShareDifficultyUnits, difficultyToTarget, hashToDisplayHex } from "../src/pow";
import { difficultyToUnits } from "../src/shares/difficulty";
import { ADDR1, ADDR2, handshake, mine, startPool, submit, TestClient, until, type Notification, type Pool } from "./stratum.helpers";

const USER = `${ADDR1}.rig1`;
const EASY = { startDifficulty: "0.000002", minDifficulty: "0.000001" };
const DUP = [22, "duplicate share", null];

describe("stratum: credit only real, unique work", function () {
  let pool: Pool;
  afterEach(async () => {
    await pool?.close();
  });

  it("one header, one credit: the 5-parameter form and a 6th parameter that changes no header bit are the same share (22)", async () => {
    pool = await startPool(EASY);
    const h = await handshake(pool.port, USER, [["version-rolling"], { "version-rolling.mask": "1fffe000" }]);
    const version = parseInt(h.notify.params[5] as string, 16);
    expect(version & 0x1fffe000, "the template version has no bits inside the mask").to.equal(0);
    const share = mine(USER, h.notify, h.extranonce1, "01000000", (v) => v <= difficultyToTarget(h.difficulty));
    expect((await submit(h.client, share.params)).result).to.equal(true);
    expect((await submit(h.client, [...share.params, "00000000"])).error).to.deep.equal(DUP);
    // Upper-case hex is the same header too.
    expect((await submit(h.client, share.params.map((p, i) => (i >= 2 ? p.toUpperCase() : p)))).error).to.deep.equal(DUP);
    expect(pool.sink.shares).to.have.length(1);
    h.client.close();
  });

  it("the same work re-issued under new job ids (20 suggest_difficulty round trips, the periodic refresh) is accepted once", async () => {
    pool = await startPool({ ...EASY, jobRefreshMs: 150, sweepIntervalMs: 50, maxJobsPerSession: 64 });
    const h = await handshake(pool.port, USER);
    const share = mine(USER, h.notify, h.extranonce1, "02000000", (v) => v <= difficultyToTarget(h.difficulty));
    expect((await submit(h.client, share.params)).result).to.equal(true);
    // Each suggestion moves the difficulty away and back: every second job has the first job's coinbase.
    const sameWork: string[] = [];
    for (let i = 0; i < 20; i++) {
      const away = h.client.next("mining.notify");
      await h.client.request("mining.suggest_difficulty", [0.000004]);
      await away;
      const back = h.client.next("mining.notify");
      await h.client.request("mining.suggest_difficulty", [Number(h.difficulty)]);
      const n = await back;
      expect(n.params[2], "same coinbase as the first job").to.equal(h.notify.params[2]);
      sameWork.push(n.params[0] as string);
    }
    const refreshed = await h.client.next("mining.notify", 3000);
    expect(refreshed.params[2]).to.equal(h.notify.params[2]);
    sameWork.push(refreshed.params[0] as string);
    for (const jobId of sameWork) {
      const again = [share.params[0], jobId, ...share.params.slice(2)];
      expect((await submit(h.client, again)).error, `job ${jobId}`).to.deep.equal(DUP);
    }
    expect(pool.sink.shares).to.have.length(1);
    expect(pool.server.stats().rejected.duplicate).to.equal(sameWork.length);
    h.client.close();
  });

  it("a resumed session keeps its jobs: a share for the job received before the disconnect counts once, under either job id", async () => {
    pool = await startPool(EASY);
    const h = await handshake(pool.port, USER);
    const share = mine(USER, h.notify, h.extranonce1, "03000000", (v) => v <= difficultyToTarget(h.difficulty));
    h.client.close();
    await until(() => pool.server.sessions.size === 0, 5000, "the server to see the disconnect");

    const c = await TestClient.open(pool.port);
    const sub = await c.request("mining.subscribe", ["test/1.0", h.subscriptionId]);
    expect((sub.result as [unknown, string])[1], "extranonce1 back").to.equal(h.extranonce1);
    const notify = c.next("mining.notify");
    await c.request("mining.authorize", [USER, "x"]);
    const n = await notify;
    expect(n.params[8], "the restored jobs stay valid: clean_jobs=false").to.equal(false);
    expect((await submit(c, share.params)).result).to.equal(true);
    const underNewId = [share.params[0], n.params[0] as string, ...share.params.slice(2)];
    expect((await submit(c, underNewId)).error).to.deep.equal(DUP);
    expect(pool.sink.shares).to.have.length(1);
    c.close();
    await until(() => pool.server.sessions.size === 0, 5000, "the second disconnect");

    // Resumed for another payout address: the old jobs (whose coinbase pays ADDR1) are not restored.
    const other = await TestClient.open(pool.port);
    await other.request("mining.subscribe", ["test/1.0", h.subscriptionId]);
    const first = other.next("mining.notify");
    await other.request("mining.authorize", [`${ADDR2}.rig`, "x"]);
    await first;
    const old = mine(`${ADDR2}.rig`, h.notify, h.extranonce1, "04000000", (v) => v <= difficultyToTarget(h.difficulty));
    expect((await submit(other, old.params)).error![0]).to.equal(21);
    other.close();
  });

  describe("no difficulty above the network's", () => {
    const NETWORK = { bits: undefined, networkDifficulty: "0.0002" };
    let networkTarget: bigint;

    const atMostNetwork = (d: unknown) => {
      expect(typeof d).to.equal("number");
      expect(difficultyToTarget(String(d)) >= networkTarget, `${d} is above the network difficulty`).to.equal(true);
      expect(d as number).to.be.above(0.000199);
    };

    it("with network difficulty 0.0002, suggest_difficulty [1000] (stock Bitaxe/NerdQAxe firmware), d=1000 and configure minimum-difficulty 1000 are answered with the network difficulty", async () => {
      pool = await startPool({ ...EASY, maxDifficulty: "1000000" }, NETWORK);
      networkTarget = bitsToTarget(pool.chain.current().bits);
      const h = await handshake(pool.port, USER);
      const set = h.client.next("mining.set_difficulty");
      const job = h.client.next("mining.notify");
      expect((await h.client.request("mining.suggest_difficulty", [1000])).result).to.equal(true);
      atMostNetwork((await set).params[0]);
      const n = await job;
      expect(coinbaseShareDifficultyUnits(n.params[2] as string)).to.equal(difficultyToUnits(String((await set).params[0])));
      h.client.close();

      const c = await TestClient.open(pool.port);
      await c.request("mining.subscribe", []);
      const d = c.next("mining.set_difficulty");
      await c.request("mining.authorize", [`${ADDR2}.x`, "d=1000"]);
      atMostNetwork((await d).params[0]);
      c.close();

      const m = await TestClient.open(pool.port);
      const conf = await m.request("mining.configure", [["minimum-difficulty"], { "minimum-difficulty.value": 1000 }]);
      expect((conf.result as Record<string, unknown>)["minimum-difficulty"]).to.equal(true);
      await m.request("mining.subscribe", []);
      const md = m.next("mining.set_difficulty");
      await m.request("mining.authorize", [`${ADDR2}.y`, "x"]);
      atMostNetwork((await md).params[0]);
      m.close();
    });

    it("vardiff raising a fast miner's difficulty stops at the network's", async () => {
      pool = await startPool({ ...EASY, vardiff: { targetShareSeconds: 1000, retargetShares: 3, maxFactor: 4 } }, { bits: undefined, networkDifficulty: "0.00002" });
      networkTarget = bitsToTarget(pool.chain.current().bits);
      const h = await handshake(pool.port, USER);
      let notify = h.notify;
      let difficulty = h.difficulty;
      const seen: string[] = [];
      for (let round = 0; round < 3; round++) {
        const next = h.client.next("mining.set_difficulty");
        const job = h.client.next("mining.notify");
        for (let i = 0; i < 3; i++) {
          const share = mine(USER, notify, h.extranonce1, `0${round}0${i}0000`, (v) => v <= difficultyToTarget(difficulty) && v > networkTarget);
          expect((await submit(h.client, share.params)).result).to.equal(true);
        }
        const d = (await next).params[0];
        notify = await job;
        difficulty = String(d);
        seen.push(difficulty);
        if (difficultyToTarget(difficulty) <= networkTarget * 2n) break;
      }
      // 0.000002 → 0.000008 → 0.00002 (×4 would be 0.000032, above the network's 0.00002).
      expect(seen).to.deep.equal(["0.000008", "0.00002"]);
      expect(coinbaseShareDifficultyUnits(notify.params[2] as string)).to.equal(difficultyToUnits("0.00002"));
      h.client.close();
    });

    it("a configured start difficulty above the network's is clamped, and the block share is credited at the network difficulty", async () => {
      pool = await startPool({ startDifficulty: "1000", minDifficulty: "1", maxDifficulty: "1000000" }, NETWORK);
      networkTarget = bitsToTarget(pool.chain.current().bits);
      const h = await handshake(pool.port, USER);
      atMostNetwork(Number(h.difficulty));
      const committed = coinbaseShareDifficultyUnits(h.notify.params[2] as string)!;
      expect(committed).to.equal(difficultyToUnits(h.difficulty));
      const block = mine(USER, h.notify, h.extranonce1, "05000000", (v) => v <= networkTarget, { maxHashes: 50_000_000 });
      expect((await submit(h.client, block.params)).result).to.equal(true);
      await until(() => pool.sink.shares.length === 1);
      const s = pool.sink.shares[0];
      expect(s.isBlock).to.equal(true);
      expect(s.hash).to.equal(hashToDisplayHex(block.hash));
      expect(difficultyToUnits(s.difficulty)).to.equal(committed);
      expect(difficultyToTarget(s.difficulty) >= networkTarget).to.equal(true);
      h.client.close();
    });
  });

  it("the duplicate set is bounded by maxSharesPerBlock (20 beyond, never a credit, but a block still counts) and dropped on a new previous block", async () => {
    pool = await startPool({ ...EASY, maxSharesPerBlock: 2 }, { bits: undefined, networkDifficulty: "0.0001" });
    const h = await handshake(pool.port, USER);
    const target = difficultyToTarget(h.difficulty);
    const network = bitsToTarget(h.notify.params[6] as string);
    const notBlock = (v: bigint) => v <= target && v > network;
    const shares = ["06000000", "07000000", "08000000"].map((en2) => mine(USER, h.notify, h.extranonce1, en2, notBlock));
    expect((await submit(h.client, shares[0].params)).result).to.equal(true);
    expect((await submit(h.client, shares[1].params)).result).to.equal(true);
    const full = await submit(h.client, shares[2].params);
    expect(full.error![0]).to.equal(20);
    expect(full.error![1]).to.match(/too many shares on this block \(stratum\.maxSharesPerBlock 2\)/);
    expect(pool.server.duplicates.size).to.equal(2);
    // A block is never refused for a full set; the new previous block empties it.
    const clean = h.client.next("mining.notify", 10_000, (n: Notification) => n.params[8] === true);
    const block = mine(USER, h.notify, h.extranonce1, "09000000", (v) => v <= network, { maxHashes: 50_000_000 });
    const br = await submit(h.client, block.params);
    expect(br.result, JSON.stringify(br.error)).to.equal(true);
    await clean;
    expect(pool.chain.tip().hash).to.equal(hashToDisplayHex(block.hash));
    expect(pool.server.duplicates.size).to.equal(0);
    expect(pool.sink.shares.map((s) => s.hash)).to.deep.equal([shares[0], shares[1], block].map((s) => hashToDisplayHex(s.hash)));
    h.client.close();
  });

  it("with the share set full and a node slow to take the block, copies of the block header are still duplicates (22), and share-limit refusals never ban the miner", async () => {
    pool = await startPool({ ...EASY, maxSharesPerBlock: 1, bans: { enabled: true, maxInvalidShares: 3 } }, { bits: undefined, networkDifficulty: "0.0001" });
    // A node that takes 200 ms to answer submitblock, as bitcoind's RPC may: the new block's work comes late.
    const submitBlock = pool.chain.submitBlock.bind(pool.chain);
    pool.chain.submitBlock = async (hex: string) => {
      await new Promise((r) => setTimeout(r, 200));
      return submitBlock(hex);
    };
    const h = await handshake(pool.port, USER);
    const target = difficultyToTarget(h.difficulty);
    const network = bitsToTarget(h.notify.params[6] as string);
    const notBlock = (v: bigint) => v <= target && v > network;
    expect((await submit(h.client, mine(USER, h.notify, h.extranonce1, "0a000000", notBlock).params)).result).to.equal(true);
    // The set is full: more shares are refused with 20, which is not the miner's fault (3 do not ban it).
    for (const en2 of ["0b000000", "0c000000", "0d000000"]) {
      expect((await submit(h.client, mine(USER, h.notify, h.extranonce1, en2, notBlock).params)).error![1]).to.match(/too many shares on this block/);
    }
    expect(h.client.closed, JSON.stringify(pool.server.stats().disconnects)).to.equal(false);
    const block = mine(USER, h.notify, h.extranonce1, "0e000000", (v) => v <= network, { maxHashes: 50_000_000 });
    const [first, second, third] = await Promise.all([submit(h.client, block.params), submit(h.client, block.params), submit(h.client, [...block.params.slice(0, 2), block.params[2].toUpperCase(), ...block.params.slice(3)])]);
    expect(first.result).to.equal(true);
    expect(second.error).to.deep.equal(DUP);
    expect(third.error).to.deep.equal(DUP);
    await until(() => pool.sink.blocks.length === 1, 5000, "the block to be recorded");
    expect(pool.sink.shares.filter((x) => x.isBlock)).to.have.length(1);
    h.client.close();
  });

  it("refuses payout addresses that can never be paid with [24, reason]: zero, precompiles 0x01-0x11 and 0x100, the pool's contract", async () => {
    const contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    pool = await startPool({ ...EASY, refusedAddresses: [contract] });
    const c = await TestClient.open(pool.port);
    await c.request("mining.subscribe", []);
    const pad = (n: number) => "0x" + n.toString(16).padStart(40, "0");
    const cases: [string, RegExp][] = [
      [pad(0), /zero address/],
      [pad(1), /precompile/],
      [pad(0x0a), /precompile/],
      [pad(0x11), /precompile/],
      [pad(0x100), /precompile/],
      [contract, /pool's own contract/],
      [contract.toLowerCase() + ".rig", /pool's own contract/],
    ];
    for (const [user, why] of cases) {
      const r = await c.request("mining.authorize", [user, "x"]);
      expect(r.result, user).to.equal(false);
      expect(r.error![0], user).to.equal(24);
      expect(r.error![1], user).to.match(why);
    }
    expect((await c.request("mining.authorize", [pad(0x12), "x"])).result).to.equal(true);
    c.close();
  });
});
