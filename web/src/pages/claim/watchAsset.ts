import type { PoolConfig } from "../../api/types";
import type { ConnectedWallet } from "../../chain/wallet";

/**
 * Asks the wallet to show the pool's ERC-20 asset (EIP-747 `wallet_watchAsset`), so that a miner
 * sees the claimed tokens in it. Resolves with the wallet's answer (true = added). Not for the
 * native coin (a wallet always shows it).
 */
export async function watchAsset(wallet: ConnectedWallet, config: PoolConfig): Promise<boolean> {
  if (/^0x0{40}$/i.test(config.token)) throw new Error("The pool pays in the chain's native coin: your wallet shows it already.");
  const added = await wallet.client.request({
    method: "wallet_watchAsset",
    params: { type: "ERC20", options: { address: config.token, symbol: config.assetSymbol.slice(0, 11), decimals: config.assetDecimals } },
  } as never);
  return added === true;
}
