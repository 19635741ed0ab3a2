/**
 * The audit anchored to the contract: what PayoutPool recorded for each epoch, read from its
 * events (`RootProposed`, `RootRevoked`) and views, never from the operator's API. The proposal
 * that counts for an epoch is its latest one not revoked (a revoke is keyed by epoch and root).
 * fs-free (viem only): shared by `pool audit`, the watchtower and the browser audit.
 */
import type { Address, Hex, PublicClient } from "viem";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";

export interface Proposal {
  epoch: number;
  root: Hex;
  totalCumulative: bigint;
  /** keccak256 of the epoch file's bytes. */
  dataHash: Hex;
  /** Where the operator published the epoch file. */
  uri: string;
  /** Unix time from which acceptRoot may make it active. */
  validAt: number;
  revoked: boolean;
  blockNumber: bigint;
  txHash: Hex;
}

/** Every proposal of the contract, per epoch, oldest first, with its revoked flag. */
export async function readProposals(client: PublicClient, contract: Address, fromBlock = 0n): Promise<Map<number, Proposal[]>> {
  const [proposed, revoked] = await Promise.all([
    client.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootProposed", fromBlock }),
    client.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootRevoked", fromBlock }),
  ]);
  const revokedKeys = new Map<string, number>();
  for (const r of revoked) {
    const key = `${r.args.epoch}:${String(r.args.root).toLowerCase()}`;
    revokedKeys.set(key, (revokedKeys.get(key) ?? 0) + 1);
  }
  const out = new Map<number, Proposal[]>();
  for (const p of proposed) {
    const a = p.args;
    const epoch = Number(a.epoch);
    const proposal: Proposal = {
      epoch,
      root: a.root as Hex,
      totalCumulative: a.totalCumulative as bigint,
      dataHash: a.dataHash as Hex,
      uri: a.uri as string,
      validAt: Number(a.validAt),
      revoked: false,
      blockNumber: p.blockNumber as bigint,
      txHash: p.transactionHash as Hex,
    };
    const list = out.get(epoch) ?? [];
    list.push(proposal);
    out.set(epoch, list);
  }
  // A revoke applies to the latest earlier proposal of that (epoch, root).
  for (const [epoch, list] of out) {
    for (let i = list.length - 1; i >= 0; i--) {
      const key = `${epoch}:${list[i].root.toLowerCase()}`;
      const n = revokedKeys.get(key) ?? 0;
      if (n > 0) {
        list[i].revoked = true;
        revokedKeys.set(key, n - 1);
      }
    }
  }
  return out;
}

/** The proposal that counts for an epoch: its latest one not revoked. */
export function liveProposal(proposals: Map<number, Proposal[]>, epoch: number): Proposal | undefined {
  const list = proposals.get(epoch) ?? [];
  for (let i = list.length - 1; i >= 0; i--) if (!list[i].revoked) return list[i];
  return undefined;
}

/** What the contract recorded for one epoch, as the audit compares it. */
export interface RecordedRoot {
  root: Hex;
  totalCumulative: bigint;
  dataHash: Hex;
}

/** Looks an epoch up on the contract: undefined when nothing live was proposed for it. */
export type ContractLookup = (epoch: number) => Promise<RecordedRoot | undefined>;

/** A ContractLookup over the contract's events (read once). */
export async function contractLookup(client: PublicClient, contract: Address): Promise<ContractLookup> {
  const proposals = await readProposals(client, contract);
  return async (epoch) => liveProposal(proposals, epoch);
}

/**
 * Compares an epoch file (its root, total and keccak256) with what the contract recorded; `what`
 * names it in the findings ("epoch 3", "the previous epoch 2's file").
 */
export function compareWithRecorded(what: string, recorded: RecordedRoot | undefined, file: { root: Hex; totalCumulative: bigint; dataHash: Hex }, contract: string): string[] {
  if (!recorded) return [`contract: no live root (proposed and not revoked) for ${what} on ${contract}`];
  const out: string[] = [];
  if (recorded.root.toLowerCase() !== file.root.toLowerCase()) out.push(`contract: ${what}: the root on chain ${recorded.root} differs from the file's ${file.root}`);
  if (recorded.totalCumulative !== file.totalCumulative) out.push(`contract: ${what}: totalCumulative on chain ${recorded.totalCumulative} differs from the file's ${file.totalCumulative}`);
  if (recorded.dataHash.toLowerCase() !== file.dataHash.toLowerCase()) out.push(`contract: ${what}: dataHash on chain ${recorded.dataHash} differs from keccak256 of the file ${file.dataHash}`);
  return out;
}
