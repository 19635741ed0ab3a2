import { createClient, defineChain, http, zeroAddress, type Address, type Chain, type Client, type HttpTransport } from "viem";
import { getBalance, readContract } from "viem/actions";
import type { PoolConfig } from "../api/types";
import { erc20Abi } from "./abi";

/** The payout chain as viem (and a wallet's wallet_addEthereumChain) describes it. */
export function poolChain(config: PoolConfig): Chain {
  return defineChain({
    id: config.chainId,
    name: config.chainId === 31337 ? "Pool EVM (local)" : `Pool chain ${config.chainId}`,
    nativeCurrency: { name: "Ether", symbol: config.token === zeroAddress ? config.assetSymbol : "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
}

export type ChainClient = Client<HttpTransport, Chain>;
const clients = new Map<string, ChainClient>();

/**
 * Reads go straight to the pool's node (config.rpcUrl), never through the wallet. A bare client
 * with tree-shaken actions (viem/actions) rather than createPublicClient keeps the bundle small.
 */
export function chainClient(config: PoolConfig): ChainClient {
  const key = `${config.chainId}@${config.rpcUrl}`;
  let client = clients.get(key);
  if (!client) {
    client = createClient({ chain: poolChain(config), transport: http(config.rpcUrl, { retryCount: 1, timeout: 10_000 }), pollingInterval: 500 });
    clients.set(key, client);
  }
  return client;
}

/** The account's balance of the reward asset: eth_getBalance for the native coin, else balanceOf. */
export function assetBalance(config: PoolConfig, account: Address): Promise<bigint> {
  const client = chainClient(config);
  if (config.token === zeroAddress) return getBalance(client, { address: account });
  return readContract(client, { address: config.token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
}
