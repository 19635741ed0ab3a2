import fs from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Abi, Address, Hex } from "viem";
import { InputError, parseAddress, type Env } from "./env";

/**
 * What deploy writes to deployments/<network>.json and every other script reads; like
 * hardhat-deploy's and Ignition's records it carries the contract's ABI, so that a wallet, an
 * indexer or `pool start` (evm.deployment) needs nothing else.
 */
export interface Deployment {
  network: string;
  chainId: number;
  address: Address;
  /** The reward token, or null for the native coin. */
  token: Address | null;
  admin: Address;
  operator: Address;
  guardian: Address;
  challengeWindow: number;
  maxPause: number;
  deployTx: Hex;
  blockNumber: number;
  deployedAt: string;
  /** PayoutPool's ABI as compiled (artifacts/contracts/PayoutPool.sol/PayoutPool.json). */
  abi: Abi;
}

/** DEPLOYMENT if set, else deployments/<network>.json under the project root. */
export function deploymentPath(hre: HardhatRuntimeEnvironment, env: Env): string {
  const override = env.DEPLOYMENT?.trim();
  if (override) return path.resolve(override);
  return path.join(hre.config.paths.root, "deployments", `${hre.network.name}.json`);
}

export function saveDeployment(file: string, deployment: Deployment): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(deployment, null, 2) + "\n");
}

export async function loadDeployment(hre: HardhatRuntimeEnvironment, env: Env): Promise<Deployment> {
  const file = deploymentPath(hre, env);
  let parsed: any;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err: any) {
    const reason = err?.code === "ENOENT" ? "no such file (run scripts/deploy.ts first, or set DEPLOYMENT)" : err.message;
    throw new InputError(`DEPLOYMENT: cannot read ${file}: ${reason}`);
  }
  if (typeof parsed !== "object" || parsed === null || typeof parsed.address !== "string") {
    throw new InputError(`DEPLOYMENT: ${file} is not a deployment record (no "address")`);
  }
  const deployment = { ...parsed, address: parseAddress(`DEPLOYMENT ${file} "address"`, parsed.address) } as Deployment;
  const chainId = await (await hre.viem.getPublicClient()).getChainId();
  if (typeof parsed.chainId === "number" && parsed.chainId !== chainId) {
    throw new InputError(`DEPLOYMENT: ${file} is for chain ${parsed.chainId}, but network "${hre.network.name}" is chain ${chainId}`);
  }
  const code = await (await hre.viem.getPublicClient()).getCode({ address: deployment.address });
  if (!code || code === "0x") {
    throw new InputError(`DEPLOYMENT: no contract at ${deployment.address} on network "${hre.network.name}" (stale ${file}?)`);
  }
  return deployment;
}
