/**
 * The committer election (src/pool/leader.ts) on a real PostgreSQL: one leader per name at a time,
 * a standby elected once the leader stops or its connection is cut (pg_terminate_backend, what a
 * dead process or machine amounts to for the server), and the cut leader told it lost. Skipped,
 * saying why, without PostgreSQL.
 */
import { expect } from "chai";
import pino from "pino";
import pg from "pg";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Leadership } from "../src/pool/leader";
import { startPool, type RunningPool } from "../src/pool";
import { ConfigError } from "../src/config";
import { hardhatDevKey } from "../src/evm/clients";
import { findPostgresUser } from "./pg.helpers";
import { waitFor } from "./pool.helpers";

describe("leader election through a PostgreSQL advisory lock", function () {
  this.timeout(60_000);
  let url = "";
  const made: Leadership[] = [];
  const logger = pino({ level: "silent" });
  const name = `test-${process.pid}-${Date.now()}`;

  before(async function () {
    const found = await findPostgresUser();
    if ("reason" in found) {
      console.log(`      skipping the election tests: no PostgreSQL: ${found.reason}`);
      this.skip();
    }
    url = `postgres://${(found as { user: string }).user}@127.0.0.1:5432/test`;
  });
  afterEach(async () => {
    for (const l of made.splice(0)) await l.stop();
  });

  function candidate(lock = name): { l: Leadership; events: string[] } {
    const l = new Leadership({ connectionString: url, name: lock, retryMs: 100, logger });
    const events: string[] = [];
    l.on("elected", () => events.push("elected"));
    l.on("lost", () => events.push("lost"));
    made.push(l);
    l.start();
    return { l, events };
  }

  it("elects one of three; when it stops, exactly one other takes over; another name has its own leader", async () => {
    const cs = [candidate(), candidate(), candidate()];
    await waitFor("a leader", 10_000, async () => cs.some((c) => c.l.isLeader));
    await new Promise((r) => setTimeout(r, 500)); // several retry rounds: still one
    expect(cs.filter((c) => c.l.isLeader)).to.have.length(1);
    const other = candidate(`${name}-other`);
    await waitFor("the other name's leader", 10_000, async () => other.l.isLeader);

    const first = cs.find((c) => c.l.isLeader)!;
    await first.l.stop();
    const rest = cs.filter((c) => c !== first);
    await waitFor("a new leader", 10_000, async () => rest.some((c) => c.l.isLeader));
    await new Promise((r) => setTimeout(r, 500));
    expect(rest.filter((c) => c.l.isLeader)).to.have.length(1);
    expect(first.events).to.deep.equal(["elected"]); // a clean stop is not a loss
  });

  it("a second process with the embedded chain on the same PostgreSQL store and contract is refused, naming chain.bitcoindUrl", async () => {
    const database = `leader_${process.pid}_${Date.now() % 1_000_000}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const store = { postgresUrl: url.replace(/\/test$/, `/${database}`) };
    let first: RunningPool | undefined;
    try {
      first = await startPool({
        env: {},
        logger,
        overrides: { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "pool-leader-a-")), store, stratum: { port: 0 }, api: { port: 0 }, evm: { embeddedPort: 0, embeddedState: "memory", challengeWindow: 1 } },
      });
      await waitFor("the first process elected", 10_000, async () => first!.leadership!.isLeader);
      let err: unknown;
      try {
        const second = await startPool({
          env: {},
          logger,
          overrides: { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "pool-leader-b-")), store, stratum: { port: 0 }, api: { port: 0 }, evm: { rpcUrl: first.rpcUrl, contract: first.contract, operatorKey: hardhatDevKey(0) } },
        });
        await second.stop();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as Error).message).to.contain("chain.bitcoindUrl").and.to.contain("another pool process with the embedded chain");
    } finally {
      await first?.stop();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  it("a leader whose connection the server cuts is told it lost, and a standby takes over", async () => {
    const a = candidate();
    await waitFor("a leads", 10_000, async () => a.l.isLeader);
    const b = candidate();
    await new Promise((r) => setTimeout(r, 300));
    expect(b.l.isLeader).to.equal(false);
    // What the server does when the leader's process or machine dies: the session ends, the lock goes.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const held = await admin.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted AND objid = (hashtext($2)::bigint & 4294967295)::oid", [0x504c4e53, name]);
      expect(held.rows).to.have.length(1);
      await admin.query("SELECT pg_terminate_backend($1)", [held.rows[0].pid]);
    } finally {
      await admin.end();
    }
    await waitFor("b elected", 10_000, async () => b.l.isLeader);
    expect(a.events).to.deep.equal(["elected", "lost"]);
    expect(a.l.isLeader).to.equal(false);
  });
});
