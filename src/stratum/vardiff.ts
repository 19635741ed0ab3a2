export interface VardiffSettings {
  /** Seconds per share each connection should average. */
  targetShareSeconds: number;
  /** Retarget after this many shares... */
  retargetShares: number;
  /** ...or after this many seconds, whichever comes first. */
  retargetSeconds: number;
  /** Do nothing while the observed rate is within this fraction of the target (0.3 = ±30 %). */
  tolerance: number;
  /** Largest change factor per retarget (the smallest is its inverse). */
  maxFactor: number;
}

export const DEFAULT_VARDIFF: VardiffSettings = {
  targetShareSeconds: 10,
  retargetShares: 12,
  retargetSeconds: 60,
  tolerance: 0.3,
  maxFactor: 4,
};

/** Per-connection share counting since the last retarget. */
export class VardiffState {
  since: number;
  shares = 0;
  constructor(now: number) {
    this.since = now;
  }
  reset(now: number): void {
    this.since = now;
    this.shares = 0;
  }
}

/**
 * Proposes a new difficulty from the share rate observed since the last retarget, or null to keep
 * the current one. Change is clamped to [1/maxFactor, maxFactor] per step and to [min, max].
 * With `idle` (called from a timer, not a share) it only ever lowers the difficulty, so a miner
 * that finds nothing at its difficulty is not left waiting forever.
 */
export function proposeDifficulty(
  s: VardiffSettings,
  state: VardiffState,
  current: number,
  min: number,
  max: number,
  now: number,
  idle: boolean,
): number | null {
  const elapsed = (now - state.since) / 1000;
  if (!idle && state.shares < s.retargetShares && elapsed < s.retargetSeconds) return null;
  if (idle && elapsed < s.retargetSeconds) return null;
  // With no share yet, count half a share: an estimate that errs towards lowering gently.
  const shares = state.shares === 0 ? 0.5 : state.shares;
  const secondsPerShare = Math.max(elapsed, 0.001) / shares;
  let factor = s.targetShareSeconds / secondsPerShare;
  if (idle && factor >= 1) return null;
  if (Math.abs(factor - 1) <= s.tolerance) {
    state.reset(now);
    return null;
  }
  factor = Math.min(s.maxFactor, Math.max(1 / s.maxFactor, factor));
  const next = Math.min(max, Math.max(min, current * factor));
  state.reset(now);
  if (Math.abs(next - current) <= current * 1e-9) return null;
  return next;
}
