/**
 * The proof-of-work chain as the auditor sees it, read by the auditor itself: never from a field
 * the operator wrote. Two sources behind one interface:
 *  - `PublishedHeaderChain`: the embedded chain's published headers (one 80-byte header per line,
 *    hex, from the genesis block at height 0), whose links, proof of work, bits and timestamps the
 *    auditor checks itself when it parses them (fs-free: shared with the browser audit);
 *  - `BitcoindHeaderChain` (powchain-bitcoind.ts): a real node's `getblockheader`/`getblockhash`.
 *
 * Consensus facts used (Bitcoin Core, validation.cpp `ContextualCheckBlockHeader`): a block's time
 * must exceed the median time past (median of the times of the previous 11 blocks) and may be at
 * most 2 h (`MAX_FUTURE_BLOCK_TIME`) ahead of the node's clock.
 */
import { bitsToTarget, hashToBigInt, hashToDisplayHex, sha256d } from "../pow";
import { REGTEST_SUBSIDY, type SubsidySchedule } from "../schemes/credit";

/** Seconds a block time may run ahead of the clock (Bitcoin Core's MAX_FUTURE_BLOCK_TIME). */
export const MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60;

/** One main-chain block as the auditor reads it from the chain. */
export interface ChainBlockInfo {
  height: number;
  /** Display hex (as explorers show it). */
  hash: string;
  /** Compact target of this block, 8 hex digits. */
  bits: string;
  /** Header time, unix seconds. */
  time: number;
  /** Median of the times of this block and its (up to) 10 ancestors: a child's time must exceed it. */
  mtp: number;
}

/** What the auditor asks of the proof-of-work chain (main chain only). */
export interface PowChainView {
  /** Where the chain came from, for reports ("bitcoind 127.0.0.1:18443", "published headers"). */
  readonly source: string;
  /** The main-chain block with this hash (display hex), or undefined when it is not in the main chain. */
  block(hash: string): Promise<ChainBlockInfo | undefined>;
  /** The main-chain block at this height, or undefined above the tip. */
  atHeight(height: number): Promise<ChainBlockInfo | undefined>;
  tipHeight(): Promise<number>;
  /** How a worker thread opens the same chain (src/audit/parallel.ts); absent: it cannot. */
  workerSpec?(): ChainSpec;
  /** The chain's block subsidy schedule (consensus), for PPS/FPPS credits; absent: unknown. */
  subsidySchedule?(): Promise<SubsidySchedule>;
  /**
   * The fees (satoshis) collected by the main-chain block at `height` (bitcoind: `getblockstats`
   * totalfee), undefined above the tip; absent when the source cannot tell (a header chain).
   */
  blockFees?(height: number): Promise<bigint | undefined>;
}

/** A serializable description of a chain view, to open it again on a worker thread. */
export type ChainSpec = { kind: "headers"; headers: string[] } | { kind: "bitcoind"; rpc: { url: string; user?: string; password?: string; cookieFile?: string; timeoutMs?: number } };

export class HeaderChainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HeaderChainError";
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * The embedded chain's published headers, verified on parse: each header links to the previous
 * one, meets the target of its own bits (the genesis block, height 0, is a checkpoint), has the
 * same bits as the chain's first block (the embedded chain has one difficulty: a header with other
 * bits would be a cheaper chain), and a time above the median time past. Any failure throws a
 * HeaderChainError naming the height: a chain that does not verify is not believed at all.
 */
export class PublishedHeaderChain implements PowChainView {
  readonly source = "published header chain";
  private readonly blocks: ChainBlockInfo[] = [];
  private readonly byHash = new Map<string, number>();
  private readonly headersHex: string[];

  constructor(headersHex: string[], options: { genesisHash?: string } = {}) {
    if (headersHex.length === 0) throw new HeaderChainError("header chain: no headers");
    this.headersHex = headersHex.map((h) => h.trim().toLowerCase());
    const times: number[] = [];
    for (let h = 0; h < headersHex.length; h++) {
      const hex = headersHex[h].trim().toLowerCase();
      if (!/^[0-9a-f]{160}$/.test(hex)) throw new HeaderChainError(`header chain: line ${h + 1} (height ${h}) is not an 80-byte header in hex`);
      const header = Buffer.from(hex, "hex");
      const hashBuf = sha256d(header);
      const hash = hashToDisplayHex(hashBuf);
      const bits = header.readUInt32LE(72).toString(16).padStart(8, "0");
      const time = header.readUInt32LE(68);
      if (h === 0) {
        if (options.genesisHash && options.genesisHash.toLowerCase() !== hash) throw new HeaderChainError(`header chain: genesis ${hash} is not the expected ${options.genesisHash}`);
      } else {
        const prev = this.blocks[h - 1];
        const prevHash = hashToDisplayHex(header.subarray(4, 36));
        if (prevHash !== prev.hash) throw new HeaderChainError(`header chain: height ${h} links to ${prevHash}, not to height ${h - 1} (${prev.hash})`);
        let target: bigint;
        try {
          target = bitsToTarget(bits);
        } catch (err) {
          throw new HeaderChainError(`header chain: height ${h}: ${(err as Error).message}`);
        }
        if (hashToBigInt(hashBuf) > target) throw new HeaderChainError(`header chain: height ${h} (${hash}) does not meet the target of its bits ${bits}: no proof of work`);
        if (h > 1 && bits !== this.blocks[1].bits) throw new HeaderChainError(`header chain: height ${h} has bits ${bits}, the chain's are ${this.blocks[1].bits}`);
        if (time <= prev.mtp) throw new HeaderChainError(`header chain: height ${h} has time ${time}, not above the median time past ${prev.mtp}`);
      }
      times.push(time);
      const info = { height: h, hash, bits, time, mtp: median(times.slice(-11)) };
      this.blocks.push(info);
      this.byHash.set(hash, h);
    }
  }

  /** Parses the published text (one header per line; blank lines ignored). */
  static parse(text: string, options: { genesisHash?: string } = {}): PublishedHeaderChain {
    return new PublishedHeaderChain(
      text.split("\n").map((l) => l.trim()).filter((l) => l !== ""),
      options,
    );
  }

  async block(hash: string): Promise<ChainBlockInfo | undefined> {
    const h = this.byHash.get(hash.toLowerCase());
    return h === undefined ? undefined : this.blocks[h];
  }

  async atHeight(height: number): Promise<ChainBlockInfo | undefined> {
    return this.blocks[height];
  }

  async tipHeight(): Promise<number> {
    return this.blocks.length - 1;
  }

  workerSpec(): ChainSpec {
    return { kind: "headers", headers: this.headersHex };
  }

  /** The embedded chain's schedule (regtest's: 50 BTC halved every 150 blocks; src/chain/embedded.ts's default). */
  async subsidySchedule(): Promise<SubsidySchedule> {
    return REGTEST_SUBSIDY;
  }
}

/** The published form of a header chain: one header (hex) per line, genesis first. */
export function headerChainText(headersHex: Iterable<string>): string {
  let text = "";
  for (const h of headersHex) text += h + "\n";
  return text;
}

/** File name of the published header chain, next to the epoch files. */
export const HEADER_CHAIN_FILE = "headers.txt";
