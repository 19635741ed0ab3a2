import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  bitsToTarget,
  checkWitnessCommitment,
  coinbasePayoutAddress,
  computeMerkleRoot,
  difficultyToTarget,
  bip34HeightPush,
  hashToBigInt,
  hashToDisplayHex,
  parseBlock,
  readBip34Height,
  serializeTransaction,
  sha256d,
  targetToBits,
  targetToDifficulty,
  witnessCommitmentScript,
  merkleRootOfTxids,
  merkleBranch,
  merkleRootFromBranch,
  type ParsedBlock,
} from "../pow";
import { silentLogger, type ChainLogger } from "./logger";
import { syntheticTransactions } from "./synthetic";
import type { BlockTemplate, SubmitResult, TemplateSource, TemplateTransaction } from "./types";

export interface EmbeddedChainOptions {
  /** Network difficulty of every block (default 0.01: tens of seconds for a 1-5 MH/s CPU miner). */
  networkDifficulty?: string | number;
  /** Compact bits; overrides networkDifficulty. */
  bits?: string;
  /** Directory for the chain file; in memory when absent. */
  dataDir?: string;
  /** Subsidy of block 1 in the smallest unit (default 50e8). */
  initialSubsidy?: bigint;
  /** Blocks between halvings (default 150, as regtest). */
  halvingInterval?: number;
  /** Synthetic mempool transactions per template (default 0). */
  syntheticTxs?: number;
  /** Include a segwit witness commitment in templates (default true, as Bitcoin Core does). */
  witnessCommitment?: boolean;
  /** Fresh template (new curtime) every this many ms without a new block (default 30 000). */
  refreshIntervalMs?: number;
  /** Time of the deterministic genesis block, unix seconds. */
  genesisTime?: number;
  logger?: ChainLogger;
}

export interface EmbeddedBlock {
  height: number;
  hash: string;
  prevHash: string;
  time: number;
  bits: string;
  /** Sum of the coinbase outputs (subsidy + fees), decimal string in the smallest unit. */
  reward: string;
  /** EVM address committed in the coinbase, if any. */
  payoutAddress?: string;
  txCount: number;
  /** 80-byte header, hex. */
  header: string;
  /**
   * The block's coinbase transaction, non-witness serialization (hex: what its txid hashes), and
   * its merkle branch to the header's merkle root (32-byte hashes, internal byte order, hex; empty
   * when the block has no other transaction): published with the header so that an auditor can
   * check the block's fees (src/audit/powchain.ts). Absent from blocks kept before issue 14.
   */
  coinbase?: string;
  coinbaseBranch?: string[];
}

const CHAIN_FILE = "embedded-chain.jsonl";
const MAX_FUTURE_SECONDS = 2 * 60 * 60;
const BLOCK_VERSION = 0x20000000;
const GENESIS_TAG = Buffer.from("pplns embedded genesis block");

/** A regtest-style SHA256d chain kept by the pool itself: the default template source. */
export class EmbeddedChain extends EventEmitter implements TemplateSource {
  readonly kind = "embedded" as const;
  readonly bits: string;
  private readonly target: bigint;
  private readonly initialSubsidy: bigint;
  private readonly halvingInterval: number;
  private readonly syntheticTxCount: number;
  private readonly withWitnessCommitment: boolean;
  private readonly refreshIntervalMs: number;
  private readonly genesisTime: number;
  private readonly file?: string;
  private readonly log: ChainLogger;

  private chain: EmbeddedBlock[] = [];
  private heightByHash = new Map<string, number>();
  private mempool: TemplateTransaction[] = [];
  private feeByTxid = new Map<string, bigint>();
  private template?: BlockTemplate;
  private templateSeq = 0;
  private timer?: NodeJS.Timeout;
  /** The chain file, open for appending from start() to stop(): a block never needs a new descriptor. */
  private fd: number | null = null;
  /** Bytes of the chain file that hold whole records. */
  private fileSize = 0;
  /** Set when a torn record could not be cut off: no block is accepted until a restart repairs the file. */
  private fileBroken: string | null = null;

  constructor(options: EmbeddedChainOptions = {}) {
    super();
    this.bits = options.bits ?? targetToBits(difficultyToTarget(options.networkDifficulty ?? "0.01"));
    this.target = bitsToTarget(this.bits);
    this.initialSubsidy = options.initialSubsidy ?? 50n * 100_000_000n;
    this.halvingInterval = options.halvingInterval ?? 150;
    this.syntheticTxCount = options.syntheticTxs ?? 0;
    this.withWitnessCommitment = options.witnessCommitment ?? true;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
    this.genesisTime = options.genesisTime ?? 1_700_000_000;
    this.file = options.dataDir ? path.join(options.dataDir, CHAIN_FILE) : undefined;
    this.log = options.logger ?? silentLogger;
    if (this.initialSubsidy < 0n) throw new RangeError("initialSubsidy must be >= 0");
    if (!Number.isInteger(this.halvingInterval) || this.halvingInterval < 1) throw new RangeError("halvingInterval must be a positive integer");
    if (!Number.isInteger(this.syntheticTxCount) || this.syntheticTxCount < 0 || this.syntheticTxCount > 10_000) {
      throw new RangeError("syntheticTxs must be an integer in 0..10000");
    }
    if (!(this.refreshIntervalMs > 0)) throw new RangeError("refreshIntervalMs must be > 0");
  }

