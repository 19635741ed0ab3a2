import { getAddress, type Address, type Hex, type TransactionReceipt } from "viem";
import { readContract, waitForTransactionReceipt, writeContract } from "viem/actions";
import type { ClaimProof, PoolConfig } from "../api/types";
import { poolAbi } from "./abi";
import { assetBalance, chainClient, poolChain } from "./client";
import type { ConnectedWallet } from "./wallet";

export interface ClaimState {
  account: Address;
  cumulative: bigint;
  proof: Hex[];
  /** Already paid out to the account (claimed(account) on chain). */
  claimed: bigint;
  /** What claim() would pay now: 0 when nothing is owed or the proof is not for the active root. */
  claimable: bigint;
  balance: bigint;
}

/** Reads, from the chain itself, what the API's proof would pay the account now. */
export async function readClaimState(config: PoolConfig, proof: ClaimProof): Promise<ClaimState> {
  const account = getAddress(proof.account);
  const cumulative = BigInt(proof.cumulative);
  const client = chainClient(config);
  const [claimed, claimable, balance] = await Promise.all([
    readContract(client, { address: config.contract, abi: poolAbi, functionName: "claimed", args: [account] }),
    readContract(client, { address: config.contract, abi: poolAbi, functionName: "claimable", args: [account, cumulative, proof.proof] }),
    assetBalance(config, account),
  ]);
  return { account, cumulative, proof: proof.proof, claimed, claimable, balance };
}

/** Sends claim(account, cumulative, proof) from the wallet's account; the funds go to `account`. */
export function sendClaim(wallet: ConnectedWallet, config: PoolConfig, state: ClaimState): Promise<Hex> {
  return writeContract(wallet.client, {
    account: wallet.account,
    chain: poolChain(config),
    address: config.contract,
    abi: poolAbi,
    functionName: "claim",
    args: [state.account, state.cumulative, state.proof],
  });
}

export function waitForReceipt(config: PoolConfig, hash: Hex): Promise<TransactionReceipt> {
  return waitForTransactionReceipt(chainClient(config), { hash, timeout: 120_000 });
}
