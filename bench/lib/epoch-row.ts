/**
 * bench:stratum's row "p99 while a 1 000 000-account epoch builds" (issue 15, part 2).
 *
 * Server side (in the Stratum server's process, as `npm start` runs both): on `epoch-fill` it fills
 * a SQLite store of its own with a cold epoch of N accounts (N shares from N addresses and a
 * confirmed block: test/epochs.fill.helpers.ts), outside any measurement; on `epoch-build` it runs
 * the real EpochBuilder.build() with the pool's settings (build worker on, same store), and reports
 * the build's duration and phases when it is recorded.
 * Client side: the same honest load as the quiet row, in 1-s runs back to back (none waits for
 * the previous one's replies), from just before the build starts until it is recorded, then every
 * reply awaited; the latencies (also split: sent while the worker built, sent after), and the
 * server's event-loop delay over that time.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EpochBuilder } from "../../src/epochs/builder";
import { percentile, type LoadGenerator } from "../../src/miner/load";
import { openShareStore } from "../../src/shares";
import { fillColdEpoch } from "../../test/epochs.fill.helpers";
import { once } from "./child";

interface Built {
  type: "epoch-built";
  /** Wall-clock ms (performance.timeOrigin + now) when build() was called. */
  startedAt: number;
  ms: number;
  accounts: number;
  bytes: number;
  timings: Record<string, number>;
  error?: string;
}

/** Serves `epoch-fill` and `epoch-build` in the server process; its store is removed at exit. */
export function serveEpochBuild(): void {
  let builder: EpochBuilder | undefined;
  process.on("message", async (msg: { type: string; accounts?: number }) => {
    try {
      if (msg.type === "epoch-fill") {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-stratum-epoch-"));
        process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
        const store = await openShareStore({ kind: "sqlite", dataDir: dir });
        // Built first, as the pool does at start: its worker thread loads while the store fills.
        builder = new EpochBuilder({
          store,
          dataDir: dir,
          powChain: "bench",
          evmChainId: 31337,
          contract: "0x" + "c0".repeat(20),
          factor: "2",
          feeBps: 100,
          feeAddress: "0x" + "fe".repeat(20),
          confirmations: 1,
          worker: { store: { kind: "sqlite", dataDir: dir } },
        });
        const t = performance.now();
        await fillColdEpoch(store, msg.accounts ?? 1_000_000);
        process.send!({ type: "epoch-filled", ms: performance.now() - t });
      } else if (msg.type === "epoch-build") {
        const t = performance.now();
        const startedAt = performance.timeOrigin + t;
        const e = await builder!.build();
        if (!e) throw new Error("nothing to build");
        process.send!({ type: "epoch-built", startedAt, ms: performance.now() - t, accounts: e.deltas.length, bytes: e.bytes, timings: e.timings } satisfies Built);
      }
    } catch (err) {
      process.send!({ type: "epoch-built", startedAt: 0, ms: 0, accounts: 0, bytes: 0, timings: {}, error: String(err) } satisfies Built);
    }
  });
}

