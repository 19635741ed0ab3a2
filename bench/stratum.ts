/**
 * Stratum throughput benchmark: a server process and a load-generator process (this one) over
 * loopback. Every submit is a real share at the server's (tiny) difficulty, pre-mined by the load
 * generator; the server does the full coinbase + merkle + header sha256d and all checks per submit.
 *
 *   npx ts-node --transpile-only bench/stratum.ts [--connections 1000] [--rate 20000] [--seconds 10] [--txs 3]
 *     [--tick-ms 2] [--keep 0] [--no-abuse] [--sink sqlite|memory] [--processes 1]
 * --sink sqlite (the default, issue 15): shares are acknowledged only once the SQLite store has them
 * (group commit, synchronous=FULL), as `npm start` runs it; --sink memory counts them in memory (the
 * earlier figure); --writer-thread writes them on the store's writer thread (store.writerThread).
 * --processes N runs Stratum in N worker processes (StratumCluster, as
 * stratum.processes does), the store writer staying in the server process; the server CPU then
 * adds up every process's. The JSON goes to bench/results/stratum.json for the default, else
 * stratum-<sink>-<N>p.json. --floor runs, instead of the pool's server, one that answers every
 * submit `true` unchecked (bench/lib/floor.ts): the cost of the connections and system calls alone,
 * the floor under any server on this machine (bench/results/stratum-floor.json).
 * After the quiet run, the same load runs again "under abuse" (issue 16): a third process keeps 4
 * connections flooding unknown-job submits at their maximum rate and 20 connections sending pings
 * without ever reading, each reconnecting as soon as it is closed (from their own loopback
 * addresses, 127.0.0.2-5 and 127.0.1.1-20); the row reports the honest submits' latency and the
 * server's largest RSS during the run.
 * Then (issue 15, --epoch-accounts N, default 1 000 000; --no-epoch skips it) the same load again
 * while the server process builds and records a cold epoch of N accounts with the pool's builder
 * (build worker on): bench/lib/epoch-row.ts.
 * ABUSE_FLOODERS / ABUSE_NONREADERS (default 4 / 20) set how many of each the abuser runs.
 * STRATUM_BENCH_DEBUG=1 prints GC pauses, event-loop delay and a latency histogram (quiet and under abuse);
 * STRATUM_BENCH_TRACE=file.csv writes every submit's send time and latency;
 * STRATUM_BENCH_SERVER_FLAGS="--flag ..." passes node flags to the server process.
 */
import { fork } from "node:child_process";
import cluster from "node:cluster";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from "node:perf_hooks";
import pino from "pino";
import { EmbeddedChain } from "../src/chain";
import { sha256d } from "../src/pow";
import { LoadGenerator, percentile } from "../src/miner/load";
import { SqliteShareStore } from "../src/shares";
import { merkleBranch } from "../src/pow";
import { StratumCluster } from "../src/stratum/cluster";
import type { ShareSink } from "../src/stratum/events";
import { MemoryShareSink } from "../src/stratum/memory-sink";
import { StratumServer } from "../src/stratum/server";
import { once, runRole } from "./lib/child";
import { duringEpochBuild, serveEpochBuild } from "./lib/epoch-row";
import { startFloorServer } from "./lib/floor";

// Every sha256d value passes at this difficulty (its target clamps to 2^256-1).
const TINY_DIFFICULTY = "0.0000000001";
const ADDRESSES = [
  "0x52908400098527886E0F7030069857D2E4169EE7",
  "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
  "0xde709f2102306220921060314715629080e2fb77",
  "0x27b1fdb04752bbc536007a920d24acb045561c26",
];

