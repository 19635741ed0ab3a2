import type { BlockTemplate } from "../chain/types";
import { unitsToDifficulty } from "../shares/difficulty";
import {
  bitsToTarget,
  buildCoinbaseParts,
  hexToBuffer,
  merkleBranch,
  networkDifficultyUnits,
  prevhashForNotify,
  prevhashFromNotify,
  uint32ToHex,
} from "../pow";

/** Coinbase halves for one payout address on one template, in both forms the hot path needs. */
export interface CoinbaseParts {
  coinb1: string;
  coinb2: string;
  coinb1Buf: Buffer;
  coinb2Buf: Buffer;
}

/** What one template yields independently of who mines it. */
export class TemplateWork {
  readonly prevhash: string;
  readonly prevhashInternal: Buffer;
  readonly branch: string[];
  readonly branchBufs: Buffer[];
  readonly branchJson: string;
  readonly versionHex: string;
  readonly nbits: string;
  readonly nbitsValue: number;
  readonly networkTarget: bigint;
  /** The highest share difficulty this template's jobs may be sent (and credited) at: the network's, rounded down. */
  readonly maxDifficultyUnits: bigint;
  readonly maxDifficulty: string;
  readonly maxDifficultyNumber: number;
  readonly hasWitnessCommitment: boolean;
  private readonly witnessCommitment?: Buffer;
  private readonly parts = new Map<string, CoinbaseParts>();

  constructor(
    readonly template: BlockTemplate,
    /** Increments on every new block: jobs of an older generation are stale. */
    readonly generation: number,
    private readonly opts: CoinbaseOptions,
  ) {
    this.prevhash = prevhashForNotify(template.previousBlockHash);
    this.prevhashInternal = prevhashFromNotify(this.prevhash);
    this.branch = merkleBranch(template.transactions.map((t) => t.txid));
    this.branchBufs = this.branch.map((h) => Buffer.from(h, "hex"));
    this.branchJson = JSON.stringify(this.branch);
    this.versionHex = uint32ToHex(template.version);
    this.nbits = template.bits.toLowerCase();
    this.nbitsValue = parseInt(this.nbits, 16) >>> 0;
    this.networkTarget = bitsToTarget(this.nbits);
    this.maxDifficultyUnits = networkDifficultyUnits(this.networkTarget);
    this.maxDifficulty = unitsToDifficulty(this.maxDifficultyUnits);
    this.maxDifficultyNumber = Number(this.maxDifficulty);
    if (template.defaultWitnessCommitment) {
      this.witnessCommitment = hexToBuffer(template.defaultWitnessCommitment, "defaultWitnessCommitment");
      this.hasWitnessCommitment = true;
    } else {
      this.hasWitnessCommitment = false;
    }
  }

  /**
   * Coinbase halves committing to `address` (lower-case 0x) and the share difficulty (units),
   * built once per template and pair. `key` is the caller's cache key for the pair.
   */
  partsFor(address: string, difficultyUnits: bigint, key: string): CoinbaseParts {
    let p = this.parts.get(key);
    if (p === undefined) {
      const { coinb1, coinb2 } = buildCoinbaseParts({
        height: this.template.height,
        payoutAddress: address,
        shareDifficultyUnits: difficultyUnits,
        poolTag: this.opts.poolTag,
        extranonce1Size: this.opts.extranonce1Size,
        extranonce2Size: this.opts.extranonce2Size,
        outputs: [{ value: this.template.coinbaseValue, script: this.opts.payoutScript }],
        witnessCommitment: this.witnessCommitment,
      });
      p = { coinb1, coinb2, coinb1Buf: Buffer.from(coinb1, "hex"), coinb2Buf: Buffer.from(coinb2, "hex") };
      this.parts.set(key, p);
    }
    return p;
  }
}

export interface CoinbaseOptions {
  poolTag?: string;
  extranonce1Size: number;
  extranonce2Size: number;
  /** Output script paid the block reward (the pool's own). */
  payoutScript: Buffer;
}

/**
 * The work currently handed out: a template plus the ntime of this issue. A new Work is made on
 * every template change and on the refresh timer (fresh ntime), sharing the TemplateWork when the
 * template did not change.
 */
export interface Work {
  readonly tw: TemplateWork;
  readonly ntime: number;
  readonly ntimeHex: string;
  readonly clean: boolean;
  /** Notify middle part (prevhash…ntime) per address and difficulty, shared by every session of the pair. */
  readonly notifyCache: Map<string, string>;
}

export function makeWork(tw: TemplateWork, now: number, clean: boolean): Work {
  const ntime = Math.max(tw.template.curtime, tw.template.mintime, Math.floor(now / 1000));
  return { tw, ntime, ntimeHex: uint32ToHex(ntime), clean, notifyCache: new Map() };
}

/** `","prevhash","coinb1","coinb2",[branch],"version","nbits","ntime",` for one address. */
export function notifyMiddle(work: Work, parts: CoinbaseParts): string {
  const tw = work.tw;
  return `","${tw.prevhash}","${parts.coinb1}","${parts.coinb2}",${tw.branchJson},"${tw.versionHex}","${tw.nbits}","${work.ntimeHex}",`;
}

/** A job as one session received it: the work, its coinbase parts and the difficulty it was sent with. */
export interface SessionJob {
  readonly id: string;
  readonly work: Work;
  readonly parts: CoinbaseParts;
  /** The difficulty the job was sent with and its coinbase commits to (the credited difficulty). */
  readonly difficulty: string;
  readonly difficultyUnits: bigint;
  readonly target: bigint;
}

/** A closed session's jobs, kept for a resume by its subscription id. */
export interface ResumableState {
  address: string;
  generation: number;
  jobs: SessionJob[];
  staleIds: Set<string> | null;
}
