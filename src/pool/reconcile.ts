import type { Logger } from "pino";
import type { EmbeddedChain } from "../chain";
import type { ShareStore } from "../shares";

/** Thrown at start when the store and the embedded chain file disagree in a way that cannot be repaired. */
export class ChainStoreMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChainStoreMismatchError";
  }
}

export interface ReconcileReport {
  /** Unpaid store blocks the chain does not have: marked orphaned (they will never pay). */
  orphaned: string[];
  /** Chain blocks the store does not know (found, saved by the chain, not recorded by the store). */
  unknownToStore: string[];
}

/**
 * Checks at start that the embedded chain file and the share store agree on the pool's blocks
 * (issue 16, item 3: a failed write of one must never leave them disagreeing).
 *
 * - A block the store holds as **paid** (in an epoch) that the chain does not have cannot be
 *   repaired: its reward is already in a Merkle root. The pool refuses to start
 *   (ChainStoreMismatchError naming the blocks, the chain file and what to do).
 * - An unpaid block (pending or confirmed) the chain does not have is marked orphaned, so it is
 *   never paid, with a warning.
 * - A chain block the store does not know is reported (its reward is not distributed).
 */
export async function reconcileEmbeddedChain(chain: EmbeddedChain, store: ShareStore, logger: Logger): Promise<ReconcileReport> {
  const report: ReconcileReport = { orphaned: [], unknownToStore: [] };
  const stored = await store.blocks();
  const lost: string[] = [];
  for (const b of stored) {
    if (chain.block(b.hash) !== undefined) continue;
    if (b.epoch !== null) {
      lost.push(`height ${b.height} ${b.hash} (paid in epoch ${b.epoch})`);
    } else if (b.status !== "orphaned") {
      await store.updateBlock(b.hash, { status: "orphaned", confirmations: 0 });
      report.orphaned.push(b.hash);
      logger.warn({ height: b.height, hash: b.hash, status: b.status }, "store block missing from the embedded chain: marked orphaned, it will never pay");
    }
  }
  if (lost.length > 0) {
    throw new ChainStoreMismatchError(
      `the share store holds ${lost.length} paid block(s) that the embedded chain file ${chain.filePath ?? "(in memory)"} does not have: ` +
        `${lost.join(", ")}. The chain file was lost, truncated or replaced after these blocks were paid; ` +
        `restore it from a backup of the same data directory (or move the whole data directory aside to start a new pool). ` +
        `Refusing to start: mining on a chain that forgot paid blocks would pay their rewards twice.`,
    );
  }
  const known = new Set(stored.map((b) => b.hash));
  for (const b of chain.blocks()) if (!known.has(b.hash)) report.unknownToStore.push(b.hash);
  if (report.unknownToStore.length > 0) {
    logger.warn({ blocks: report.unknownToStore }, "embedded chain blocks the store never recorded (not paid to miners)");
  }
  return report;
}