/** GC pauses (count, total, longest, those ≥ 5 ms) observed in this process while `on`. */
function gcWatch() {
  const st = { on: false, count: 0, totalMs: 0, maxMs: 0, long: [] as { atMs: number; ms: number; kind: number }[], t0: 0 };
  const obs = new PerformanceObserver((list) => {
    if (!st.on) return;
    for (const e of list.getEntries()) {
      st.count++;
      st.totalMs += e.duration;
      st.maxMs = Math.max(st.maxMs, e.duration);
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      if (e.duration >= 5) st.long.push({ atMs: Math.round(e.startTime - st.t0), ms: Number(e.duration.toFixed(1)), kind });
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  return st;
}

function loopDelay(h: IntervalHistogram) {
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

/** The floor server (bench/lib/floor.ts) with the few members the server role reads. */
async function floorAsServer() {
  const floor = await startFloorServer();
  const none = {};
  return {
    listen: async () => floor.port,
    close: async () => floor.close(),
    stats: () => ({ accepted: floor.answered(), rejectedTotal: 0, disconnects: none, refused: none, droppedMessages: 0, bans: 0, addressBans: 0 }),
  };
}

function sinkArg(): "sqlite" | "memory" {
  const i = process.argv.indexOf("--sink");
  const v = i === -1 ? "sqlite" : process.argv[i + 1];
  if (v !== "sqlite" && v !== "memory") throw new Error(`--sink must be sqlite or memory, got ${v}`);
  return v;
}

/** CPU time (µs, user + system) of the given processes from /proc (Linux), 0 for those gone. */
function procCpuMicros(pids: number[]): number {
  const tick = 1e6 / 100; // USER_HZ
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) * tick; // utime, stime
    } catch {
      // ended
    }
  }
  return total;
}

/**
 * sha256d of an 80-byte buffer per second in this process: the ceiling. The cores are shared, so
 * it is measured in 100 ms slices and the best slice is kept (the closest to an uncontended core).
 */
function sha256dCeiling(ms = 1000): { best: number; median: number } {
  const buf = Buffer.alloc(80, 7);
  const rates: number[] = [];
  let n = 0;
  for (let slice = 0; slice < ms / 100; slice++) {
    const start = process.hrtime.bigint();
    const end = start + 100_000_000n;
    let k = 0;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 500; i++) {
        buf.writeUInt32LE(n++, 76);
        sha256d(buf);
      }
      k += 500;
      now = process.hrtime.bigint();
    }
    rates.push(k / (Number(now - start) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1], median: rates[Math.floor(rates.length / 2)] };
}

