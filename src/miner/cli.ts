/**
 * Command line for our miner:
 *   npx ts-node --transpile-only src/miner/cli.ts --url stratum+tcp://127.0.0.1:3333 --user 0xADDRESS.rig1
 * Options: --pass x, --max-hashrate H/s, --no-version-rolling, --suggest-difficulty D,
 *   load mode: --load CONNECTIONS --rate SHARES_PER_SECOND --seconds S (needs a pool at a tiny difficulty
 *   for every submit to be a valid share).
 */
import { parseStratumUrl } from "./client";
import { LoadGenerator, percentile } from "./load";
import { Miner, type ShareResult } from "./miner";

function args(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out.set(a.slice(2), "true");
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}

function num(a: Map<string, string>, name: string): number | undefined {
  const v = a.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

async function runLoad(a: Map<string, string>, url: string, user: string): Promise<void> {
  const load = new LoadGenerator({ endpoint: parseStratumUrl(url), connections: num(a, "load") ?? 100, users: [user] });
  await load.connect();
  const r = await load.run(num(a, "rate") ?? 1000, (num(a, "seconds") ?? 10) * 1000);
  load.close();
  console.log(
    JSON.stringify({
      sent: r.sent,
      accepted: r.accepted,
      rejected: r.rejected,
      acceptedPerSecond: Math.round(r.accepted / (r.durationMs / 1000)),
      p50ms: percentile(r.latencies, 50),
      p99ms: percentile(r.latencies, 99),
    }),
  );
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const url = a.get("url") ?? "stratum+tcp://127.0.0.1:3333";
  const user = a.get("user");
  if (!user) throw new Error("--user 0xYOUR_EVM_ADDRESS[.worker] is required");
  if (a.has("load")) return runLoad(a, url, user);

  const miner = new Miner({
    url,
    user,
    password: a.get("pass"),
    versionRolling: !a.has("no-version-rolling"),
    maxHashrate: num(a, "max-hashrate"),
    suggestDifficulty: num(a, "suggest-difficulty"),
  });
  const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);
  miner.on("connected", () => log(`connected to ${url}, extranonce1 ${miner.extranonce1Hex}, version mask ${miner.versionMask.toString(16)}`));
  miner.on("difficulty", (d: string) => log(`difficulty ${d}`));
  miner.on("job", (j: { id: string; clean: boolean }) => log(`job ${j.id}${j.clean ? " (clean)" : ""}`));
  miner.on("accepted", (s: ShareResult) => log(`accepted ${s.hash} at difficulty ${s.difficulty} (${s.latencyMs} ms)`));
  miner.on("rejected", (s: ShareResult) => log(`rejected ${s.hash}: ${s.error ? `${s.error[0]} ${s.error[1]}` : "false"}`));
  miner.on("block", (s: ShareResult) => log(`BLOCK ${s.hash} ${s.accepted ? "accepted" : "rejected"}`));
  miner.on("disconnected", () => log("disconnected"));
  miner.on("protocolError", (e: Error) => log(`error: ${e.message}`));
  const timer = setInterval(
    () => log(`${(miner.hashrate / 1000).toFixed(1)} kH/s, accepted ${miner.accepted}, rejected ${miner.rejected}`),
    30_000,
  );
  const stop = async () => {
    clearInterval(timer);
    await miner.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await miner.start();
}

main().catch((err) => {
  console.error(`miner: ${(err as Error).message}`);
  process.exit(1);
});
