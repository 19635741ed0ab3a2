import type { BlockTemplate } from "./types";

/**
 * Work on a new tip before the node's full template exists: a coinbase-only template (no
 * transactions) built from the previous template and the new tip's header. It is what a pool
 * sends in the milliseconds between learning of a block and receiving getblocktemplate's answer,
 * so miners stop hashing on the old tip at once; the full template follows with newBlock=false.
 *
 * Only chains whose consensus rules for the next header are known here get one (Bitcoin's
 * mainnet and regtest, Bitcoin Core's chainparams.cpp): testnet3/4 have the 20-minute
 * minimum-difficulty rule and signet needs a signature in the coinbase, so they wait for the node.
 */

/** Consensus constants a coinbase-only template depends on (Bitcoin Core, kernel/chainparams.cpp). */
export interface QuickTemplateRules {
  /** nSubsidyHalvingInterval: blocks per halving of the 50-coin subsidy. */
  halvingInterval: number;
  /** DifficultyAdjustmentInterval (2016 on mainnet), or null where bits never change (regtest: fPowNoRetargeting). */
  retargetInterval: number | null;
  /** nMinerConfirmationWindow: version bits may change only at multiples of it (BIP9). */
  versionWindow: number;
}

/** Keyed by getblockchaininfo's `chain`. */
export const QUICK_TEMPLATE_RULES: Readonly<Record<string, QuickTemplateRules>> = {
  main: { halvingInterval: 210_000, retargetInterval: 2016, versionWindow: 2016 },
  regtest: { halvingInterval: 150, retargetInterval: null, versionWindow: 144 },
};

/** The new tip, as waitfornewblock gives it, and the earliest time a child of it may have. */
export interface NewTip {
  hash: string;
  height: number;
  /**
   * Minimum time of the next block (unix seconds): above the median time past of the tip
   * (getblockheader's mediantime + 1, or RecentBlockTimes' bound).
   */
  mintime: number;
}

/** Block subsidy at `height` in satoshis: 50 BTC halved every `halvingInterval` blocks (validation.cpp GetBlockSubsidy). */
export function blockSubsidy(height: number, halvingInterval: number): bigint {
  if (!Number.isSafeInteger(height) || height < 0) throw new RangeError(`height must be a non-negative integer, got ${height}`);
  const halvings = Math.floor(height / halvingInterval);
  return halvings >= 64 ? 0n : 5_000_000_000n >> BigInt(halvings);
}

export type CoinbaseOnlyResult = { template: BlockTemplate } | { skip: string };

/**
 * The coinbase-only template on `tip`, or the reason why none can be made safely (then the caller
 * waits for the node's template). `previous` is the template the pool was serving, for the height
 * `tip` now holds; `nowSeconds` is the wall clock. The result has height tip.height + 1, the
 * previous bits and version (neither changes inside a retarget period / version-bits window, which
 * is checked), time max(now, tip.mintime), no transactions, no witness commitment (none is needed
 * without witness transactions, BIP141) and the subsidy alone.
 */
export function coinbaseOnlyTemplate(chain: string | undefined, previous: BlockTemplate, tip: NewTip, nowSeconds: number, id: string): CoinbaseOnlyResult {
  const rules = chain === undefined ? undefined : QUICK_TEMPLATE_RULES[chain];
  if (!rules) return { skip: `chain ${JSON.stringify(chain ?? null)} has no coinbase-only rules` };
  if (tip.height !== previous.height) return { skip: `new tip at height ${tip.height} does not replace the block the pool was mining (${previous.height})` };
  if (tip.hash === previous.previousBlockHash) return { skip: "tip unchanged" };
  const height = tip.height + 1;
  if (rules.retargetInterval !== null && height % rules.retargetInterval === 0) return { skip: `height ${height} is a difficulty retarget` };
  if (Math.floor(height / rules.versionWindow) !== Math.floor(previous.height / rules.versionWindow)) return { skip: `height ${height} starts a new version-bits window` };
  // The previous template must agree with these rules (subsidy + its fees), or the rules are not this chain's.
  const fees = previous.transactions.reduce((s, t) => s + t.fee, 0n);
  if (previous.coinbaseValue - fees !== blockSubsidy(previous.height, rules.halvingInterval)) {
    return { skip: `previous template's subsidy ${previous.coinbaseValue - fees} is not ${chain}'s at height ${previous.height}` };
  }
  if (!Number.isSafeInteger(tip.mintime) || tip.mintime < previous.mintime) return { skip: `mintime ${tip.mintime} is not a time at or after the previous template's ${previous.mintime}` };
  const mintime = tip.mintime;
  return {
    template: {
      height,
      previousBlockHash: tip.hash.toLowerCase(),
      version: previous.version,
      bits: previous.bits,
      curtime: Math.max(Math.floor(nowSeconds), mintime),
      mintime,
      coinbaseValue: blockSubsidy(height, rules.halvingInterval),
      transactions: [],
      id,
    },
  };
}
