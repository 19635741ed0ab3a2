import { BitcoindSource, type BitcoindSourceOptions } from "./bitcoind";
import { EmbeddedChain, type EmbeddedChainOptions } from "./embedded";
import type { ChainLogger } from "./logger";
import type { TemplateSource } from "./types";

export * from "./types";
export * from "./logger";
export { EmbeddedChain, type EmbeddedChainOptions, type EmbeddedBlock } from "./embedded";
export { BitcoindSource, mapBlockTemplate, type BitcoindSourceOptions } from "./bitcoind";
export { BitcoindRpc, RpcAuthError, RpcError, RpcTransportError } from "./rpc";
export { syntheticTransaction, syntheticTransactions } from "./synthetic";

export interface TemplateSourceConfig {
  /** When set (http://host:port), templates come from that node; otherwise the embedded chain. */
  bitcoind?: Omit<BitcoindSourceOptions, "logger"> | null;
  embedded?: Omit<EmbeddedChainOptions, "logger">;
  logger?: ChainLogger;
}

/** bitcoind when configured with a url, else the embedded local chain (the default). */
export function createTemplateSource(config: TemplateSourceConfig = {}): TemplateSource {
  if (config.bitcoind && config.bitcoind.url) {
    return new BitcoindSource({ ...config.bitcoind, logger: config.logger });
  }
  return new EmbeddedChain({ ...config.embedded, logger: config.logger });
}
