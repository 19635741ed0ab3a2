import type { AcceptedShare, FoundBlock, ShareSink } from "./events";

/** Keeps accepted shares in memory (tests, benchmarks, demos without a store). */
export class MemoryShareSink implements ShareSink {
  readonly shares: AcceptedShare[] = [];
  readonly blocks: FoundBlock[] = [];
  /** When set, record() rejects with this error (to test the not-stored path). */
  failWith: Error | null = null;
  /** Keep at most this many shares (oldest dropped); counts stay exact. */
  constructor(private readonly keep = Infinity) {}
  count = 0;

  record(share: AcceptedShare): Promise<void> {
    if (this.failWith !== null) return Promise.reject(this.failWith);
    this.count++;
    this.shares.push(share);
    if (this.shares.length > this.keep) this.shares.shift();
    return Promise.resolve();
  }

  recordBlock(block: FoundBlock): Promise<void> {
    this.blocks.push(block);
    return Promise.resolve();
  }
}