/** The row: the honest load while the server builds and records an epoch of `accounts` accounts. */
export async function duringEpochBuild<S extends { loopDelayMs: Record<string, number>; rssMaxMiB: number; cpu: NodeJS.CpuUsage }>(
  child: ChildProcess,
  load: LoadGenerator,
  opts: { accounts: number; rate: number; tickMs: number },
) {
  const fillStart = Date.now();
  child.send({ type: "epoch-fill", accounts: opts.accounts });
  const filled = await once<{ ms: number }>(child, "epoch-filled");
  console.log(`epoch row: filled a store with ${opts.accounts} accounts in ${((Date.now() - fillStart) / 1000).toFixed(1)} s`);
  await load.run(opts.rate, 1000, opts.tickMs); // warm again after the fill
  let built: Built | undefined;
  const done = once<Built>(child, "epoch-built").then((m) => (built = m));
  child.send({ type: "start" });
  const load0 = os.loadavg()[0];
  const latencies: number[] = [];
  /** Wall-clock send time of each latency sample. */
  const sentAt: number[] = [];
  let sent = 0;
  let accepted = 0;
  let rejected = 0;
  let ms = 0;
  let first = true;
  const take = (r: Awaited<ReturnType<LoadGenerator["run"]>>, base: number) => {
    for (let i = 0; i < r.latencies.length; i++) {
      latencies.push(r.latencies[i]);
      sentAt.push(base + r.sentTimes[i]);
    }
    sent += r.sent;
    accepted += r.accepted;
    rejected += Object.values(r.rejected).reduce((a, b) => a + b, 0);
    ms += r.durationMs;
  };
  // 1-s runs back to back, none waiting for the previous one's replies: the load keeps coming
  // while the server stalls (no coordinated omission). A late reply is counted, with its true
  // latency, in the run it arrives in.
  while (!built) {
    const base = performance.timeOrigin + performance.now(); // run() starts its clock now
    const run = load.run(opts.rate, 1000, opts.tickMs, 0);
    if (first) child.send({ type: "epoch-build" }); // the build starts inside the first second of load
    first = false;
    take(await run, base);
  }
  // Then every submit's reply (the backlog of a stall included), sending nothing more; 300 s at most.
  const until = Date.now() + 300_000;
  while (accepted + rejected < sent && Date.now() < until) {
    const base = performance.timeOrigin + performance.now();
    take(await load.run(0, 200, opts.tickMs, 0), base);
  }
  await done;
  child.send({ type: "stop" });
  const server = await once<S>(child, "stats");
  if (built!.error) throw new Error(`epoch build failed in the server: ${built!.error}`);
  const lat = Float64Array.from(latencies);
  const t = built!.timings;
  // Submits sent while the worker built (the loop free), and from then to the end (the deltas
  // unpacked and the store's record transaction on the loop).
  const workerEnd = built!.startedAt + (t.workerMs ?? 0);
  const phase = (keep: (at: number) => boolean) => {
    const part = Float64Array.from(latencies.filter((_, i) => keep(sentAt[i])));
    return { submits: part.length, p50: Number(percentile(part, 50).toFixed(2)), p99: Number(percentile(part, 99).toFixed(2)), max: Number(percentile(part, 100).toFixed(2)) };
  };
  const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v));
  return {
    accounts: built!.accounts,
    fillSeconds: Number((filled.ms / 1000).toFixed(1)),
    buildSeconds: Number((built!.ms / 1000).toFixed(2)),
    buildPhasesMs: {
      inWorker: round(t.workerMs),
      pplns: round(t.pplnsMs),
      ledger: round(t.ledgerMs),
      tree: round(t.treeMs),
      shareLog: round(t.shareLogMs),
      epochFile: round(t.epochFileMs),
      unpackDeltasOnLoop: round(t.transferMs),
      recordOnLoop: round(t.recordMs),
    },
    epochFileBytes: built!.bytes,
    loadSeconds: Number((ms / 1000).toFixed(2)),
    sent,
    accepted,
    rejected,
    /** Submits never answered (300 s after the build): 0 unless the server lost them. */
    unanswered: sent - accepted - rejected,
    acceptedPerSecond: Math.round(accepted / (ms / 1000)),
    latencyMs: {
      p50: Number(percentile(lat, 50).toFixed(2)),
      p99: Number(percentile(lat, 99).toFixed(2)),
      max: Number(percentile(lat, 100).toFixed(2)),
    },
    latencyByPhaseMs: {
      whileTheWorkerBuilds: phase((at) => at >= built!.startedAt && at < workerEnd),
      whileRecording: phase((at) => at >= workerEnd),
    },
    serverEventLoopDelayMs: Object.fromEntries(Object.entries(server.loopDelayMs).map(([k, v]) => [k, Number(v.toFixed(2))])),
    serverCpuUtilisation: Number(((server.cpu.user + server.cpu.system) / 1e6 / (ms / 1000)).toFixed(2)),
    serverRssMaxMiB: Number(server.rssMaxMiB.toFixed(1)),
    loadAverage1m: { before: Number(load0.toFixed(2)), after: Number(os.loadavg()[0].toFixed(2)) },
  };
}