  /** Network difficulty of the configured bits. */
  get networkDifficulty(): number {
    return targetToDifficulty(this.target);
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.load();
    if (this.file) {
      this.fd = fs.openSync(this.file, "a");
      this.fileSize = fs.fstatSync(this.fd).size;
    }
    this.newMempool();
    this.refresh(true);
    this.timer = setInterval(() => this.refresh(false), this.refreshIntervalMs);
    this.timer.unref();
    const tip = this.tip();
    this.log.info({ height: tip.height, tip: tip.hash, bits: this.bits, difficulty: this.networkDifficulty, file: this.file ?? null }, "embedded chain started");
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  /** Path of the chain file (undefined when the chain is kept in memory only). */
  get filePath(): string | undefined {
    return this.file;
  }

  current(): BlockTemplate {
    if (!this.template) throw new Error("embedded chain: no template yet (call start() first)");
    return this.template;
  }

  tip(): EmbeddedBlock {
    if (this.chain.length === 0) throw new Error("embedded chain: not started");
    return this.chain[this.chain.length - 1];
  }

  /**
   * Every block of the chain as the pool publishes it for auditors (headers.txt), genesis first:
   * its header (80 bytes, hex), then, when the chain kept it, a space, its coinbase (non-witness
   * hex) and its merkle branch, space-separated (PublishedHeaderChain's line format).
   */
  headers(): string[] {
    return this.chain.map((b) => (b.coinbase === undefined ? b.header : [b.header, b.coinbase, ...(b.coinbaseBranch ?? [])].join(" ")));
  }

  /**
   * The fees (satoshis) of the block at `height`, as an auditor reads them from the published
   * coinbase: its output total minus the subsidy at that height (0 when it pays less); undefined
   * above the tip. Throws for a block kept without its coinbase (mined before issue 14): its fees
   * could not be checked, so FPPS must not pay them.
   */
  async blockFees(height: number): Promise<bigint | undefined> {
    const b = this.chain[height];
    if (b === undefined || height < 0) return undefined;
    if (b.coinbase === undefined) throw new Error(`embedded chain: block ${height} was kept without its coinbase (mined before coinbases were published): its fees cannot be checked by an auditor`);
    const fees = BigInt(b.reward) - this.subsidy(height);
    return fees > 0n ? fees : 0n;
  }

  /** Blocks found on this chain (height >= 1), oldest first. */
  blocks(): EmbeddedBlock[] {
    return this.chain.slice(1);
  }

  block(hash: string): EmbeddedBlock | undefined {
    const h = this.heightByHash.get(hash.toLowerCase());
    return h === undefined ? undefined : this.chain[h];
  }

  subsidy(height: number): bigint {
    const halvings = Math.floor(height / this.halvingInterval);
    return halvings >= 64 ? 0n : this.initialSubsidy >> BigInt(halvings);
  }

  async confirmations(blockHash: string): Promise<number> {
    const h = typeof blockHash === "string" ? this.heightByHash.get(blockHash.toLowerCase()) : undefined;
    return h === undefined ? 0 : this.tip().height - h + 1;
  }

  async submitBlock(blockHex: string): Promise<SubmitResult> {
    let block: ParsedBlock;
    try {
      block = parseBlock(blockHex);
    } catch (err) {
      return this.reject(`decode-failed: ${(err as Error).message}`);
    }
    const reason = this.validate(block);
    if (reason) return this.reject(reason, block.hash);
    const failed = this.append(block);
    if (failed) return this.reject(`chain-write-failed: ${failed}`, block.hash);
    return { accepted: true };
  }

  private reject(reason: string, hash?: string): SubmitResult {
    this.log.warn({ reason, hash }, "embedded chain rejected a block");
    return { accepted: false, reason };
  }

  /** Bitcoin Core-style checks; returns a reject reason or undefined. */
  private validate(block: ParsedBlock): string | undefined {
    const tip = this.tip();
    const height = tip.height + 1;
    if (this.heightByHash.has(block.hash)) return "duplicate";
    if (block.prevHash !== tip.hash) return "bad-prevblk";
    if (block.bits !== this.bits) return "bad-diffbits";
    if (hashToBigInt(sha256d(block.header)) > this.target) return "high-hash";
    if (block.time <= this.medianTimePast()) return "time-too-old";
    if (block.time > Math.floor(Date.now() / 1000) + MAX_FUTURE_SECONDS) return "time-too-new";
    const txids = new Set(block.transactions.map((t) => t.txid));
    if (txids.size !== block.transactions.length) return "bad-txns-duplicate";
    if (computeMerkleRoot(block) !== block.merkleRoot) return "bad-txnmrklroot";

    const cb = block.coinbase;
    const isCoinbase = (t: ParsedBlock["coinbase"]) => t.inputs.length === 1 && t.inputs[0].prevTxid === "00".repeat(32) && t.inputs[0].vout === 0xffffffff;
    if (!isCoinbase(cb)) return "bad-cb-missing";
    if (block.transactions.slice(1).some(isCoinbase)) return "bad-cb-multiple";
    const scriptSig = cb.inputs[0].scriptSig;
    if (scriptSig.length < 2 || scriptSig.length > 100) return "bad-cb-length";
    if (readBip34Height(scriptSig)?.height !== height || !scriptSig.subarray(0, bip34HeightPush(height).length).equals(bip34HeightPush(height))) {
      return "bad-cb-height";
    }
    let fees = 0n;
    for (const t of block.transactions.slice(1)) fees += this.feeByTxid.get(t.txid) ?? 0n;
    const paid = cb.outputs.reduce((sum, o) => sum + o.value, 0n);
    if (paid > this.subsidy(height) + fees) return "bad-cb-amount";
    return checkWitnessCommitment(block);
  }

  /**
   * Writes the block to the chain file (durably), then makes it the tip; returns why it could not
   * be written, in which case the chain is left exactly as it was (file and memory). Issue 16: a
   * block the chain did not save must not be acknowledged, or it is paid and forgotten at restart.
   */
  private append(block: ParsedBlock): string | undefined {
    const cb = block.coinbase;
    const record: EmbeddedBlock = {
      height: this.tip().height + 1,
      hash: block.hash,
      prevHash: block.prevHash,
      time: block.time,
      bits: block.bits,
      reward: cb.outputs.reduce((sum, o) => sum + o.value, 0n).toString(),
      payoutAddress: coinbasePayoutAddress(serializeTransaction(cb, false).toString("hex")),
      txCount: block.transactions.length,
      header: block.header.toString("hex"),
      coinbase: serializeTransaction(cb, false).toString("hex"),
      coinbaseBranch: merkleBranch(block.transactions.slice(1).map((t) => t.txid)),
    };
    // Synchronously (file, then memory), so two concurrent submissions cannot both extend the tip.
    const failed = this.persist(record);
    if (failed) return failed;
    this.push(record);
    this.log.info({ height: record.height, hash: record.hash, reward: record.reward, address: record.payoutAddress ?? null }, "embedded chain: block appended");
    this.newMempool();
    this.refresh(true);
    return undefined;
  }

  private push(record: EmbeddedBlock): void {
    this.chain.push(record);
    this.heightByHash.set(record.hash, record.height);
  }

  /**
   * Appends one record and fsyncs; on any failure (short write, EFBIG, ENOSPC, EIO) cuts the file
   * back to its last whole record, so that a torn line never hides the blocks written after it,
   * and returns the error message.
   */
  private persist(record: EmbeddedBlock): string | undefined {
    if (this.fd === null) return this.file ? "chain file not open (chain not started)" : undefined;
    if (this.fileBroken !== null) return this.fileBroken;
    const bytes = Buffer.from(JSON.stringify(record) + "\n");
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
      fs.fsyncSync(this.fd);
      this.fileSize += bytes.length;
      return undefined;
    } catch (err) {
      const message = (err as Error).message;
      this.log.error({ err: message, file: this.file, height: record.height, hash: record.hash }, "embedded chain: could not save block; it is refused");
      try {
        fs.ftruncateSync(this.fd, this.fileSize);
      } catch (cut) {
        this.fileBroken = `chain file holds a torn record (${(cut as Error).message}); restart the pool to repair it`;
        this.log.error({ err: (cut as Error).message, file: this.file }, "embedded chain: could not cut a torn record; the next start keeps the valid prefix");
      }
      return message;
    }
  }

