/**
 * `pool watch`: runs a watchtower (src/watch/watchtower.ts) against a PayoutPool contract, with no
 * access to the pool's machine: it reads the contract, fetches the files from the uri on chain,
 * audits every proposed root and, holding the guardian key, revokes a bad one inside the window.
 */
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { getAddress, isAddress, isHex, type Hex } from "viem";
import { connectEvm } from "../evm/clients";
import { WatchMetrics } from "../watch/metrics";
import { Watchtower } from "../watch/watchtower";
import { parseFlags, required, UsageError } from "./args";
import { WATCH_HELP } from "./help";

export async function watchCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, {
    rpc: { type: "string" },
    contract: { type: "string" },
    bitcoind: { type: "string" },
    "bitcoind-user": { type: "string" },
    "bitcoind-password-env": { type: "string" },
    "bitcoind-cookie": { type: "string" },
    headers: { type: "string" },
    "payout-script": { type: "string" },
    "guardian-key-env": { type: "string" },
    "metrics-port": { type: "string" },
    webhook: { type: "string" },
    "poll-seconds": { type: "string" },
    "work-dir": { type: "string" },
  });
  if (flags.help) {
    out(WATCH_HELP);
    return 0;
  }
  const rpc = required(flags.rpc, "rpc");
  const contractText = required(flags.contract, "contract");
  if (!isAddress(contractText, { strict: false })) throw new UsageError(`--contract: not a valid address: ${contractText}`);
  let key: Hex | undefined;
  if (flags["guardian-key-env"]) {
    const v = process.env[flags["guardian-key-env"]];
    if (!v || !isHex(v) || v.length !== 66) throw new UsageError(`--guardian-key-env: ${flags["guardian-key-env"]} must hold a 32-byte 0x private key`);
    key = v as Hex;
  }
  const metricsPort = flags["metrics-port"] === undefined ? undefined : Number(flags["metrics-port"]);
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536)) throw new UsageError("--metrics-port: must be a port number");
  const pollSeconds = flags["poll-seconds"] === undefined ? 5 : Number(flags["poll-seconds"]);
  if (!(pollSeconds > 0)) throw new UsageError("--poll-seconds: must be > 0");
  let password: string | undefined;
  if (flags["bitcoind-password-env"]) {
    password = process.env[flags["bitcoind-password-env"]];
    if (password === undefined) throw new UsageError(`--bitcoind-password-env: ${flags["bitcoind-password-env"]} is not set`);
  }
  const logger = pino({ name: "watch" });
  const evm = await connectEvm(rpc, key);
  const metrics = new WatchMetrics();
  const tower = new Watchtower({
    publicClient: evm.publicClient,
    guardian: evm.walletClient,
    contract: getAddress(contractText),
    bitcoind: flags.bitcoind ? { url: flags.bitcoind, user: flags["bitcoind-user"], password, cookieFile: flags["bitcoind-cookie"] } : undefined,
    headers: flags.headers,
    payoutScript: flags["payout-script"],
    workDir: flags["work-dir"] ?? path.join(os.tmpdir(), `pool-watch-${process.pid}`),
    pollMs: pollSeconds * 1000,
    webhookUrl: flags.webhook,
    metrics,
    logger,
  });
  const served = metricsPort !== undefined ? await metrics.serve(metricsPort) : undefined;
  logger.info({ contract: contractText, guardian: evm.account?.address ?? null, metricsPort: served?.port ?? null }, "watchtower started");
  tower.start();
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await tower.stop();
  await served?.close();
  return 0;
}
