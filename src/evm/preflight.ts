import { formatEther, keccak256, parseAbi, toBytes, type Address, type PublicClient } from "viem";
import { ConfigError } from "../config";
import { errorText } from "../log";
import { connectEvm, type EvmClients } from "./clients";
import { payoutPoolAbi } from "./payoutPoolAbi";

/** PayoutPool's role check (OpenZeppelin AccessControl). */
const accessControlAbi = parseAbi(["function hasRole(bytes32 role, address account) view returns (bool)"]);
export const OPERATOR_ROLE = keccak256(toBytes("OPERATOR_ROLE"));

/**
 * Connects to the EVM node; an unreachable or non-EVM endpoint becomes a ConfigError naming
 * `setting` (instead of viem's bare "HTTP request failed.").
 */
export async function connectChecked(rpcUrl: string, key: `0x${string}` | undefined, setting = "evm.rpcUrl"): Promise<EvmClients> {
  try {
    return await connectEvm(rpcUrl, key);
  } catch (err) {
    throw new ConfigError(setting, `no EVM node answers eth_chainId at ${rpcUrl}: ${errorText(err)}`);
  }
}

/** What the pool reads from its contract at start (the chain's values, never the configuration's). */
export interface PayoutPoolFacts {
  token: Address;
  challengeWindow: number;
  maxPause: number;
}

/**
 * Checks that `contract` is a PayoutPool: it has code and answers token(), challengeWindow() and
 * maxPause(). A wrong address fails here, naming `setting`, instead of at the first proposal.
 */
export async function checkPayoutPool(client: PublicClient, contract: Address, setting = "evm.contract"): Promise<PayoutPoolFacts> {
  const chainId = await client.getChainId();
  const code = await client.getCode({ address: contract });
  let facts: PayoutPoolFacts;
  if (!code || code === "0x") throw new ConfigError(setting, `no contract at ${contract} on chain ${chainId} (wrong address, or wrong evm.rpcUrl?)`);
  try {
    const [token, challengeWindow, maxPause] = await Promise.all([
      client.readContract({ address: contract, abi: payoutPoolAbi, functionName: "token" }),
      client.readContract({ address: contract, abi: payoutPoolAbi, functionName: "challengeWindow" }),
      client.readContract({ address: contract, abi: payoutPoolAbi, functionName: "maxPause" }),
      client.readContract({ address: contract, abi: payoutPoolAbi, functionName: "acceptableAt" }),
    ]);
    facts = { token, challengeWindow: Number(challengeWindow), maxPause: Number(maxPause) };
  } catch {
    throw new ConfigError(setting, `the contract at ${contract} on chain ${chainId} is not a PayoutPool (it does not answer token(), challengeWindow(), maxPause())`);
  }
  if (!LOCAL_CHAIN_IDS.has(chainId) && facts.challengeWindow < SAFE_MIN_CHALLENGE_WINDOW) {
    throw new ConfigError(
      setting,
      `the contract at ${contract} on chain ${chainId} has a challenge window of ${facts.challengeWindow} s, below the safe minimum of ${SAFE_MIN_CHALLENGE_WINDOW} s: miners, auditors and the guardian need that long to act on a bad root (only local development chains ${[...LOCAL_CHAIN_IDS].join(", ")} accept less); deploy one with a longer window`,
    );
  }
  return facts;
}

/**
 * The shortest challenge window the pool (and scripts/deploy.ts) accepts on a chain that is not a
 * local development chain: one hour, the time an auditor gets to recompute a root and a guardian to
 * revoke it, and every miner to leave under the previous root.
 */
export const SAFE_MIN_CHALLENGE_WINDOW = 3600;

/** Chain ids of local development chains (Hardhat, Ganache/anvil's default), where any window goes. */
export const LOCAL_CHAIN_IDS: ReadonlySet<number> = new Set([31337, 1337]);

/**
 * Checks the operator key: it must hold OPERATOR_ROLE on the contract (else every proposeRoot
 * reverts) and some native coin for gas. Returns the balance (wei) for the low-balance warning.
 */
export async function checkOperator(client: PublicClient, contract: Address, operator: Address, setting = "evm.operatorKey"): Promise<bigint> {
  const isOperator = await client.readContract({ address: contract, abi: accessControlAbi, functionName: "hasRole", args: [OPERATOR_ROLE, operator] });
  if (!isOperator) throw new ConfigError(setting, `its address ${operator} does not hold OPERATOR_ROLE on ${contract}: it could propose no root (grant it with the admin key, or use the operator's key)`);
  const balance = await client.getBalance({ address: operator });
  if (balance === 0n) throw new ConfigError(setting, `its address ${operator} has no native coin on chain ${await client.getChainId()} to pay gas with (balance ${formatEther(balance)})`);
  return balance;
}
