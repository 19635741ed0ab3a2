/**
 * Share store throughput: shares/s durably stored with group commit (each record() resolves only
 * after its transaction committed), on SQLite (synchronous=FULL, the default, and NORMAL) and on
 * PostgreSQL when a server answers on 127.0.0.1:5432; then the read paths the epoch builder uses
 * (the PPLNS walk and the share log range read), in rows/s.
 *
 * Load shape: 1 000 connections (payout addresses), a new job per connection every 4 of its shares
 * (vardiff aims at a share every ~10 s, jobs come every 30-60 s), up to 10 000 records in flight.
 * Share objects are built in the loop, as the Stratum server would hand them over.
 * Usage: npx ts-node --transpile-only bench/store.ts [shares]   (default 300000)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { findPostgresUser } from "../test/pg.helpers";
import { openShareStore, type ShareStore, type ShareStoreConfig } from "../src/shares";
import type { AcceptedShare } from "../src/stratum/events";

const TOTAL = Number(process.argv[2] ?? 300_000);
const CONNECTIONS = 1000;
const SHARES_PER_JOB = 4;
const IN_FLIGHT = 10_000;

interface Job {
  address: string;
  jobId: string;
  height: number;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  nbits: string;
}

const jobs = new Map<string, Job>();
const branch = Array.from({ length: 12 }, (_, i) => i.toString(16).padStart(2, "0").repeat(32));

function jobFor(conn: number, round: number): Job {
  const key = `${conn}:${round}`;
  let job = jobs.get(key);
  if (!job) {
    if (jobs.size > 4 * CONNECTIONS) jobs.clear();
    const address = "0x" + (conn + 1).toString(16).padStart(40, "0");
    job = {
      address,
      jobId: round.toString(16),
      height: 840_000 + (round >> 4),
      prevhash: (round >> 4).toString(16).padStart(64, "0"),
      coinb1: "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2f03c0d10c14" + address.slice(2) + "0c",
      coinb2: "ffffffff02" + "00f2052a01000000160014" + "ab".repeat(20) + "0000000000000000266a24aa21a9ed" + "cd".repeat(32) + "00000000",
      merkleBranch: branch,
      nbits: "17034219",
    };
    jobs.set(key, job);
  }
  return job;
}

function share(i: number): AcceptedShare {
  const conn = i % CONNECTIONS;
  const job = jobFor(conn, Math.floor(i / (CONNECTIONS * SHARES_PER_JOB)));
  return {
    address: job.address,
    worker: "rig" + (conn % 3),
    difficulty: "65536",
    jobId: job.jobId,
    height: job.height,
    prevhash: job.prevhash,
    coinb1: job.coinb1,
    coinb2: job.coinb2,
    extranonce1: conn.toString(16).padStart(8, "0"),
    extranonce2: i.toString(16).padStart(16, "0"),
    merkleBranch: job.merkleBranch,
    version: "20000000",
    nbits: job.nbits,
    ntime: "66000000",
    nonce: (i >>> 0).toString(16).padStart(8, "0"),
    hash: i.toString(16).padStart(64, "0"),
    isBlock: false,
    time: Date.now(),
  };
}

interface Result {
  store: string;
  shares: number;
  seconds: number;
  sharesPerSecond: number;
  commits: number;
  meanBatch: number;
  /** Share of the run spent inside transactions; the rest is building, checking and queueing shares in the same thread. */
  inTransactionsPercent: number;
  pplnsWalkRowsPerSecond: number;
  shareLogRowsPerSecond: number;
}

async function run(name: string, config: ShareStoreConfig): Promise<Result> {
  const store: ShareStore = await openShareStore(config);
  try {
    // Records settle in order (one transaction at a time), so waiting on the oldest is enough.
    const inflight: Promise<number>[] = [];
    let head = 0;
    const t0 = performance.now();
    for (let i = 0; i < TOTAL; i++) {
      inflight.push(store.recordShare(share(i)));
      if (inflight.length - head >= IN_FLIGHT) await inflight[head++];
    }
    await Promise.all(inflight.slice(head));
    const seconds = (performance.now() - t0) / 1000;
    const stats = (store as unknown as { commitStats: { commits: number; items: number; commitMs: number } }).commitStats;

    const last = await store.lastShareId();
    let t = performance.now();
    let rows = 0;
    for await (const batch of store.weightsNewestFirst(last)) rows += batch.length;
    const walk = rows / ((performance.now() - t) / 1000);
    t = performance.now();
    rows = 0;
    for await (const s of store.sharesInRange(1, last)) rows += s.id > 0 ? 1 : 0;
    const range = rows / ((performance.now() - t) / 1000);
    return {
      store: name,
      shares: TOTAL,
      seconds,
      sharesPerSecond: TOTAL / seconds,
      commits: stats.commits,
      meanBatch: stats.items / stats.commits,
      inTransactionsPercent: (100 * stats.commitMs) / (seconds * 1000),
      pplnsWalkRowsPerSecond: walk,
      shareLogRowsPerSecond: range,
    };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average ${os.loadavg()[0].toFixed(2)}`);
  console.log(`${TOTAL} shares per store; the cores are shared with other processes (one run each).\n`);
  const results: Result[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-store-"));
  try {
    results.push(await run("sqlite synchronous=FULL (default)", { kind: "sqlite", dataDir: path.join(dir, "full") }));
    results.push(await run("sqlite synchronous=NORMAL", { kind: "sqlite", dataDir: path.join(dir, "normal"), synchronous: "normal" }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const found = await findPostgresUser();
  const user = "user" in found ? found.user : undefined;
  if (user) {
    const schema = `bench_store_${process.pid}`;
    const conn = { host: "127.0.0.1", port: 5432, database: "test", user };
    try {
      results.push(await run("postgresql (synchronous_commit=on)", { kind: "postgres", ...conn, schema }));
    } finally {
      const c = new pg.Client(conn);
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  } else {
    console.log("PostgreSQL skipped: no server reachable on 127.0.0.1:5432\n");
  }

  const rows = [["store", "shares/s stored", "commits", "mean batch", "% in transactions", "PPLNS walk rows/s", "share-log rows/s"]];
  for (const r of results) {
    rows.push([r.store, Math.round(r.sharesPerSecond).toLocaleString("en"), String(r.commits), r.meanBatch.toFixed(0), r.inTransactionsPercent.toFixed(0), Math.round(r.pplnsWalkRowsPerSecond).toLocaleString("en"), Math.round(r.shareLogRowsPerSecond).toLocaleString("en")]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  "));
  const out = path.join(__dirname, "results", "store.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ cpus: os.cpus().length, loadAverage1m: os.loadavg()[0], connections: CONNECTIONS, sharesPerJob: SHARES_PER_JOB, inFlight: IN_FLIGHT, results }, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
