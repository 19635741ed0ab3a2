import { getAddress, type Address, type Hex } from "viem";
import type { EvmClients } from "../evm/clients";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";

/** One payment the contract made to an account, as its events record it. */
export interface ClaimRecord {
  txHash: Hex;
  blockNumber: number;
  /** Block time, unix ms. */
  time: number;
  /** Who sent the transaction (the miner, a relayer, the pool's automatic payouts). */
  sender: Address;
  /** Units paid by this transaction, and the cumulative amount claimed after it. */
  amount: string;
  cumulative: string;
  /** `claim` (Claimed event) or `claimMany` (ClaimedMany, the pool's automatic payouts or any batch). */
  via: "claim" | "claimMany";
}

/**
 * Every payment of the contract by account, read from its Claimed and ClaimedMany events, so that
 * a miner's history shows the claims sent from a browser wallet or the CLI as well as the pool's
 * automatic payouts. Incremental: each refresh reads only the blocks since the last one, in ranges
 * of at most `maxRange` blocks (public RPCs limit eth_getLogs ranges).
 */
export class ClaimsIndex {
  private next: bigint;
  private readonly byAccount = new Map<string, ClaimRecord[]>();
  private refreshing?: Promise<void>;

  constructor(
    private readonly evm: EvmClients,
    private readonly contract: Address,
    fromBlock: bigint,
    private readonly maxRange = 10_000n,
  ) {
    this.next = fromBlock;
  }

  /** Payments to `address`, oldest first. */
  async claimsOf(address: string): Promise<ClaimRecord[]> {
    await this.refresh();
    return this.byAccount.get(address.toLowerCase()) ?? [];
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.scan().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async scan(): Promise<void> {
    const pc = this.evm.publicClient;
    const latest = await pc.getBlockNumber({ cacheTime: 0 });
    while (this.next <= latest) {
      const toBlock = this.next + this.maxRange - 1n < latest ? this.next + this.maxRange - 1n : latest;
      const range = { address: this.contract, abi: payoutPoolAbi, fromBlock: this.next, toBlock } as const;
      const [single, many] = await Promise.all([
        pc.getContractEvents({ ...range, eventName: "Claimed" }),
        pc.getContractEvents({ ...range, eventName: "ClaimedMany" }),
      ]);
      const found: Array<{ account: string; log: (typeof single)[number] | (typeof many)[number]; amount: bigint; cumulative: bigint; via: ClaimRecord["via"] }> = [];
      for (const log of single) found.push({ account: log.args.account!, log, amount: log.args.amount!, cumulative: log.args.cumulativeAmount!, via: "claim" });
      for (const log of many) for (const p of log.args.payments ?? []) found.push({ account: p.account, log, amount: p.amount, cumulative: p.cumulativeAmount, via: "claimMany" });
      const blocks = new Map<bigint, number>();
      const senders = new Map<string, Address>();
      for (const f of found) {
        const { blockNumber, transactionHash } = f.log;
        if (!blocks.has(blockNumber!)) blocks.set(blockNumber!, Number((await pc.getBlock({ blockNumber: blockNumber! })).timestamp) * 1000);
        if (!senders.has(transactionHash!)) senders.set(transactionHash!, getAddress((await pc.getTransaction({ hash: transactionHash! })).from));
      }
      found.sort((a, b) => Number(a.log.blockNumber! - b.log.blockNumber!) || a.log.logIndex! - b.log.logIndex!);
      for (const f of found) {
        const key = f.account.toLowerCase();
        const list = this.byAccount.get(key) ?? [];
        list.push({
          txHash: f.log.transactionHash!,
          blockNumber: Number(f.log.blockNumber),
          time: blocks.get(f.log.blockNumber!)!,
          sender: senders.get(f.log.transactionHash!)!,
          amount: f.amount.toString(),
          cumulative: f.cumulative.toString(),
          via: f.via,
        });
        this.byAccount.set(key, list);
      }
      this.next = toBlock + 1n;
    }
  }
}
