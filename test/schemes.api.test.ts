/**
 * A pool started with `payout.scheme: pps` (the embedded default otherwise): the API says the
 * scheme and its schedule, and the operator's reserve against what it owes.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { startPool, type RunningPool } from "../src/pool";
import { Miner } from "../src/miner";
import { REGTEST_SUBSIDY, shareCredit, subsidyAt } from "../src/schemes/credit";
import { difficultyToUnits } from "../src/shares/difficulty";

describe("HTTP API under PPS: scheme, schedule and the operator's reserve", function () {
  this.timeout(60_000);
  let pool: RunningPool;

  before(async () => {
    pool = await startPool({
      env: { POOL_PAYOUT_SCHEME: "pps", POOL_PAYOUT_INTERVAL_SECONDS: "900" },
      logger: pino({ level: "silent" }),
      overrides: { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "pool-pps-api-")), stratum: { port: 0, startDifficulty: "0.0001" }, api: { port: 0 }, evm: { embeddedPort: 0, challengeWindow: 1, embeddedState: "memory" } },
    });
  });
  after(() => pool?.stop());

  it("/api/config and /api/stats name the scheme, the interval, the reserve and what is owed", async () => {
    const config = (await (await fetch(pool.apiUrl + "/api/config")).json()) as Record<string, unknown>;
    expect(config).to.include({ payoutScheme: "pps", payoutIntervalSeconds: 900 });
    const stats = (await (await fetch(pool.apiUrl + "/api/stats")).json()) as { payout: { scheme: string; intervalSeconds: number; owed: string; reserve: string; covered: boolean } };
    expect(stats.payout.scheme).to.equal("pps");
    expect(stats.payout.intervalSeconds).to.equal(900);
    expect(stats.payout.owed).to.equal("0");
    // The embedded operator holds test BTC to fund from.
    expect(BigInt(stats.payout.reserve) > 0n).to.equal(true);
    expect(stats.payout.covered).to.equal(true);
  });

  it("what is owed counts the credits of the shares accepted since the last epoch: each share's PPS credit, summed", async () => {
    const miner = new Miner({ url: pool.stratumUrl, user: `0x${"ab".repeat(20)}.rig`, password: "x" });
    await miner.start();
    const deadline = Date.now() + 30_000;
    while (miner.accepted < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await miner.stop();
    expect(miner.accepted).to.be.at.least(5);
    // Every accepted share recorded, then its credit by the rule the builder and the audit use.
    let expected = 0n;
    let count = 0;
    for (let tries = 0; tries < 50; tries++) {
      const last = await pool.store.lastShareId();
      if (last >= miner.accepted) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const config = (await (await fetch(pool.apiUrl + "/api/config")).json()) as { feeBps: number; unitsPerSatoshi: string };
    for await (const s of pool.store.sharesInRange(1, await pool.store.lastShareId())) {
      count++;
      expected += shareCredit({ units: difficultyToUnits(s.difficulty), nbits: s.nbits, subsidy: subsidyAt(s.height, REGTEST_SUBSIDY), feeBps: config.feeBps, unitsPerSatoshi: BigInt(config.unitsPerSatoshi) });
    }
    expect(count).to.equal(miner.accepted);
    const stats = (await (await fetch(pool.apiUrl + "/api/stats")).json()) as { currentEpoch: number | null; payout: { owed: string; accrued: string; reserve: string; covered: boolean } };
    expect(stats.currentEpoch, "no epoch built within the 900 s interval").to.equal(null);
    expect(expected > 0n).to.equal(true);
    expect(stats.payout.accrued).to.equal(expected.toString());
    expect(stats.payout.owed).to.equal(expected.toString());
    expect(stats.payout.covered).to.equal(BigInt(stats.payout.reserve) >= expected);
  });
});