async function serverRole(): Promise<void> {
  const txs = arg("txs", 3);
  const chain = new EmbeddedChain({ bits: "1d00ffff", syntheticTxs: txs, refreshIntervalMs: 3_600_000 });
  await chain.start();
  const sinkKind = sinkArg();
  const processes = arg("processes", 1);
  let sink: ShareSink;
  let stored: () => Promise<number>;
  let closeSink = async () => {};
  if (sinkKind === "memory") {
    // Counts every share but keeps none: retaining the last 1 000 full share objects (the old
    // setting) only made every young-generation GC copy them, a cost no real store has.
    const memory = new MemoryShareSink(arg("keep", 0));
    sink = memory;
    stored = async () => memory.count;
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-stratum-store-"));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    // As the pool opens it (store.writerThread off unless --writer-thread).
    const store = await SqliteShareStore.open({ dataDir: dir, writerThread: process.argv.includes("--writer-thread") });
    await store.startWriter();
    sink = store;
    stored = () => store.shareCount();
    closeSink = () => store.close();
  }
  const config = {
    port: 0,
    host: "127.0.0.1",
    startDifficulty: TINY_DIFFICULTY,
    minDifficulty: TINY_DIFFICULTY,
    maxDifficulty: TINY_DIFFICULTY,
    // The 1 000 honest load connections all come from 127.0.0.1: let one address hold them.
    // Every other limit (message budget, bans, timeouts) is the default.
    limits: { maxConnectionsPerAddress: 100_000, connectBurstPerAddress: 100_000 },
  };
  const logger = pino({ level: "warn" });
  const server = process.argv.includes("--floor")
    ? await floorAsServer()
    : processes > 1
      ? new StratumCluster({ source: chain, sink, logger, config, processes })
      : new StratumServer({ source: chain, sink, logger, config });
  const workerPids = () => (processes > 1 ? Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!) : []);
  const port = await server.listen();
  const ceiling = sha256dCeiling();
  let rssMax = 0;
  let rssTimer: NodeJS.Timeout | null = null;
  // coinbase + one per branch step + header
  const hashesPerShare = 2 + merkleBranch(chain.current().transactions.map((t) => t.txid)).length;
  const cpuNow = () => {
    const own = process.cpuUsage();
    return own.user + own.system + procCpuMicros(workerPids());
  };
  let cpu0 = process.cpuUsage();
  let total0 = cpuNow();
  let mem0 = process.memoryUsage();
  const gc = gcWatch();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  process.on("message", async (msg: { type: string }) => {
    if (msg.type === "start") {
      rssMax = process.memoryUsage.rss();
      rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage.rss())), 100);
      cpu0 = process.cpuUsage();
      total0 = cpuNow();
      mem0 = process.memoryUsage();
      // Each run (quiet, then under abuse) is measured on its own.
      Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0, long: [] });
      eld.reset();
      gc.on = true;
      gc.t0 = performance.now();
      eld.enable();
    } else if (msg.type === "stop") {
      if (rssTimer) clearInterval(rssTimer);
      const own = process.cpuUsage(cpu0);
      // With worker processes, their CPU counts as the server's (split user/system unknown: all in user).
      const workers = cpuNow() - total0 - own.user - own.system;
      const cpu = { user: own.user + Math.max(0, workers), system: own.system };
      const mem = process.memoryUsage();
      eld.disable();
      gc.on = false;
      process.send!({
        type: "stats",
        cpu,
        stats: server.stats(),
        stored: await stored(),
        rssMiB: mem.rss / 2 ** 20,
        rssMaxMiB: Math.max(rssMax, mem.rss) / 2 ** 20,
        heapDeltaMiB: (mem.heapUsed - mem0.heapUsed) / 2 ** 20,
        gc: { count: gc.count, totalMs: gc.totalMs, maxMs: gc.maxMs, long: gc.long },
        loopDelayMs: loopDelay(eld),
      });
    } else if (msg.type === "exit") {
      await server.close(500);
      await closeSink();
      await chain.stop();
      process.exit(0);
    }
  });
  serveEpochBuild();
  process.send!({ type: "ready", port, ceiling, hashesPerShare });
}

