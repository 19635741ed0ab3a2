/**
 * The proof-of-work chain as the auditor sees it, read by the auditor itself: never from a field
 * the operator wrote. Two sources behind one interface:
 *  - `PublishedHeaderChain`: the embedded chain's published headers (one 80-byte header per line,
 *    hex, from the genesis block at height 0), whose links, proof of work, bits and timestamps the
 *    auditor checks itself when it parses them (fs-free: shared with the browser audit). A line
 *    may also carry the block's coinbase transaction and its merkle branch (see `PublishedHeaderChain`):
 *    the auditor checks that they hash to the header's merkle root and reads the block's fees from
 *    the coinbase, for FPPS;
 *  - `BitcoindHeaderChain` (powchain-bitcoind.ts): a real node's `getblockheader`/`getblockhash`.
 *
 * Consensus facts used (Bitcoin Core, validation.cpp `ContextualCheckBlockHeader`): a block's time
 * must exceed the median time past (median of the times of the previous 11 blocks) and may be at
 * most 2 h (`MAX_FUTURE_BLOCK_TIME`) ahead of the node's clock.
 */
import { bitsToTarget, hashToBigInt, hashToDisplayHex, merkleRootFromBranch, parseTransaction, readBip34Height, sha256d } from "../pow";
import { REGTEST_SUBSIDY, subsidyAt, type SubsidySchedule } from "../schemes/credit";

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
 * A published coinbase checked against its block's header (height `height`): a transaction in its
 * non-witness serialization (hex), shaped as a coinbase (one input spending the null outpoint) with
 * the BIP34 height of its block, whose txid (sha256d of those bytes) folded with the merkle
 * branch (32-byte hashes, internal byte order, hex: the coinbase is the block's first transaction,
 * so each step is sha256d(acc ‖ branch[i])) gives the header's merkle root. An empty branch: the
 * block has no other transaction and its merkle root is the coinbase's txid. Returns the sum of the
 * coinbase's outputs (satoshis); throws a HeaderChainError naming the height otherwise.
 */
export function verifyPublishedCoinbase(height: number, header: Buffer, coinbaseHex: string, branchHex: string[]): bigint {
  const where = `header chain: height ${height}: the published coinbase`;
  if (!/^(?:[0-9a-f]{2})+$/.test(coinbaseHex)) throw new HeaderChainError(`${where} is not hex`);
  let tx: ReturnType<typeof parseTransaction>;
  try {
    tx = parseTransaction(coinbaseHex);
  } catch (err) {
    throw new HeaderChainError(`${where} is not a transaction: ${(err as Error).message}`);
  }
  if (tx.hasWitness) throw new HeaderChainError(`${where} carries witness data: publish its non-witness serialization (the one its txid hashes)`);
  const input = tx.inputs[0];
  if (tx.inputs.length !== 1 || input.prevTxid !== "00".repeat(32) || input.vout !== 0xffffffff) throw new HeaderChainError(`${where} is not a coinbase (one input spending the null outpoint)`);
  const bip34 = readBip34Height(input.scriptSig);
  if (bip34?.height !== height) throw new HeaderChainError(`${where} commits height ${bip34 ? bip34.height : "none"} (BIP34), not ${height}`);
  for (const [i, b] of branchHex.entries()) if (!/^[0-9a-f]{64}$/.test(b)) throw new HeaderChainError(`header chain: height ${height}: merkle branch entry ${i} is not a 32-byte hash in hex`);
  const root = merkleRootFromBranch(sha256d(Buffer.from(coinbaseHex, "hex")), branchHex);
  if (!root.equals(header.subarray(36, 68))) {
    throw new HeaderChainError(
      `${where} (txid ${tx.txid}) ${branchHex.length === 0 ? "is not the header's merkle root" : `with its ${branchHex.length}-step merkle branch does not hash to the header's merkle root`} ${hashToDisplayHex(header.subarray(36, 68))}: it is not this block's coinbase`,
    );
  }
  return tx.outputs.reduce((sum, o) => sum + o.value, 0n);
}

/**
 * The embedded chain's published headers, verified on parse: each header links to the previous
 * one, meets the target of its own bits (the genesis block, height 0, is a checkpoint), has the
 * same bits as the chain's first block (the embedded chain has one difficulty: a header with other
 * bits would be a cheaper chain), and a time above the median time past. Any failure throws a
 * HeaderChainError naming the height: a chain that does not verify is not believed at all.
 *
 * A line is `HEADER` (80 bytes, hex) or, for FPPS (issue 14), `HEADER COINBASE [BRANCH...]`
 * separated by spaces: the block's coinbase transaction (non-witness serialization, hex) and the
 * merkle branch from it to the header's merkle root (verifyPublishedCoinbase). The block's fees are
 * then the coinbase's output total minus the subsidy at its height (0 when it pays less), read from
 * the coinbase the header commits to, never from a figure the operator wrote. Header files without
 * coinbases (older ones) still parse; `blockFees` exists only when some line carries a coinbase.
 */
export class PublishedHeaderChain implements PowChainView {
  readonly source = "published header chain";
  private readonly blocks: ChainBlockInfo[] = [];
  private readonly byHash = new Map<string, number>();
  private readonly headersHex: string[];
  /** Per height: the verified coinbase's output total (satoshis), undefined when the line has no coinbase. */
  private readonly coinbaseValues: (bigint | undefined)[] = [];
  /**
   * The fees (satoshis) of the block at `height`: its published coinbase's output total minus the
   * regtest subsidy at that height (the embedded chain's schedule), 0 when it pays less; undefined
   * above the tip; throws for a block published without its coinbase. Present only when the chain
   * carries coinbases.
   */
  readonly blockFees?: (height: number) => Promise<bigint | undefined>;

  constructor(headersHex: string[], options: { genesisHash?: string } = {}) {
    if (headersHex.length === 0) throw new HeaderChainError("header chain: no headers");
    this.headersHex = headersHex.map((h) => h.trim().toLowerCase());
    const times: number[] = [];
    for (let h = 0; h < headersHex.length; h++) {
      const [hex, coinbaseHex, ...branchHex] = headersHex[h].trim().toLowerCase().split(/\s+/);
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
      this.coinbaseValues.push(coinbaseHex === undefined ? undefined : verifyPublishedCoinbase(h, header, coinbaseHex, branchHex));
      times.push(time);
      const info = { height: h, hash, bits, time, mtp: median(times.slice(-11)) };
      this.blocks.push(info);
      this.byHash.set(hash, h);
    }
    if (this.coinbaseValues.some((v) => v !== undefined)) {
      this.blockFees = async (height: number) => {
        if (height < 0 || height >= this.blocks.length) return undefined;
        const total = this.coinbaseValues[height];
        if (total === undefined) throw new HeaderChainError(`block ${height} is published without its coinbase (mined before the pool kept coinbases): its fees cannot be checked`);
        const fees = total - subsidyAt(height, REGTEST_SUBSIDY);
        return fees > 0n ? fees : 0n;
      };
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

/** The published form of a header chain: one line per block (a header, hex, and optionally its coinbase and branch), genesis first. */
export function headerChainText(headersHex: Iterable<string>): string {
  let text = "";
  for (const h of headersHex) text += h + "\n";
  return text;
}

/** File name of the published header chain, next to the epoch files. */
export const HEADER_CHAIN_FILE = "headers.txt";