  private medianTimePast(): number {
    const times = this.chain.slice(-11).map((b) => b.time).sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }

  private newMempool(): void {
    this.mempool = syntheticTransactions(this.syntheticTxCount);
    this.feeByTxid = new Map(this.mempool.map((t) => [t.txid, t.fee]));
  }

  private refresh(newBlock: boolean): void {
    const tip = this.tip();
    const height = tip.height + 1;
    const mintime = this.medianTimePast() + 1;
    const fees = this.mempool.reduce((sum, t) => sum + t.fee, 0n);
    this.template = {
      height,
      previousBlockHash: tip.hash,
      version: BLOCK_VERSION,
      bits: this.bits,
      curtime: Math.max(Math.floor(Date.now() / 1000), mintime),
      mintime,
      coinbaseValue: this.subsidy(height) + fees,
      transactions: this.mempool,
      defaultWitnessCommitment: this.withWitnessCommitment
        ? witnessCommitmentScript(this.mempool.map((t) => t.hash)).toString("hex")
        : undefined,
      id: `embedded:${height}:${tip.hash.slice(0, 16)}:${++this.templateSeq}`,
    };
    this.emit("template", this.template, newBlock);
  }

  /** Genesis: deterministic from the bits and time; its proof of work is not checked (a checkpoint). */
  private genesis(): EmbeddedBlock {
    const coinbase = serializeTransaction(
      {
        version: 1,
        inputs: [{ prevTxid: "00".repeat(32), vout: 0xffffffff, scriptSig: Buffer.concat([bip34HeightPush(0), Buffer.from([GENESIS_TAG.length]), GENESIS_TAG]), sequence: 0xffffffff, witness: [] }],
        outputs: [{ value: 0n, script: Buffer.from([0x6a]) }],
        locktime: 0,
      },
      false,
    );
    const header = Buffer.alloc(80);
    header.writeUInt32LE(1, 0);
    merkleRootOfTxids([sha256d(coinbase)]).copy(header, 36);
    header.writeUInt32LE(this.genesisTime, 68);
    header.writeUInt32LE(parseInt(this.bits, 16), 72);
    return {
      height: 0,
      hash: hashToDisplayHex(sha256d(header)),
      prevHash: "00".repeat(32),
      time: this.genesisTime,
      bits: this.bits,
      reward: "0",
      txCount: 1,
      header: header.toString("hex"),
    };
  }

