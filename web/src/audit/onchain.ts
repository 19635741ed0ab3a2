import type { Hex } from "viem";
import type { PoolConfig } from "../api/types";
import { poolAbi } from "../chain/abi";
import { chainClient } from "../chain/client";
import { getContractEvents, readContract } from "viem/actions";

export interface OnChainRoot {
  /** The contract's root for the epoch, when it has one. */
  root: Hex | null;
  /** How the contract holds it: the active root, the pending one, or only in its RootProposed event (older). */
  state: "active" | "pending" | "superseded" | "revoked" | "unknown";
  validAt?: number;
  /** keccak256 of the epoch file as recorded by proposeRoot (from the RootProposed event). */
  dataHash: Hex | null;
  activeEpoch: number;
}

/** Reads what the contract holds for `epoch`: activeRoot(), pendingRoot() and the epoch's events. */
export async function readOnChainRoot(config: PoolConfig, epoch: number): Promise<OnChainRoot> {
  const client = chainClient(config);
  const address = config.contract;
  const [active, pending, proposed, revoked] = await Promise.all([
    readContract(client, { address, abi: poolAbi, functionName: "activeRoot" }),
    readContract(client, { address, abi: poolAbi, functionName: "pendingRoot" }),
    getContractEvents(client, { address, abi: poolAbi, eventName: "RootProposed", args: { epoch: BigInt(epoch) }, fromBlock: 0n }),
    getContractEvents(client, { address, abi: poolAbi, eventName: "RootRevoked", args: { epoch: BigInt(epoch) }, fromBlock: 0n }),
  ]);
  const [activeRoot, activeEpoch] = active;
  const [pendingRoot, pendingEpoch, , validAt] = pending;
  const lastProposal = proposed.at(-1)?.args;
  const dataHash = lastProposal?.dataHash ?? null;
  const base = { dataHash, activeEpoch: Number(activeEpoch) };
  if (Number(activeEpoch) === epoch) return { ...base, root: activeRoot, state: "active" };
  if (Number(pendingEpoch) === epoch && pendingRoot !== `0x${"0".repeat(64)}`) return { ...base, root: pendingRoot, state: "pending", validAt: Number(validAt) };
  if (revoked.length > 0) return { ...base, root: revoked.at(-1)!.args.root ?? null, state: "revoked" };
  if (lastProposal?.root && epoch < Number(activeEpoch)) return { ...base, root: lastProposal.root, state: "superseded" };
  return { ...base, root: null, state: "unknown" };
}
