/**
 * FPPS fee windows (fs-free: shared by the builder and the auditor, the browser's included): the
 * sum of the per-block fees (satoshis) of the blocks before a share's height (credit.ts
 * `feeWindow`), each block's fee read once from the given source (the pool: its bitcoind; the
 * auditor: its own node's getblockstats).
 */
import { FEE_WINDOW_BLOCKS, feeWindow } from "./credit";

/** Sums of fees over FPPS fee windows, each block's fee read once. */
export class FeeWindows {
  private readonly perBlock = new Map<number, Promise<bigint>>();
  private readonly sums = new Map<number, Promise<{ sum: bigint; blocks: number }>>();

  constructor(
    private readonly read: (height: number) => Promise<bigint | undefined>,
    private readonly blocks = FEE_WINDOW_BLOCKS,
  ) {}

  /** The fee window's sum and block count for a share mined at `height`. Throws when a block's fee cannot be read. */
  at(height: number): Promise<{ sum: bigint; blocks: number }> {
    let p = this.sums.get(height);
    if (!p) {
      p = (async () => {
        const w = feeWindow(height, this.blocks);
        let sum = 0n;
        for (let h = w.from; h <= w.to; h++) sum += await this.fee(h);
        return { sum, blocks: w.n };
      })();
      this.sums.set(height, p);
    }
    return p;
  }

  private fee(height: number): Promise<bigint> {
    let p = this.perBlock.get(height);
    if (!p) {
      p = this.read(height).then((v) => {
        if (v === undefined) throw new Error(`the chain has no block at height ${height}: its fees are unknown`);
        if (v < 0n) throw new Error(`block ${height}: negative fees ${v}`);
        return v;
      });
      this.perBlock.set(height, p);
    }
    return p;
  }
}