  private load(): void {
    this.chain = [];
    this.heightByHash.clear();
    if (!this.file) {
      this.push(this.genesis());
      return;
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const lines = fs.existsSync(this.file) ? fs.readFileSync(this.file, "utf8").split("\n").filter((l) => l.trim() !== "") : [];
    let bad = 0;
    for (const [i, line] of lines.entries()) {
      const record = this.checkRecord(line);
      if (!record) {
        bad = lines.length - i;
        this.log.warn({ file: this.file, line: i + 1, dropped: bad }, "embedded chain: invalid record in chain file, keeping the valid prefix");
        break;
      }
      this.push(record);
    }
    if (this.chain.length === 0) this.push(this.genesis());
    if (lines.length === 0 || bad > 0) {
      fs.writeFileSync(this.file, this.chain.map((r) => JSON.stringify(r) + "\n").join(""));
    }
  }

  /** A persisted record is kept only if its header hashes to its hash and links to the tip. */
  private checkRecord(line: string): EmbeddedBlock | undefined {
    let r: EmbeddedBlock;
    try {
      r = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (!r || typeof r.header !== "string" || !/^[0-9a-f]{160}$/.test(r.header)) return undefined;
    const header = Buffer.from(r.header, "hex");
    if (hashToDisplayHex(sha256d(header)) !== r.hash) return undefined;
    if (hashToDisplayHex(header.subarray(4, 36)) !== r.prevHash) return undefined;
    const expectedHeight = this.chain.length;
    if (r.height !== expectedHeight) return undefined;
    if (expectedHeight > 0) {
      if (r.prevHash !== this.tip().hash) return undefined;
      try {
        if (hashToBigInt(sha256d(header)) > bitsToTarget(header.readUInt32LE(72).toString(16).padStart(8, "0"))) return undefined;
      } catch {
        return undefined;
      }
    }
    // A kept coinbase must be the block's (it is published for auditors); one that is not is
    // dropped, and the block's fees are then unknown rather than wrong.
    if (r.coinbase !== undefined || r.coinbaseBranch !== undefined) {
      const branch = r.coinbaseBranch;
      const ok =
        typeof r.coinbase === "string" &&
        /^(?:[0-9a-f]{2})+$/.test(r.coinbase) &&
        Array.isArray(branch) &&
        branch.every((b) => typeof b === "string" && /^[0-9a-f]{64}$/.test(b)) &&
        merkleRootFromBranch(sha256d(Buffer.from(r.coinbase, "hex")), branch).equals(header.subarray(36, 68));
      if (!ok) {
        this.log.warn({ file: this.file, height: r.height, hash: r.hash }, "embedded chain: the kept coinbase is not the block's; dropped (its fees are unknown)");
        const { coinbase: _c, coinbaseBranch: _b, ...rest } = r;
        return rest;
      }
    }
    return r;
  }
}
