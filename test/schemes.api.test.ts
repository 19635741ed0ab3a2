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

describe("HTTP API under PPS: scheme, schedule and the operator's reserve", function () {
  this.timeout(60_000);
  let pool: RunningPool;

  before(async () => {
    pool = await startPool({
      env: { POOL_PAYOUT_SCHEME: "pps", POOL_PAYOUT_INTERVAL_SECONDS: "900" },
      logger: pino({ level: "silent" }),
      overrides: { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "pool-pps-api-")), stratum: { port: 0 }, api: { port: 0 }, evm: { embeddedPort: 0, challengeWindow: 1, embeddedState: "memory" } },
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
});
