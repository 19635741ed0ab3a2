/**
 * Stratum throughput benchmark: a server process and a load-generator process (this one) over
 * loopback. Every submit is a real share at the server's (tiny) difficulty, pre-mined by the load
 * generator; the server does the full coinbase + merkle + header sha256d and all checks per submit.
 *
 *   npx ts-node --transpile-only bench/stratum.ts [--connections 1000] [--rate 20000] [--seconds 10] [--txs 3]
 *     [--tick-ms 2] [--keep 0]
 * STRATUM_BENCH_DEBUG=1 prints GC pauses, event-loop delay and a latency histogram;
 * STRATUM_BENCH_TRACE=file.csv writes every submit's send time and latency;
 * STRATUM_BENCH_SERVER_FLAGS="--flag ..." passes node flags to the server process.
 */
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from "node:perf_hooks";
import pino from "pino";
import { EmbeddedChain } from "../src/chain";
import { sha256d } from "../src/pow";
import { LoadGenerator, percentile } from "../src/miner/load";
import { MemoryShareSink } from "../src/stratum/memory-sink";
import { StratumServer } from "../src/stratum/server";
import { once, runRole } from "./lib/child";

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
  // Counts every share but keeps none: retaining the last 1 000 full share objects (the old
  // setting) only made every young-generation GC copy them, a cost no real store has.
  const sink = new MemoryShareSink(arg("keep", 0));
  const server = new StratumServer({
    source: chain,
    sink,
    logger: pino({ level: "warn" }),
    config: {
      port: 0,
      startDifficulty: TINY_DIFFICULTY,
      minDifficulty: TINY_DIFFICULTY,
      maxDifficulty: TINY_DIFFICULTY,
      bans: { enabled: false },
    },
  });
  const port = await server.listen();
  const ceiling = sha256dCeiling();
  // coinbase + one per branch step + header
  const hashesPerShare = 2 + (server.work?.tw.branch.length ?? 0);
  let cpu0 = process.cpuUsage();
  let mem0 = process.memoryUsage();
  const gc = gcWatch();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  process.on("message", async (msg: { type: string }) => {
    if (msg.type === "start") {
      cpu0 = process.cpuUsage();
      mem0 = process.memoryUsage();
      gc.on = true;
      gc.t0 = performance.now();
      eld.enable();
    } else if (msg.type === "stop") {
      const cpu = process.cpuUsage(cpu0);
      const mem = process.memoryUsage();
      eld.disable();
      gc.on = false;
      process.send!({
        type: "stats",
        cpu,
        stats: server.stats(),
        stored: sink.count,
        rssMiB: mem.rss / 2 ** 20,
        heapDeltaMiB: (mem.heapUsed - mem0.heapUsed) / 2 ** 20,
        gc: { count: gc.count, totalMs: gc.totalMs, maxMs: gc.maxMs, long: gc.long },
        loopDelayMs: loopDelay(eld),
      });
    } else if (msg.type === "exit") {
      await server.close(500);
      await chain.stop();
      process.exit(0);
    }
  });
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
  const child = fork(__filename, ["--role", "server", "--txs", String(txs), "--keep", String(arg("keep", 0))], {
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
  const res = await load.run(rate, seconds * 1000, tickMs);
  const clientCpu = process.cpuUsage(cpu0);
  clientEld.disable();
  clientGc.on = false;
  child.send({ type: "stop" });
  const server = await once<{
    cpu: NodeJS.CpuUsage;
    stats: { accepted: number; rejectedTotal: number };
    stored: number;
    rssMiB: number;
    gc: { count: number; totalMs: number; maxMs: number; long: { atMs: number; ms: number; kind: number }[] };
    loopDelayMs: { p50: number; p99: number; max: number };
  }>(child, "stats");
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
  const out = path.join(__dirname, "results", "stratum.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
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

runRole(main, serverRole);
