import { startPool } from "../pool";
import { ConfigError } from "../config";
import { parseFlags, UsageError } from "./args";

export const START_HELP = `pool start [--config FILE]

Runs the pool. With no configuration: the embedded default (an in-process EVM on 127.0.0.1:8545
with PayoutPool deployed, an embedded SHA256d chain, SQLite in ./data, Stratum on 127.0.0.1:3333,
the HTTP API and web page on 127.0.0.1:8080). A JSON config file and POOL_* environment variables
select a real bitcoind, EVM RPC, deployed contract and keys (see README "Operator").

  --config FILE   JSON configuration (settings as in src/config/index.ts)`;

export async function startCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, { config: { type: "string" } });
  if (flags.help) {
    out(START_HELP);
    return 0;
  }
  let pool;
  try {
    pool = await startPool({ configFile: flags.config });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
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
