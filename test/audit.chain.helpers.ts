/**
 * A small real proof-of-work chain for audit tests: blocks are mined shares (real SHA256d work at
 * network difficulty 1e-7), each share works on the current tip with a coinbase that commits to the
 * miner's address and share difficulty and pays the pool's script, and the chain's headers are
 * what the pool publishes (`headers.txt`). An operator (a SQLite store and the real EpochBuilder)
 * turns recorded shares into epoch files, as a consistent forger would too.
 */
import fs from "node:fs";
import path from "node:path";
import { EpochBuilder, type BuiltEpoch } from "../src/epochs";
import { HEADER_CHAIN_FILE, headerChainText } from "../src/audit/powchain";
import { bitsToTarget, buildCoinbaseParts, DIFF1, difficultyToTarget, hashToDisplayHex, prevhashForNotify, sha256d, targetToBits, verifyShareWork } from "../src/pow";
import { openShareStore, type ShareStore } from "../src/shares";
import { difficultyToUnits } from "../src/shares/difficulty";
import type { AcceptedShare, FoundBlock } from "../src/stratum/events";

export const ADDR = (c: string) => "0x" + c.repeat(40);
export const MINERS = [ADDR("a"), ADDR("b"), ADDR("c")];
export const NBITS = targetToBits(DIFF1 * 10n ** 7n);
export const SHARE_DIFFICULTY = "0.00000001";
export const POOL_SCRIPT = "51";
export const REWARD = 5_000_000_000n;
const T0 = 1_700_000_000;

export interface MineOptions {
  isBlock?: boolean;
  committed?: string;
  /** nbits written into the job (the forger's 207fffff). */
  nbits?: string;
  script?: string;
  ntime?: number;
  /** Work on this block hash (display hex) instead of the tip, at this height. */
  on?: { hash: string; height: number };
  reward?: bigint;
  /** The job's merkle branch (hex, internal order): the block's other transactions. */
  merkleBranch?: string[];
}

export class MiniChain {
  readonly headers: Buffer[] = [];
  readonly hashes: string[] = [];
  private seq = 0;

  constructor() {
    const genesis = Buffer.alloc(80);
    genesis.writeUInt32LE(1, 0);
    sha256d(Buffer.from("audit test genesis")).copy(genesis, 36);
    genesis.writeUInt32LE(T0, 68);
    genesis.writeUInt32LE(parseInt(NBITS, 16), 72);
    this.push(genesis);
  }

  private push(header: Buffer): void {
    this.headers.push(header);
    this.hashes.push(hashToDisplayHex(sha256d(header)));
  }

  get height(): number {
    return this.headers.length - 1;
  }

  get tip(): string {
    return this.hashes[this.hashes.length - 1];
  }

  text(): string {
    return headerChainText(this.headers.map((h) => h.toString("hex")));
  }

  /** A share with real work on the tip (or `on`); a block share extends the chain. */
  mine(miner: number | string, opts: MineOptions = {}): AcceptedShare {
    const seq = ++this.seq;
    const address = typeof miner === "string" ? miner : MINERS[miner];
    const committed = opts.committed ?? SHARE_DIFFICULTY;
    const base = opts.on ?? { hash: this.tip, height: this.height };
    const height = base.height + 1;
    const nbits = opts.nbits ?? NBITS;
    const { coinb1, coinb2 } = buildCoinbaseParts({
      height,
      payoutAddress: address,
      shareDifficultyUnits: difficultyToUnits(committed),
      extranonce1Size: 4,
      extranonce2Size: 4,
      outputs: [{ value: opts.reward ?? REWARD, script: Buffer.from(opts.script ?? POOL_SCRIPT, "hex") }],
    });
    const shareTarget = difficultyToTarget(committed);
    const network = bitsToTarget(nbits);
    const job = {
      coinb1,
      coinb2,
      extranonce1: "0000000" + (typeof miner === "number" ? miner : 9),
      extranonce2: seq.toString(16).padStart(8, "0"),
      merkleBranch: opts.merkleBranch ?? ([] as string[]),
      version: "20000000",
      prevhash: prevhashForNotify(base.hash),
      nbits,
      ntime: (opts.ntime ?? T0 + height * 600 + (seq % 300)).toString(16).padStart(8, "0"),
    };
    const isBlock = opts.isBlock ?? false;
    for (let nonce = 0; ; nonce++) {
      const nonceHex = nonce.toString(16).padStart(8, "0");
      const work = verifyShareWork({ ...job, nonce: nonceHex });
      const block = work.hashValue <= network;
      if (block === isBlock && work.hashValue <= (isBlock && shareTarget < network ? network : shareTarget)) {
        if (isBlock && !opts.on && !opts.nbits) this.push(work.header);
        return { ...job, address, worker: "rig", difficulty: committed, jobId: `j${seq}`, height, nonce: nonceHex, hash: hashToDisplayHex(work.hash), isBlock, time: (T0 + seq) * 1000 };
      }
    }
  }
}

export function found(s: AcceptedShare, reward = REWARD): FoundBlock {
  return { height: s.height, hash: s.hash, reward: reward.toString(), address: s.address, worker: s.worker, submitted: true, time: s.time };
}

/** An operator: its own SQLite store and the real builder, writing into `dataDir/epochs`. */
export class Operator {
  store!: ShareStore;
  builder!: EpochBuilder;
  constructor(
    readonly dataDir: string,
    private readonly chain: MiniChain,
    private readonly opts: { contract?: string; feeBps?: number; parameterChange?: { fromEpoch: number; feeBps?: number; factor?: string } } = {},
  ) {}

  async open(): Promise<this> {
    this.store = await openShareStore({ kind: "sqlite", dataDir: this.dataDir });
    this.builder = new EpochBuilder({
      store: this.store,
      dataDir: this.dataDir,
      powChain: "embedded",
      evmChainId: 31337,
      contract: this.opts.contract ?? "0x" + "c0".repeat(20),
      factor: "2",
      feeBps: this.opts.feeBps ?? 100,
      feeAddress: ADDR("f"),
      confirmations: 1,
      payoutScript: POOL_SCRIPT,
      parameterChange: this.opts.parameterChange,
      headerChain: () => this.chain.headers.map((h) => h.toString("hex")),
    });
    return this;
  }

  /** Records shares in order; the blocks among them confirmed (with `rewards` overriding a block's reward). */
  async record(shares: AcceptedShare[], rewards: Map<AcceptedShare, bigint> = new Map()): Promise<void> {
    for (const s of shares) {
      await this.store.recordShare(s);
      if (s.isBlock) {
        await this.store.recordBlock(found(s, rewards.get(s) ?? REWARD), s);
        await this.store.updateBlock(s.hash, { status: "confirmed", confirmations: 1 });
      }
    }
  }

  async build(): Promise<BuiltEpoch> {
    const e = await this.builder.build();
    if (!e) throw new Error("nothing to build");
    return e;
  }

  headersFile(): string {
    return path.join(this.dataDir, "epochs", HEADER_CHAIN_FILE);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

export function readText(file: string): string {
  return fs.readFileSync(file, "utf8");
}
