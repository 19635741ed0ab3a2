import fs from "node:fs";
import path from "node:path";
import { formatUnits, parseUnits } from "viem";
import { InputError, optionalString } from "./lib/env";
import { confirm, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/** Chains where a token with no value must not be deployed as a reward asset by mistake. */
const MAIN_NETWORKS = new Set([1, 10, 56, 100, 137, 250, 324, 1101, 8453, 42161, 42220, 43114, 59144, 534352]);

/**
 * Deploys TestBTC (symbol tBTC, 8 decimals, no value) for a test network: with it as POOL_TOKEN a
 * pool pays one unit per satoshi, and miners read their amounts in BTC.
 *   TOKEN_SUPPLY  whole tBTC minted to the signer (default 21000000)
 *   TOKEN_RECORD  where to write { chainId, address, symbol, decimals, ... } (default deployments/<network>-token.json)
 *   SIGNER        which configured account deploys (default the first)
 * Refused on main networks (chain ids of Ethereum, its main L2s and sidechains).
 */
export const main: ScriptMain<{ address: `0x${string}`; chainId: number; file: string }> = async (hre, env, log = () => {}) => {
  const supplyText = optionalString(env, "TOKEN_SUPPLY") ?? "21000000";
  if (!/^\d+(?:\.\d{1,8})?$/.test(supplyText)) throw new InputError(`TOKEN_SUPPLY must be whole tBTC with at most 8 decimals, got "${supplyText}"`);
  const supply = parseUnits(supplyText, 8);
  const publicClient = await hre.viem.getPublicClient();
  const chainId = await publicClient.getChainId();
  if (MAIN_NETWORKS.has(chainId)) throw new InputError(`network "${hre.network.name}" is chain ${chainId}, a main network: TestBTC has no value and is for test networks only`);
  const signer = await signerFor(hre, env);
  const file = path.resolve(optionalString(env, "TOKEN_RECORD") ?? path.join(hre.config.paths.root, "deployments", `${hre.network.name}-token.json`));
  const { contract, deploymentTransaction } = await hre.viem.sendDeploymentTransaction("TestBTC", [supply], { client: { wallet: signer } });
  const receipt = await confirm(hre, deploymentTransaction.hash);
  const record = {
    network: hre.network.name,
    chainId,
    address: contract.address,
    name: "Test BTC (no value)",
    symbol: "tBTC",
    decimals: 8,
    supply: supply.toString(),
    holder: signer.account.address,
    deployTx: deploymentTransaction.hash,
    blockNumber: Number(receipt.blockNumber),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  log(`deployed TestBTC (tBTC, 8 decimals) at ${contract.address} on ${hre.network.name} (chain ${chainId})`);
  log(`  ${formatUnits(supply, 8)} tBTC minted to ${signer.account.address}; tx ${deploymentTransaction.hash}`);
  log(`  wrote ${file}`);
  log(`  next: POOL_TOKEN=${contract.address} npx hardhat run --network ${hre.network.name} scripts/deploy.ts`);
  return { address: contract.address, chainId, file };
};

runIfMain(module, main);
