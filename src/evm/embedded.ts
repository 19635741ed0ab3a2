import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";

export interface EmbeddedEvm {
  /** JSON-RPC URL of the in-process EVM (Hardhat network, chain id 31337). */
  rpcUrl: string;
  chainId: number;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the in-process Hardhat network as a real JSON-RPC endpoint, so that the aggregator, the
 * claim CLI, browser wallets and any viem client reach it exactly as they would reach a real node.
 * Needs the project's hardhat.config.ts (the process must run from the project root).
 */
export async function startEmbeddedEvm(opts: { host?: string; port?: number } = {}): Promise<EmbeddedEvm> {
  const hre: HardhatRuntimeEnvironment = require("hardhat");
  const host = opts.host ?? "127.0.0.1";
  const server = await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: host,
    port: opts.port ?? 8545,
    provider: hre.network.provider,
  });
  const { port } = await server.listen();
  const chainId = Number(await hre.network.provider.request({ method: "eth_chainId" }));
  return {
    rpcUrl: `http://${host}:${port}`,
    chainId,
    port,
    close: () => server.close(),
  };
}
