import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { startPool, type RunningPool } from "../src/pool";

describe("HTTP API: shapes and bad input", function () {
  this.timeout(60_000);
  let pool: RunningPool;

  before(async () => {
    pool = await startPool({
      env: {},
      logger: pino({ level: "silent" }),
      overrides: { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "pool-api-")), stratum: { port: 0 }, api: { port: 0 }, evm: { embeddedPort: 0, challengeWindow: 1 }, payouts: { threshold: "0.00001" } },
    });
  });
  after(() => pool?.stop());

  const get = async (route: string) => {
    const res = await fetch(pool.apiUrl + route);
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (metrics, ndjson)
    }
    return { status: res.status, body, type: res.headers.get("content-type") ?? "" };
  };

  it("serves the public configuration a wallet needs", async () => {
    const { status, body } = await get("/api/config");
    expect(status).to.equal(200);
    expect(body.chainId).to.equal(31337);
    expect(body.contract.toLowerCase()).to.equal(pool.contract.toLowerCase());
    expect(body.rpcUrl).to.equal(pool.rpcUrl);
    expect(body.stratumUrl).to.equal(pool.stratumUrl);
    // The embedded default pays in an 8-decimal test BTC: 50 BTC of block reward read as 50 tBTC.
    expect(body.token.toLowerCase()).to.equal(pool.asset.token!.toLowerCase());
    expect(body.token).to.not.equal("0x0000000000000000000000000000000000000000");
    expect(body.assetSymbol).to.equal("tBTC");
    expect(body.assetDecimals).to.equal(8);
    expect(body.unitsPerSatoshi).to.equal("1");
    expect(body.challengeWindow, "the contract's window, read from the chain").to.equal(1);
    expect(body.payoutThreshold, '"0.00001" tBTC in units').to.equal("1000");
  });

  it("reports pool stats with the contract's solvency figures", async () => {
    const { status, body } = await get("/api/stats");
    expect(status).to.equal(200);
    expect(body.blocks).to.deep.equal({ found: 0, confirmed: 0, orphaned: 0 });
    expect(body.activeEpoch).to.equal(0);
    expect(body.pendingEpoch).to.equal(null);
    expect(body.contract.totalFunded).to.equal("0");
    expect(body.chain.height).to.be.a("number");
    // The operator's reserve against what it owes (nothing built yet: nothing owed).
    expect(body.payout.scheme).to.equal("pplns");
    expect(body.payout.owed).to.equal("0");
    expect(body.payout.reserve).to.match(/^\d+$/);
    expect(body.payout.covered).to.equal(true);
  });

  it("answers an unseen address with zeros and a malformed one with 400 and a reason", async () => {
    const unseen = await get("/api/miners/0x000000000000000000000000000000000000dEaD");
    expect(unseen.status).to.equal(200);
    expect(unseen.body).to.include({ allocated: "0", claimed: "0", claimable: "0" });
    for (const bad of ["0x123", "hello", "0xZZ0000000000000000000000000000000000dEaD", "0x000000000000000000000000000000000000DEAD1"]) {
      const res = await get(`/api/miners/${bad}`);
      expect(res.status, bad).to.equal(400);
      expect(res.body.error).to.match(/not a valid address/);
    }
    // A mixed-case address with a wrong EIP-55 checksum is refused too.
    const badChecksum = await get("/api/proof/0x70997970c51812dc3A010C7d01b50e0d17dc79C8");
    expect(badChecksum.status).to.equal(400);
  });

  it("answers unknown and malformed epochs with 404 and 400", async () => {
    expect((await get("/api/epochs")).body).to.deep.equal([]);
    const unknown = await get("/api/epochs/7");
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error).to.equal("unknown epoch 7");
    expect((await get("/api/epochs/7/shares")).status).to.equal(404);
    const malformed = await get("/api/epochs/seven");
    expect(malformed.status).to.equal(400);
    expect(malformed.body.error).to.match(/positive integer/);
  });

  it("has no proof before any root is active, and 404 for unknown routes", async () => {
    const proof = await get("/api/proof/0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    expect(proof.status).to.equal(404);
    expect(proof.body.error).to.match(/no root is active/);
    expect((await get("/api/nothing-here")).status).to.equal(404);
  });

  it("exposes Prometheus metrics", async () => {
    const { status, body, type } = await get("/metrics");
    expect(status).to.equal(200);
    expect(type).to.contain("text/plain");
    expect(body).to.contain("pool_stratum_connections 0");
    expect(body).to.contain("pool_shares_accepted_total 0");
  });

  it("streams server-sent events", async () => {
    const controller = new AbortController();
    const res = await fetch(pool.apiUrl + "/api/events", { signal: controller.signal });
    expect(res.headers.get("content-type")).to.contain("text/event-stream");
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).to.contain(": connected");
    pool.events.emit("update", { kind: "block", height: 1 });
    const next = new TextDecoder().decode((await reader.read()).value);
    expect(next).to.contain("event: update");
    expect(next).to.contain('"kind":"block"');
    controller.abort();
  });
});
