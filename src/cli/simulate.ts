import { btcText as btc, formatHashrate, modelFromInputs, parseHashrate, parsePeriod, SCHEMES, type Scheme, type SchemeModel } from "../simulate/model";
import type { SimulationResult } from "../simulate/montecarlo";
import { simulateInWorker } from "../simulate/worker";
import { parseFlags, required, UsageError } from "./args";
import { fetchOrExplain } from "./http";

/**
 * `pool simulate`: the distribution of a miner's income under each payout scheme (docs/schemes.md).
 * Inputs not given come from the live pool with --api (its hash rate, the network difficulty, the
 * configured fee), otherwise they are required.
 */
export async function simulateCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, {
    hashrate: { type: "string" },
    "pool-hashrate": { type: "string" },
    difficulty: { type: "string" },
    subsidy: { type: "string" },
    fees: { type: "string" },
    "fee-bps": { type: "string" },
    window: { type: "string" },
    "share-seconds": { type: "string" },
    scheme: { type: "string" },
    period: { type: "string" },
    runs: { type: "string" },
    seed: { type: "string" },
    epsilon: { type: "string" },
    api: { type: "string" },
    json: { type: "boolean" },
  });
  const live = flags.api ? await liveInputs(flags.api) : {};
  const hashrate = parseOr(() => parseHashrate(required(flags.hashrate, "hashrate"), "--hashrate"));
  const poolHashrate = flags["pool-hashrate"] !== undefined ? parseOr(() => parseHashrate(flags["pool-hashrate"]!, "--pool-hashrate")) : live.poolHashrate !== undefined ? Math.max(live.poolHashrate, 0) + hashrate : fail("--pool-hashrate: required (or --api URL of a running pool)");
  const difficulty = number(flags.difficulty ?? live.difficulty?.toString(), "--difficulty", { min: 1e-12 });
  const subsidy = number(flags.subsidy ?? "3.125", "--subsidy", { min: 0 });
  const fees = number(flags.fees ?? "0.02", "--fees", { min: 0 });
  const feeBps = number(flags["fee-bps"] ?? live.feeBps?.toString() ?? "100", "--fee-bps", { min: 0, max: 9999, integer: true });
  const windowFactor = number(flags.window ?? live.windowFactor ?? "2", "--window", { min: 1e-6 });
  const shareSeconds = number(flags["share-seconds"] ?? "10", "--share-seconds", { min: 1e-3 });
  const periodSeconds = parseOr(() => parsePeriod(flags.period ?? "30d", "--period"));
  const schemes = (flags.scheme ?? "pplns,pps,fpps,solo").split(",").map((s) => s.trim().toLowerCase());
  for (const s of schemes) if (!SCHEMES.includes(s as Scheme)) throw new UsageError(`--scheme: unknown scheme "${s}" (use ${SCHEMES.join(", ")})`);
  const runs = number(flags.runs ?? "2000", "--runs", { min: 10, max: 1_000_000, integer: true });
  const seed = number(flags.seed ?? "1", "--seed", { min: 0, max: 0xffffffff, integer: true });
  const epsilon = number(flags.epsilon ?? "0.01", "--epsilon", { min: 1e-9, max: 0.5 });
  let model: SchemeModel;
  try {
    model = modelFromInputs({ hashrate, poolHashrate, networkDifficulty: difficulty, subsidyBtc: subsidy, feesBtc: fees, feeBps, windowFactor, shareSeconds, periodSeconds });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let result: SimulationResult;
  try {
    result = await simulateInWorker(model, { schemes: schemes as Scheme[], runs, seed, epsilon });
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  if (flags.json) {
    out(JSON.stringify(result));
    return 0;
  }
  out(
    `miner ${formatHashrate(hashrate)} in a pool of ${formatHashrate(poolHashrate)}, network difficulty ${difficulty}, ` +
      `reward ${subsidy + fees} BTC/block, fee ${feeBps} bps, window ${windowFactor}×D, ${periodSeconds / 86400} days, ${runs} runs, seed ${seed}`,
  );
  const rows = result.results.map((r) => [
    r.scheme,
    btc(r.mean),
    btc(r.std),
    btc(r.p5),
    btc(r.p50),
    btc(r.p95),
    `${(r.pZero * 100).toFixed(1)} %`,
    `${btc(r.closedForm.mean)} ± ${btc(r.closedForm.std)}`,
    r.operatorReserve !== undefined ? btc(r.operatorReserve) : "",
  ]);
  const head = ["scheme", "mean BTC", "std", "p5", "p50", "p95", "P(nothing)", "closed form mean ± std", `operator reserve (1-${epsilon})`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  out(line(head));
  for (const r of rows) out(line(r));
  return 0;
}

function fail(message: string): never {
  throw new UsageError(message);
}

function parseOr<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function number(text: string | undefined, flag: string, o: { min?: number; max?: number; integer?: boolean }): number {
  if (text === undefined || text.trim() === "") throw new UsageError(`${flag}: required`);
  const v = Number(text);
  if (!Number.isFinite(v) || (o.integer && !Number.isInteger(v)) || (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) {
    throw new UsageError(`${flag}: expected ${o.integer ? "an integer" : "a number"}${o.min !== undefined ? ` >= ${o.min}` : ""}${o.max !== undefined ? ` and <= ${o.max}` : ""}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** The pool's hash rate, network difficulty, fee and window factor from its API. */
async function liveInputs(api: string): Promise<{ poolHashrate?: number; difficulty?: number; feeBps?: number; windowFactor?: string }> {
  const base = api.replace(/\/+$/, "");
  const get = async (p: string) => {
    const res = await fetchOrExplain(base + p);
    if (!res.ok) throw new Error(`${base + p} answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const [config, stats] = await Promise.all([get("/api/config"), get("/api/stats")]);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && v !== "" && Number.isFinite(Number(v)) ? Number(v) : undefined);
  const chain = (stats.chain ?? {}) as Record<string, unknown>;
  return {
    poolHashrate: num(stats.hashrate),
    difficulty: num(chain.networkDifficulty),
    feeBps: num(config.feeBps),
    windowFactor: typeof config.pplnsFactor === "string" ? config.pplnsFactor : undefined,
  };
}
