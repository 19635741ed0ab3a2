import { ConfigError, loadConfig } from "../config";
import { START_HELP } from "./help";
import { ensureWebPage } from "./webBuild";
import { parseFlags, UsageError } from "./args";

export async function startCommand(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  const flags = parseFlags(argv, { config: { type: "string" }, "log-format": { type: "string" }, role: { type: "string" } });
  if (flags.help) {
    out(START_HELP);
    return 0;
  }
  const overrides: Record<string, unknown> | undefined =
    flags["log-format"] !== undefined || flags.role !== undefined
      ? { ...(flags["log-format"] !== undefined ? { log: { format: flags["log-format"] } } : {}), ...(flags.role !== undefined ? { role: flags.role } : {}) }
      : undefined;
  try {
    loadConfig({ file: flags.config, overrides }); // fail fast, before loading the pool's heavy modules
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const web = ensureWebPage();
  if (web.built) out(`built the web page into ${web.dir}`);
  if (web.problem) err(`pool start: ${web.problem}; the API runs without the page`);
  const { startPool } = require("../pool") as typeof import("../pool");
  let pool: Awaited<ReturnType<typeof startPool>>;
  try {
    pool = await startPool({ configFile: flags.config, overrides });
  } catch (e) {
    // A setting whose external part failed its check at start: one line naming it, no stack trace.
    if (e instanceof ConfigError) {
      err(`pool start: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const { asset } = pool;
  out("");
  out(`  Role:      ${pool.config.role}${pool.leadership ? " (committer and payouts when elected; standing by meanwhile)" : ""}`);
  if (pool.stratum) out(`  Stratum:   ${pool.stratumUrl}`);
  out(`  Web + API: ${pool.apiUrl}`);
  out(`  EVM RPC:   ${pool.rpcUrl} (chain id ${pool.chainId})`);
  out(`  Contract:  ${pool.contract}`);
  out(`  Pays in:   ${asset.symbol} (${asset.decimals} decimals, ${asset.token ?? "the native coin"}; ${asset.unitsPerSatoshi} unit per satoshi)`);
  out("");
  if (pool.stratum) {
    out("  Point a miner at it, with YOUR OWN EVM payout address as the username (one whose key only you hold):");
    out(`    cpuminer -a sha256d -o ${pool.stratumUrl} -u 0xYOUR_ADDRESS.rig1 -p x`);
    out(`    npx ts-node --transpile-only src/miner/cli.ts --url ${pool.stratumUrl} --user 0xYOUR_ADDRESS.rig1`);
    out("");
  }
  await new Promise<void>((resolve) => {
    const shutdown = () => resolve();
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });
  out("shutting down…");
  await pool.stop();
  return 0;
}
