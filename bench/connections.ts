/**
 * Idle connection cost: a server process holds N subscribed (then also authorized) connections
 * opened by this process; memory per connection = server RSS / heap delta ÷ N, measured in the
 * server's own process after a forced GC.
 *
 *   npx ts-node --transpile-only bench/connections.ts [--connections 10000]
 */
import { execSync, fork } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import pino from "pino";
import { EmbeddedChain } from "../src/chain";
import { MemoryShareSink } from "../src/stratum/memory-sink";
import { StratumServer } from "../src/stratum/server";
import { once, runRole } from "./lib/child";

const ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

async function serverRole(): Promise<void> {
  const chain = new EmbeddedChain({ bits: "1d00ffff", syntheticTxs: 3, refreshIntervalMs: 3_600_000 });
  await chain.start();
  const server = new StratumServer({
    source: chain,
    sink: new MemoryShareSink(),
    logger: pino({ level: "warn" }),
    // Every connection comes from 127.0.0.1 here: lift the per-address limits (issue 16) for the measurement.
    config: {
      port: 0,
      bans: { enabled: false },
      authTimeoutMs: 3_600_000,
      jobRefreshMs: 3_600_000,
      limits: { maxConnectionsPerAddress: 1_000_000, connectBurstPerAddress: 1_000_000 },
    },
  });
  const port = await server.listen();
  const measure = (): Mem => {
    for (let i = 0; i < 3; i++) (global as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  process.on("message", async (msg: { type: string }) => {
    if (msg.type === "measure") process.send!({ type: "mem", mem: measure(), stats: server.stats() });
    if (msg.type === "exit") {
      await server.close(1000);
      process.exit(0);
    }
  });
  process.send!({ type: "ready", port, fdLimit: execSync("ulimit -n", { shell: "/bin/bash" }).toString().trim() });
}

/** Opens a connection and waits for the reply to one line. */
function openAndSend(port: number, line: string, sockets: net.Socket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("error", reject);
    s.once("connect", () => s.write(line));
    s.once("data", () => {
      sockets.push(s);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const n = arg("connections", 10_000);
  // Both processes need n file descriptors: raise the soft limit in the shell that starts the server.
  const hard = execSync("ulimit -Hn", { shell: "/bin/bash" }).toString().trim();
  const want = hard === "unlimited" ? n + 1000 : Math.min(Number(hard), n + 1000);
  const child = fork(__filename, ["--role", "server"], {
    execArgv: ["-r", "ts-node/register/transpile-only", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await once<{ port: number; fdLimit: string }>(child, "ready");
  if (Number(ready.fdLimit) < n + 100) throw new Error(`server fd limit ${ready.fdLimit} < ${n}; run with ulimit -n ${want}`);
  child.send({ type: "measure" });
  const base = await once<{ mem: Mem }>(child, "mem");

  const sockets: net.Socket[] = [];
  const t0 = Date.now();
  const batch = 500;
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    await Promise.all(Array.from({ length: k }, () => openAndSend(ready.port, `{"id":1,"method":"mining.subscribe","params":["idle/1.0"]}\n`, sockets)));
  }
  const openMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  child.send({ type: "measure" });
  const subscribed = await once<{ mem: Mem; stats: { subscribed: number } }>(child, "mem");

  // Then authorize all of them: each gets set_difficulty and a job.
  let pending = sockets.length;
  await new Promise<void>((resolve) => {
    for (const s of sockets) {
      let seen = "";
      const onData = (d: Buffer) => {
        seen += d.toString();
        if (seen.includes("mining.notify")) {
          s.off("data", onData);
          if (--pending === 0) resolve();
        }
      };
      s.on("data", onData);
      s.write(`{"id":2,"method":"mining.authorize","params":["${ADDRESS}.idle","x"]}\n`);
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  child.send({ type: "measure" });
  const authorized = await once<{ mem: Mem; stats: { authorized: number } }>(child, "mem");
  for (const s of sockets) s.destroy();
  child.send({ type: "exit" });

  const per = (m: Mem, k: keyof Mem) => (m[k] - base.mem[k]) / n / 1024;
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    connections: n,
    openSeconds: Number((openMs / 1000).toFixed(2)),
    subscribedOnServer: subscribed.stats.subscribed,
    authorizedOnServer: authorized.stats.authorized,
    baseRssMiB: Number((base.mem.rss / 2 ** 20).toFixed(1)),
    subscribedKiBPerConnection: {
      rss: Number(per(subscribed.mem, "rss").toFixed(2)),
      heap: Number(per(subscribed.mem, "heapUsed").toFixed(2)),
      external: Number(per(subscribed.mem, "external").toFixed(2)),
    },
    authorizedKiBPerConnection: {
      rss: Number(per(authorized.mem, "rss").toFixed(2)),
      heap: Number(per(authorized.mem, "heapUsed").toFixed(2)),
      external: Number(per(authorized.mem, "external").toFixed(2)),
    },
  };
  console.table({
    connections: n,
    "open time s": result.openSeconds,
    "subscribed: RSS KiB/conn": result.subscribedKiBPerConnection.rss,
    "subscribed: heap KiB/conn": result.subscribedKiBPerConnection.heap,
    "authorized: RSS KiB/conn": result.authorizedKiBPerConnection.rss,
    "authorized: heap KiB/conn": result.authorizedKiBPerConnection.heap,
  });
  const out = path.join(__dirname, "results", "connections.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

runRole(main, serverRole);
