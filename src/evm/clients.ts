import { createNonceManager, createPublicClient, createWalletClient, defineChain, http, type Chain, type Hex, type PublicClient, type WalletClient, type Account, type Transport, toHex } from "viem";
import { jsonRpc } from "viem/nonce";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";

/** A viem chain object for any EVM JSON-RPC endpoint (the chain id is read from the node). */
export async function chainFor(rpcUrl: string): Promise<Chain> {
  const probe = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) });
  const id = await probe.getChainId();
  return defineChain({
    id,
    name: id === 31337 ? "Pool EVM (local)" : `EVM ${id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export interface EvmClients {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  walletClient?: WalletClient<Transport, Chain, Account>;
  account?: Account;
}

/** Public (and, with a key, wallet) clients for one endpoint. */
export async function connectEvm(rpcUrl: string, privateKey?: Hex): Promise<EvmClients> {
  const chain = await chainFor(rpcUrl);
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 200 }) as PublicClient<Transport, Chain>;
  if (!privateKey) return { chain, publicClient };
  // One nonce manager per connection, shared by the committer and the payout service that send
  // concurrently from it. Not viem's process-wide one: that keeps nonces by address and chain id
  // across connections, so a process that meets a new chain with the same id (a restarted local
  // node, the next test's embedded EVM) would send from a stale nonce and wait forever.
  const account = privateKeyToAccount(privateKey, { nonceManager: createNonceManager({ source: jsonRpc() }) });
  const walletClient = createWalletClient({ chain, transport, account }) as WalletClient<Transport, Chain, Account>;
  return { chain, publicClient, walletClient, account };
}

/** Hardhat's well-known development mnemonic: only ever used on the embedded EVM. */
export const HARDHAT_DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of Hardhat development account #index (the embedded EVM funds these). */
export function hardhatDevKey(index: number): Hex {
  const account = mnemonicToAccount(HARDHAT_DEV_MNEMONIC, { addressIndex: index });
  return toHex(account.getHdKey().privateKey!);
}
