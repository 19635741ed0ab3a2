/**
 * The timestamps of the last blocks of the node's best chain, kept up to date off the critical
 * path, so that on a new tip the next block's minimum time is known without asking the node
 * (which, on a new tip, is busy building its template under cs_main and answers late).
 *
 * Rule (BIP113, Bitcoin Core's GetMedianTimePast): a block's time must exceed the median of the
 * times of the 11 blocks ending at its parent. For a child of the new tip T (whose own time is
 * not known yet) over a known parent P, the 11 are T plus the 10 ending at P; whatever T's time,
 * that median is at most the 6th smallest of the 10 known times. So mintime = that + 1 is safe.
 */

export interface HeaderInfo {
  hash: string;
  height: number;
  time: number;
  previousblockhash?: string;
}

/** The 10 known blocks a bound needs (the median of 11 with one unknown). */
const KNOWN = 10;

export class RecentBlockTimes {
  /** Oldest first, each the parent of the next; at most KNOWN entries. */
  private chain: HeaderInfo[] = [];
  private following?: Promise<void>;
  private wanted?: string;

  /** `fetch` is getblockheader (verbose) by hash; it throws when the node cannot answer. */
  constructor(private readonly fetch: (hash: string) => Promise<HeaderInfo>) {}

  /** Hash of the newest block known, if any. */
  get tip(): string | undefined {
    return this.chain.length ? this.chain[this.chain.length - 1].hash : undefined;
  }

  /**
   * Minimum time (unix seconds) of a block two above `parentHash`'s chain position, i.e. of a
   * child of any block whose parent is `parentHash`; undefined unless `parentHash` is the newest
   * block known and the 10 blocks ending at it are known.
   */
  mintimeAfterChildOf(parentHash: string): number | undefined {
    if (this.tip !== parentHash || this.chain.length < KNOWN) return undefined;
    const times = this.chain.map((h) => h.time).sort((a, b) => a - b);
    return times[5] + 1;
  }

  /** Brings the window to end at `tipHash` (one header when it extends the window, else up to 10). Never throws; a failure leaves the window as it was. */
  follow(tipHash: string): Promise<void> {
    this.wanted = tipHash;
    if (!this.following) {
      this.following = this.run().finally(() => (this.following = undefined));
    }
    return this.following;
  }

  private async run(): Promise<void> {
    while (this.wanted !== undefined && this.wanted !== this.tip) {
      const target = this.wanted;
      try {
        const fetched: HeaderInfo[] = [];
        let hash: string | undefined = target;
        while (hash !== undefined && fetched.length < KNOWN) {
          if (hash === this.tip) break;
          const h: HeaderInfo = await this.fetch(hash);
          fetched.unshift(h);
          hash = h.previousblockhash;
        }
        const joined = hash !== undefined && hash === this.tip ? [...this.chain, ...fetched] : fetched;
        this.chain = joined.slice(-KNOWN);
      } catch {
        if (this.wanted === target) this.wanted = undefined;
        return;
      }
    }
  }
}
