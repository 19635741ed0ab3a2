import { getAddress, type Address } from "viem";
import { InputError, optionalAddress, optionalUint, parseAddress, requireString, requireUint } from "./lib/env";
import { deploymentPath, saveDeployment, type Deployment } from "./lib/deployment";
import { assetInfo, confirm, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";
import { LOCAL_DEFAULT_CHALLENGE_WINDOW, SAFE_MIN_CHALLENGE_WINDOW, checkChallengeWindow } from "./lib/window";
import fs from "node:fs";

const MAX_PAUSE_CAP = 14n * 24n * 3600n;
const UINT64_MAX = (1n << 64n) - 1n;
const LOCAL_NETWORKS = new Set(["hardhat", "localhost"]);

/**
 * Deploys PayoutPool and writes its deployment record (chain id, address, block, roles, token,
 * window, max pause, transaction and the compiled ABI).
 *   POOL_TOKEN        reward token address, or "native" for the chain's coin (required)
 *   POOL_ADMIN        admin (roles, surplus); POOL_OPERATOR proposes roots; POOL_GUARDIAN revokes and
 *                     pauses. Default to the signer on hardhat/localhost, required elsewhere.
 *   CHALLENGE_WINDOW  seconds a root stays pending, with claims open (1 to 2592000 = 30 days; at least
 *                     3600 on any chain but a local development chain, chain id 31337 or 1337;
 *                     default 60 on hardhat/localhost, required elsewhere)
 *   MAX_PAUSE         longest pause in seconds, at most 1209600 = 14 days (default 86400 locally)
 *   DEPLOYMENT        where to write the record (default deployments/<network>.json)
 *   DEPLOY_OVERWRITE  set to 1 to replace an existing record (always allowed on the in-process network)
 *   SIGNER            which configured account deploys (default the first)
 */
export const main: ScriptMain<Deployment> = async (hre, env, log = () => {}) => {
  const local = LOCAL_NETWORKS.has(hre.network.name);
  const tokenRaw = requireString(env, "POOL_TOKEN", 'the reward token address, or "native"');
  const token: Address | null = tokenRaw.toLowerCase() === "native" ? null : parseAddress("POOL_TOKEN", tokenRaw);
  const signer = await signerFor(hre, env);
  const me = getAddress(signer.account.address);
  const role = (name: string): Address => {
    const address = optionalAddress(env, name);
    if (address) return address;
    if (local) return me;
    throw new InputError(`${name} is required on network "${hre.network.name}" (it defaults to the signer only on hardhat/localhost)`);
  };
  const admin = role("POOL_ADMIN");
  const operator = role("POOL_OPERATOR");
  const guardian = role("POOL_GUARDIAN");
  const rawWindow = local
    ? optionalUint(env, "CHALLENGE_WINDOW", LOCAL_DEFAULT_CHALLENGE_WINDOW, UINT64_MAX)
    : requireUint(env, "CHALLENGE_WINDOW", `seconds a proposed root stays pending (at least ${SAFE_MIN_CHALLENGE_WINDOW})`, UINT64_MAX);
  const challengeWindow = checkChallengeWindow(rawWindow, await (await hre.viem.getPublicClient()).getChainId());
  const maxPause = local
    ? optionalUint(env, "MAX_PAUSE", 86_400n, MAX_PAUSE_CAP)
    : requireUint(env, "MAX_PAUSE", "longest pause in seconds (at most 14 days)", MAX_PAUSE_CAP);

  const publicClient = await hre.viem.getPublicClient();
  if (token) {
    const code = await publicClient.getCode({ address: token });
    if (!code || code === "0x") throw new InputError(`POOL_TOKEN ${token} has no contract code on network "${hre.network.name}"`);
  }
  const file = deploymentPath(hre, env);
  if (fs.existsSync(file) && hre.network.name !== "hardhat" && env.DEPLOY_OVERWRITE !== "1") {
    throw new InputError(`DEPLOYMENT ${file} already exists; set DEPLOY_OVERWRITE=1 to replace it, or DEPLOYMENT to another path`);
  }

  const { contract, deploymentTransaction } = await hre.viem.sendDeploymentTransaction(
    "PayoutPool",
    [token ?? "0x0000000000000000000000000000000000000000", admin, operator, guardian, challengeWindow, maxPause],
    { client: { wallet: signer } },
  );
  const receipt = await confirm(hre, deploymentTransaction.hash);
  const asset = await assetInfo(hre, token ?? "0x0000000000000000000000000000000000000000");
  const deployment: Deployment = {
    network: hre.network.name,
    chainId: await publicClient.getChainId(),
    address: contract.address,
    token,
    admin,
    operator,
    guardian,
    challengeWindow: Number(challengeWindow),
    maxPause: Number(maxPause),
    deployTx: deploymentTransaction.hash,
    blockNumber: Number(receipt.blockNumber),
    deployedAt: new Date().toISOString(),
    abi: (await hre.artifacts.readArtifact("PayoutPool")).abi as Deployment["abi"],
  };
  saveDeployment(file, deployment);
  log(`deployed PayoutPool at ${contract.address} on ${hre.network.name} (chain ${deployment.chainId})`);
  log(`  tx ${deploymentTransaction.hash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
  log(`  asset ${token ? `ERC-20 ${asset.symbol} ${token}` : "native coin"}`);
  log(`  admin ${admin}  operator ${operator}  guardian ${guardian}`);
  log(`  challenge window ${challengeWindow} s, max pause ${maxPause} s`);
  log(`  wrote ${file}`);
  return deployment;
};

runIfMain(module, main);
