/**
 * The proof-of-work chain read from the auditor's own bitcoind (`--bitcoind URL`, with user and
 * password, credentials in the URL, or a cookie file), through the JSON-RPC client of
 * src/chain/rpc.ts (read-only use): `getblockheader` (height, bits, time, mediantime, and
 * confirmations = -1 for a block off the main chain) and `getblockhash`. Answers are cached: an
 * epoch's shares sit on a few hundred distinct previous blocks at most.
 */
import { BitcoindRpc, RpcError, type RpcOptions } from "../chain/rpc";
import type { ChainBlockInfo, ChainSpec, PowChainView } from "./powchain";
import { BITCOIN_SUBSIDY, REGTEST_SUBSIDY, type SubsidySchedule } from "../schemes/credit";

interface BlockHeaderVerbose {
  hash: string;
  confirmations: number;
  height: number;
  time: number;
  mediantime: number;
  bits: string;
}

/** bitcoind's "Block not found" / "Block height out of range" (RPC_INVALID_ADDRESS_OR_KEY, RPC_INVALID_PARAMETER). */
const NOT_FOUND = new Set([-5, -8]);

export class BitcoindHeaderChain implements PowChainView {
  readonly source: string;
  private readonly rpc: BitcoindRpc;
  private readonly byHash = new Map<string, Promise<ChainBlockInfo | undefined>>();
  private readonly byHeight = new Map<number, Promise<ChainBlockInfo | undefined>>();
  private readonly fees = new Map<number, Promise<bigint | undefined>>();

  constructor(private readonly options: RpcOptions) {
    this.rpc = new BitcoindRpc(options);
    this.source = `bitcoind ${this.rpc.endpoint}`;
  }

  workerSpec(): ChainSpec {
    return { kind: "bitcoind", rpc: { ...this.options } };
  }

  block(hash: string): Promise<ChainBlockInfo | undefined> {
    const key = hash.toLowerCase();
    let p = this.byHash.get(key);
    if (!p) {
      p = this.header(key);
      this.byHash.set(key, p);
    }
    return p;
  }

  atHeight(height: number): Promise<ChainBlockInfo | undefined> {
    let p = this.byHeight.get(height);
    if (!p) {
      p = (async () => {
        let hash: string;
        try {
          hash = await this.rpc.call<string>("getblockhash", [height]);
        } catch (err) {
          if (err instanceof RpcError && NOT_FOUND.has(err.code)) return undefined;
          throw err;
        }
        return this.block(hash);
      })();
      this.byHeight.set(height, p);
    }
    return p;
  }

  async tipHeight(): Promise<number> {
    return this.rpc.call<number>("getblockcount");
  }

  /** From `getblockchaininfo`'s chain: regtest halves every 150 blocks, the others (main, test, testnet4, signet) every 210 000. */
  async subsidySchedule(): Promise<SubsidySchedule> {
    const info = await this.rpc.call<{ chain: string }>("getblockchaininfo");
    return info.chain === "regtest" ? REGTEST_SUBSIDY : BITCOIN_SUBSIDY;
  }

  /** `getblockstats(height, ["totalfee"])`: the fees of the block at `height` in satoshis; undefined above the tip. */
  blockFees(height: number): Promise<bigint | undefined> {
    let p = this.fees.get(height);
    if (!p) {
      p = (async () => {
        let stats: { totalfee: number };
        try {
          stats = await this.rpc.call<{ totalfee: number }>("getblockstats", [height, ["totalfee"]]);
        } catch (err) {
          if (err instanceof RpcError && NOT_FOUND.has(err.code)) return undefined;
          throw err;
        }
        if (!Number.isSafeInteger(stats?.totalfee) || stats.totalfee < 0) throw new Error(`getblockstats ${height}: totalfee is not a satoshi amount: ${JSON.stringify(stats?.totalfee)}`);
        return BigInt(stats.totalfee);
      })();
      this.fees.set(height, p);
    }
    return p;
  }

  close(): void {
    this.rpc.close();
  }

  private async header(hash: string): Promise<ChainBlockInfo | undefined> {
    let h: BlockHeaderVerbose;
    try {
      h = await this.rpc.call<BlockHeaderVerbose>("getblockheader", [hash, true]);
    } catch (err) {
      if (err instanceof RpcError && NOT_FOUND.has(err.code)) return undefined;
      throw err;
    }
    if (h.confirmations < 1) return undefined; // known to the node, but not in its main chain
    return { height: h.height, hash: h.hash, bits: h.bits.toLowerCase(), time: h.time, mtp: h.mediantime };
  }
}
