import { createClient, custom, type Address, type Client, type CustomTransport, type EIP1193Provider } from "viem";
import { addChain, getChainId, requestAddresses, switchChain } from "viem/actions";
import type { PoolConfig } from "../api/types";
import { errorCode } from "../errors";
import { poolChain } from "./client";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export class NoWalletError extends Error {
  constructor() {
    super("No browser wallet found (no window.ethereum). Install one, or claim from the command line with `npx pool claim` (below).");
  }
}

/** The wallet is not (and could not be put) on the pool's chain; `cause` is what the wallet said. */
export class WrongChainError extends Error {
  name = "WrongChainError";
  constructor(walletChain: number, config: PoolConfig, cause?: unknown) {
    super(
      `Your wallet is on chain ${walletChain}, but the pool pays on chain ${config.chainId} (JSON-RPC ${config.rpcUrl}). Switch the wallet to chain ${config.chainId} and try again.`,
      { cause },
    );
  }
}

export interface ConnectedWallet {
  client: Client<CustomTransport>;
  account: Address;
}

/** Asks the injected wallet (EIP-1193) for its accounts. */
export async function connectWallet(): Promise<ConnectedWallet> {
  const provider = window.ethereum;
  if (!provider) throw new NoWalletError();
  const client = createClient({ transport: custom(provider) });
  const [account] = await requestAddresses(client);
  if (!account) throw new Error("The wallet returned no account.");
  return { client, account };
}

/**
 * Puts the wallet on the pool's chain: wallet_switchEthereumChain, and when the wallet does not
 * know the chain (4902), wallet_addEthereumChain with the pool's RPC URL, then switch again.
 */
export async function ensurePoolChain(wallet: ConnectedWallet, config: PoolConfig): Promise<void> {
  const before = await getChainId(wallet.client);
  if (before === config.chainId) return;
  try {
    try {
      await switchChain(wallet.client, { id: config.chainId });
    } catch (error) {
      if (errorCode(error) !== 4902) throw error;
      await addChain(wallet.client, { chain: poolChain(config) });
      await switchChain(wallet.client, { id: config.chainId });
    }
  } catch (error) {
    throw new WrongChainError(before, config, error);
  }
  const now = await getChainId(wallet.client);
  if (now !== config.chainId) throw new WrongChainError(now, config);
}
