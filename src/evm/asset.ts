import { formatUnits, parseUnits, zeroAddress, type Address, type PublicClient } from "viem";
import { ConfigError } from "../config";
import { erc20Abi } from "./payoutPoolAbi";

/**
 * What a PayoutPool pays in: its token (null = the chain's native coin), symbol and decimals,
 * read from the chain (ERC-20 `symbol()` / `decimals()`; the native coin has 18 decimals and the
 * chain's currency symbol).
 */
export interface AssetInfo {
  token: Address | null;
  symbol: string;
  decimals: number;
  /** Smallest units of the asset paid per satoshi of block reward (see unitsFor). */
  unitsPerSatoshi: string;
}

/** Satoshis per bitcoin: a BTC-pegged asset with 8 decimals maps 1:1. */
export const SATOSHI_DECIMALS = 8;

/**
 * Reads the asset behind `token` (zero address = native). Throws ConfigError naming `setting`
 * when the address holds no contract or the contract does not answer `decimals()` as an ERC-20.
 */
export async function readAsset(client: PublicClient, token: Address, setting: string, nativeSymbol: string): Promise<Omit<AssetInfo, "unitsPerSatoshi">> {
  if (token === zeroAddress) return { token: null, symbol: nativeSymbol, decimals: 18 };
  const code = await client.getCode({ address: token });
  if (!code || code === "0x") throw new ConfigError(setting, `the reward token ${token} has no contract code on chain ${await client.getChainId()}`);
  let decimals: number;
  let symbol: string;
  try {
    [decimals, symbol] = await Promise.all([
      client.readContract({ address: token, abi: erc20Abi, functionName: "decimals" }),
      client.readContract({ address: token, abi: erc20Abi, functionName: "symbol" }),
    ]);
  } catch {
    throw new ConfigError(setting, `the reward token ${token} does not answer decimals() and symbol() as an ERC-20`);
  }
  return { token, symbol, decimals: Number(decimals) };
}

/**
 * The satoshi → asset mapping (docs/accounting.md, "Units"): a block reward of S satoshis is paid
 * as S × unitsPerSatoshi of the asset's smallest unit, written into every epoch file.
 * - `configured` set: it must be exactly 10^(decimals − 8) (1 for an 8-decimal BTC-pegged token,
 *   10^10 for an 18-decimal coin). Errors name evm.unitsPerSatoshi.
 * - an asset with fewer than 8 decimals is refused either way.
 * - absent: 1 (one smallest unit per satoshi), and `warning` says what a block is worth in the
 *   asset when decimals ≠ 8.
 */
export function unitsFor(asset: { symbol: string; decimals: number }, configured: bigint | undefined): { unitsPerSatoshi: bigint; warning?: string } {
  const exact = asset.decimals >= SATOSHI_DECIMALS ? 10n ** BigInt(asset.decimals - SATOSHI_DECIMALS) : undefined;
  if (exact === undefined) {
    throw new ConfigError("evm.unitsPerSatoshi", `the asset ${asset.symbol} has ${asset.decimals} decimals: fewer than a satoshi's 8, so satoshi amounts cannot be paid exactly (pay in an asset with 8 or more decimals)`);
  }
  if (configured !== undefined) {
    if (configured !== exact) {
      throw new ConfigError("evm.unitsPerSatoshi", `is ${configured}, but ${asset.symbol} has ${asset.decimals} decimals: one satoshi is ${exact} of its smallest units`);
    }
    return { unitsPerSatoshi: exact };
  }
  if (asset.decimals === SATOSHI_DECIMALS) return { unitsPerSatoshi: 1n };
  return {
    unitsPerSatoshi: 1n,
    warning: `the reward asset ${asset.symbol} has ${asset.decimals} decimals: each satoshi of block reward is paid as 1 of its smallest units (a 50 BTC block = ${formatUnits(5_000_000_000n, asset.decimals)} ${asset.symbol}); set evm.unitsPerSatoshi to ${exact} to pay a satoshi's worth, or pay in an 8-decimal token`,
  };
}

/** A whole-unit decimal setting ("0.01") in the asset's smallest unit; too many decimals name the setting. */
export function toUnits(setting: string, text: string, decimals: number): bigint {
  const fraction = text.split(".")[1] ?? "";
  if (fraction.replace(/0+$/, "").length > decimals) throw new ConfigError(setting, `${text} has more decimals than the asset's ${decimals}`);
  return parseUnits(text.startsWith(".") ? `0${text}` : text, decimals);
}
