import { ConfigError, loadConfig } from "../config";
import { START_HELP } from "./help";
import { parseFlags, UsageError } from "./args";

export async function startCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, { config: { type: "string" } });
  if (flags.help) {
    out(START_HELP);
    return 0;
  }
  try {
    loadConfig({ file: flags.config }); // fail fast, before loading the pool's heavy modules
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const { startPool } = require("../pool") as typeof import("../pool");
  const pool = await startPool({ configFile: flags.config });
  out("");
  out(`  Stratum:   ${pool.stratumUrl}`);
  out(`  Web + API: ${pool.apiUrl}`);
  out(`  EVM RPC:   ${pool.rpcUrl} (chain id ${pool.chainId})`);
  out(`  Contract:  ${pool.contract}`);
  out("");
  out("  Point a miner at it, with your EVM payout address as the username:");
  out(`    cpuminer -a sha256d -o ${pool.stratumUrl} -u 0xYOUR_ADDRESS.rig1 -p x`);
  out(`    npx ts-node --transpile-only src/miner/cli.ts --url ${pool.stratumUrl} --user 0x70997970C51812dc3A010C7d01b50e0d17dc79C8.rig1`);
  out("");
  await new Promise<void>((resolve) => {
    const shutdown = () => resolve();
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });
  out("shutting down…");
  await pool.stop();
  return 0;
}