async function main(): Promise<void> {
  const connections = arg("connections", 1000);
  const rate = arg("rate", 20_000);
  const seconds = arg("seconds", 10);
  const txs = arg("txs", 3);
  // 2 ms ticks (~40 submits each at 20 000/s, rotating over the connections): close to 1 000
  // independent miners. 10-20 ms ticks sent 200-400 submits at once, a burst no real pool sees.
  const tickMs = arg("tick-ms", 2);
  const sinkKind = sinkArg();
  const processes = arg("processes", 1);
  const child = fork(__filename, [...(process.argv.includes("--writer-thread") ? ["--writer-thread"] : []), "--role", "server", "--txs", String(txs), "--keep", String(arg("keep", 0)), "--sink", sinkKind, "--processes", String(processes), ...(process.argv.includes("--floor") ? ["--floor"] : [])], {
    // STRATUM_BENCH_PROFILE=dir writes a V8 CPU profile of the server process there.
    execArgv: ["-r", "ts-node/register/transpile-only", ...(process.env.STRATUM_BENCH_SERVER_FLAGS ? process.env.STRATUM_BENCH_SERVER_FLAGS.split(" ") : []), ...(process.env.STRATUM_BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.STRATUM_BENCH_PROFILE}`] : [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await once<{ port: number; ceiling: { best: number; median: number }; hashesPerShare: number }>(child, "ready");
  const load = new LoadGenerator({
    endpoint: { host: "127.0.0.1", port: ready.port },
    connections,
    users: ADDRESSES.map((a, i) => `${a}.load${i}`),
  });
  const load0 = os.loadavg()[0];
  const t0 = Date.now();
  await load.connect();
  const connectMs = Date.now() - t0;
  // Warm-up (JIT, buffers), then the measured run.
  await load.run(rate, 1000, tickMs, 2000);
  child.send({ type: "start" });
  const clientGc = gcWatch();
  clientGc.on = true;
  clientGc.t0 = performance.now();
  const clientEld = monitorEventLoopDelay({ resolution: 1 });
  clientEld.enable();
  const cpu0 = process.cpuUsage();
  const run = await load.run(rate, seconds * 1000, tickMs);
  // Copies: the generator's arrays are views that its next run (under abuse) overwrites.
  const res = { ...run, latencies: Float64Array.from(run.latencies), sentTimes: Float64Array.from(run.sentTimes) };
  const clientCpu = process.cpuUsage(cpu0);
  clientEld.disable();
  clientGc.on = false;
  child.send({ type: "stop" });
  const server = await once<ServerStats>(child, "stats");
  const abuse = process.argv.includes("--no-abuse") ? null : await underAbuse(child, load, ready.port, rate, seconds, tickMs);
  const epochBuild = process.argv.includes("--no-epoch") ? null : await duringEpochBuild<ServerStats>(child, load, { accounts: arg("epoch-accounts", 1_000_000), rate, tickMs });
  load.close();
  child.send({ type: "exit" });

  const seconds_ = res.durationMs / 1000;
  const sharesPerSecond = res.accepted / seconds_;
  const serverCpuUs = (server.cpu.user + server.cpu.system) / Math.max(1, res.accepted);
  const clientCpuUs = (clientCpu.user + clientCpu.system) / Math.max(1, res.sent);
  const sharesCeiling = ready.ceiling.best / ready.hashesPerShare;
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    note: "server and load generator in separate processes on the same machine (loopback); the machine's cores are shared with other work",
    loadAverage1m: { before: Number(load0.toFixed(2)), after: Number(os.loadavg()[0].toFixed(2)) },
    server: process.argv.includes("--floor") ? "floor: every submit answered true unchecked (bench/lib/floor.ts)" : "the pool's StratumServer",
    sink: sinkKind === "sqlite" ? `SQLite store, group commit, synchronous=FULL (acknowledged once stored), written ${process.argv.includes("--writer-thread") ? "on the store's writer thread" : "on the event loop"}` : "in memory",
    processes,
    connections,
    offeredRate: rate,
    seconds: Number(seconds_.toFixed(2)),
    connectMs,
    sent: res.sent,
    accepted: res.accepted,
    rejected: res.rejected,
    acceptedPerSecond: Math.round(sharesPerSecond),
    latencyMs: {
      p50: Number(percentile(res.latencies, 50).toFixed(2)),
      p99: Number(percentile(res.latencies, 99).toFixed(2)),
      max: Number(percentile(res.latencies, 100).toFixed(2)),
    },
    serverCpuMicrosPerShare: Number(serverCpuUs.toFixed(1)),
    serverCpuUtilisation: Number(((server.cpu.user + server.cpu.system) / 1e6 / seconds_).toFixed(2)),
    clientCpuMicrosPerShare: Number(clientCpuUs.toFixed(1)),
    sha256dPerSecond: Math.round(ready.ceiling.best),
    sha256dPerSecondMedianSlice: Math.round(ready.ceiling.median),
    hashesPerShare: ready.hashesPerShare,
    ceilingSharesPerSecond: Math.round(sharesCeiling),
    ratioToCeiling: Number((sharesPerSecond / sharesCeiling).toFixed(3)),
    serverRssMiB: Number(server.rssMiB.toFixed(1)),
    serverGc: { count: server.gc.count, totalMs: Number(server.gc.totalMs.toFixed(1)), maxMs: Number(server.gc.maxMs.toFixed(1)), pausesOver5ms: server.gc.long.length },
    serverEventLoopDelayMs: round2(server.loopDelayMs),
    clientGc: { count: clientGc.count, totalMs: Number(clientGc.totalMs.toFixed(1)), maxMs: Number(clientGc.maxMs.toFixed(1)), pausesOver5ms: clientGc.long.length },
    clientEventLoopDelayMs: round2(loopDelay(clientEld)),
    serverRssMaxMiB: Number(server.rssMaxMiB.toFixed(1)),
    underAbuse: abuse,
    duringEpochBuild: epochBuild,
  };
  if (process.env.STRATUM_BENCH_DEBUG) {
    console.log(`CPU user/system s: server ${(server.cpu.user / 1e6).toFixed(2)}/${(server.cpu.system / 1e6).toFixed(2)}, client ${(clientCpu.user / 1e6).toFixed(2)}/${(clientCpu.system / 1e6).toFixed(2)}`);
    console.log("server GC pauses >= 5 ms:", JSON.stringify(server.gc.long));
    console.log("client GC pauses >= 5 ms:", JSON.stringify(clientGc.long));
    console.log("server event loop delay ms:", JSON.stringify(result.serverEventLoopDelayMs), " client:", JSON.stringify(result.clientEventLoopDelayMs));
    latencyReport(res.latencies, res.sentTimes);
  }
  if (process.env.STRATUM_BENCH_TRACE) {
    const lines = ["sentMs,latencyMs"];
    for (let i = 0; i < res.latencies.length; i++) lines.push(`${res.sentTimes[i].toFixed(3)},${res.latencies[i].toFixed(3)}`);
    fs.writeFileSync(process.env.STRATUM_BENCH_TRACE, lines.join("\n") + "\n");
  }
  console.table({
    sink: sinkKind,
    "stratum processes": processes,
    "accepted shares/s": result.acceptedPerSecond,
    "offered shares/s": rate,
    connections,
    "p50 latency ms": result.latencyMs.p50,
    "p99 latency ms": result.latencyMs.p99,
    "server CPU µs/share": result.serverCpuMicrosPerShare,
    "server CPU (cores)": result.serverCpuUtilisation,
    "client CPU µs/share": result.clientCpuMicrosPerShare,
    "sha256d/s ceiling": result.sha256dPerSecond,
    "sha256d per share": result.hashesPerShare,
    "ratio to ceiling": result.ratioToCeiling,
    rejected: Object.values(res.rejected).reduce((a, b) => a + b, 0),
    "load avg before/after": `${result.loadAverage1m.before} / ${result.loadAverage1m.after}`,
  });
  if (abuse) {
    console.table({
      quiet: { "p50 ms": result.latencyMs.p50, "p99 ms": result.latencyMs.p99, "accepted/s": result.acceptedPerSecond, "server RSS max MiB": result.serverRssMaxMiB },
      "under abuse": { "p50 ms": abuse.latencyMs.p50, "p99 ms": abuse.latencyMs.p99, "accepted/s": abuse.acceptedPerSecond, "server RSS max MiB": abuse.serverRssMaxMiB },
    });
    console.table({
      quiet: { "server CPU (cores)": result.serverCpuUtilisation, "server loop delay p99 ms": result.serverEventLoopDelayMs.p99, "abusers' CPU (cores)": 0 },
      "under abuse": { "server CPU (cores)": abuse.serverCpuUtilisation, "server loop delay p99 ms": abuse.serverEventLoopDelayMs.p99, "abusers' CPU (cores)": abuse.abusers.cpuCores },
    });
    console.log("abusers:", JSON.stringify(abuse.abusers), "server:", JSON.stringify(abuse.server));
  }
  if (epochBuild) {
    console.table({
      quiet: { "p50 ms": result.latencyMs.p50, "p99 ms": result.latencyMs.p99, "max ms": result.latencyMs.max, "accepted/s": result.acceptedPerSecond, "server loop delay max ms": result.serverEventLoopDelayMs.max },
      [`while a ${epochBuild.accounts}-account epoch builds`]: { "p50 ms": epochBuild.latencyMs.p50, "p99 ms": epochBuild.latencyMs.p99, "max ms": epochBuild.latencyMs.max, "accepted/s": epochBuild.acceptedPerSecond, "server loop delay max ms": epochBuild.serverEventLoopDelayMs.max },
    });
    console.log("epoch build:", JSON.stringify({ seconds: epochBuild.buildSeconds, phasesMs: epochBuild.buildPhasesMs, latencyByPhaseMs: epochBuild.latencyByPhaseMs, serverRssMaxMiB: epochBuild.serverRssMaxMiB, load: epochBuild.loadAverage1m }));
  }
  const floor = process.argv.includes("--floor");
  const out = path.join(__dirname, "results", floor ? "stratum-floor.json" : sinkKind === "sqlite" && processes === 1 ? "stratum.json" : `stratum-${sinkKind}-${processes}p.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

interface ServerStats {
  cpu: NodeJS.CpuUsage;
  stats: { accepted: number; rejectedTotal: number; disconnects: Record<string, number>; refused: Record<string, number>; droppedMessages: number; bans: number; addressBans: number };
  stored: number;
  rssMiB: number;
  rssMaxMiB: number;
  gc: { count: number; totalMs: number; maxMs: number; long: { atMs: number; ms: number; kind: number }[] };
  loopDelayMs: { p50: number; p99: number; max: number };
}

/** The same honest load again while the abuser process floods (see the header); returns the row. */
async function underAbuse(child: ReturnType<typeof fork>, load: LoadGenerator, port: number, rate: number, seconds: number, tickMs: number) {
  const abuser = fork(__filename, ["--role", "abuser", "--port", String(port)], {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await once(abuser, "ready");
  await new Promise((r) => setTimeout(r, 1000)); // the floods reach full speed
  child.send({ type: "start" });
  const res = await load.run(rate, seconds * 1000, tickMs);
  child.send({ type: "stop" });
  const server = await once<ServerStats>(child, "stats");
  if (process.env.STRATUM_BENCH_DEBUG) {
    console.log("under abuse: server GC pauses >= 5 ms:", JSON.stringify(server.gc.long), "loop delay ms:", JSON.stringify(server.loopDelayMs));
    latencyReport(res.latencies, res.sentTimes);
  }
  abuser.send({ type: "stop" });
  const abusers = await once<{ flooders: AbuseCounters; nonReaders: AbuseCounters; cpuCores: number }>(abuser, "stats");
  abuser.kill();
  const s = server.stats;
  return {
    seconds: Number((res.durationMs / 1000).toFixed(2)),
    sent: res.sent,
    accepted: res.accepted,
    rejected: res.rejected,
    acceptedPerSecond: Math.round(res.accepted / (res.durationMs / 1000)),
    latencyMs: {
      p50: Number(percentile(res.latencies, 50).toFixed(2)),
      p99: Number(percentile(res.latencies, 99).toFixed(2)),
      max: Number(percentile(res.latencies, 100).toFixed(2)),
    },
    serverRssMiB: Number(server.rssMiB.toFixed(1)),
    serverRssMaxMiB: Number(server.rssMaxMiB.toFixed(1)),
    serverCpuUtilisation: Number(((server.cpu.user + server.cpu.system) / 1e6 / (res.durationMs / 1000)).toFixed(2)),
    serverEventLoopDelayMs: round2(server.loopDelayMs),
    abusers,
    server: { disconnects: s.disconnects, refused: s.refused, droppedMessages: s.droppedMessages, bans: s.bans, addressBans: s.addressBans },
  };
}

interface AbuseCounters {
  connects: number;
  closes: number;
  linesWritten: number;
  bytesRead: number;
}

/**
 * The abuser process: 4 flooders (subscribe, authorize, then unknown-job submits as fast as the
 * socket takes them, reading the replies) and 20 non-readers (pings as fast as the socket takes
 * them, never reading); every connection reconnects 20 ms after it is closed.
 */
async function abuserRole(): Promise<void> {
  const port = arg("port", 0);
  let running = true;
  const flooders: AbuseCounters = { connects: 0, closes: 0, linesWritten: 0, bytesRead: 0 };
  const nonReaders: AbuseCounters = { connects: 0, closes: 0, linesWritten: 0, bytesRead: 0 };
  const user = `${ADDRESSES[3]}.abuse`;
  const submit = `{"id":7,"method":"mining.submit","params":["${user}","ffffffff","00000000","65000000","00000000"]}\n`;
  const ping = `{"id":8,"method":"mining.ping","params":[]}\n`;
  const hello = `{"id":1,"method":"mining.subscribe","params":["abuse/1"]}\n{"id":2,"method":"mining.authorize","params":["${user}","x"]}\n`;
  const keep = (localAddress: string, line: string, reads: boolean, c: AbuseCounters) => {
    const perBatch = Math.floor(65536 / line.length);
    const batch = Buffer.from(line.repeat(perBatch));
    const connect = () => {
      if (!running) return;
      const s = net.connect({ host: "127.0.0.1", port, localAddress });
      let open = true;
      s.on("error", () => {});
      if (reads) s.on("data", (d: Buffer) => (c.bytesRead += d.length));
      const pump = () => {
        let k = 0;
        while (open && running) {
          const ok = s.write(batch);
          c.linesWritten += perBatch;
          if (!ok) {
            s.once("drain", pump);
            return;
          }
          if (++k === 16) {
            setImmediate(pump);
            return;
          }
        }
      };
      s.once("connect", () => {
        c.connects++;
        s.write(hello);
        pump();
      });
      s.once("close", () => {
        open = false;
        c.closes++;
        setTimeout(connect, 20);
      });
    };
    connect();
  };
  for (let i = 0; i < Number(process.env.ABUSE_FLOODERS ?? 4); i++) keep(`127.0.0.${2 + i}`, submit, true, flooders);
  for (let i = 0; i < Number(process.env.ABUSE_NONREADERS ?? 20); i++) keep(`127.0.1.${1 + i}`, ping, false, nonReaders);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  process.on("message", (msg: { type: string }) => {
    if (msg.type === "stop") {
      running = false;
      const cpu = process.cpuUsage(cpu0);
      // CPU the abusers themselves used (their loopback traffic is kernel time in this process).
      const cpuCores = Number(((cpu.user + cpu.system) / 1e3 / (performance.now() - t0)).toFixed(2));
      process.send!({ type: "stats", flooders, nonReaders, cpuCores });
    }
  });
  process.send!({ type: "ready" });
}

function round2(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(2))]));
}

/** Latency histogram, and the worst 100 ms windows of send time (where the tail comes from). */
function latencyReport(lat: Float64Array, sent: Float64Array): void {
  const edges = [1, 2, 5, 10, 20, 50, 100, 200, 500, Infinity];
  const counts = new Array(edges.length).fill(0);
  for (const v of lat) counts[edges.findIndex((e) => v < e)]++;
  console.log("latency histogram (ms, upper bound: count):", edges.map((e, i) => `<${e}: ${counts[i]}`).join("  "));
  const windows = new Map<number, { n: number; max: number; over20: number }>();
  for (let i = 0; i < lat.length; i++) {
    const w = Math.floor(sent[i] / 100);
    const x = windows.get(w) ?? { n: 0, max: 0, over20: 0 };
    x.n++;
    x.max = Math.max(x.max, lat[i]);
    if (lat[i] > 20) x.over20++;
    windows.set(w, x);
  }
  const worst = [...windows.entries()].sort((a, b) => b[1].over20 - a[1].over20).slice(0, 10);
  console.log("100 ms send windows with the most replies > 20 ms:", worst.map(([w, x]) => `${w * 100}ms n=${x.n} >20ms=${x.over20} max=${x.max.toFixed(1)}`).join("; "));
}

runRole(main, () => (process.argv.includes("abuser") ? abuserRole() : serverRole()));
