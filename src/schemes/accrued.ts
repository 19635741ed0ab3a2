/**
 * What a PPS/FPPS operator owes for shares accepted since its last epoch was built: each accepted
 * share's credit (shareCredit, the rule the epoch builder and the auditor use) at its own nbits
 * and height, summed per second of acceptance so that building an epoch settles the seconds it
 * covered. For the API's and the page's "reserve against what it owes" (issue 14).
 *
 * An estimate, said as such: FPPS credits are counted without their fee part (the 144-block
 * average is read when the epoch is built), so they are a lower bound; a share accepted in the
 * second an epoch is built may fall on either side; shares accepted before this process started
 * are not counted (the next epoch pays them all the same).
 */
import { difficultyToUnits } from "../shares/difficulty";
import { shareCredit } from "./credit";

export interface AccruedOptions {
  /** The fee (bps) and scheme that apply to the next epoch; shares accrue only under pps/fpps. */
  current: () => { scheme: string; feeBps: number };
  /** Token units per satoshi of the contract's asset. */
  unitsPerSatoshi: bigint;
  /** The subsidy (satoshis) of a block at `height`, as the chain's schedule gives it. */
  subsidyAt: (height: number) => bigint;
}

export class AccruedCredits {
  /** Credits (token units) per second of acceptance, oldest first. */
  private readonly seconds = new Map<number, bigint>();
  private readonly credits = new Map<string, bigint>();

  constructor(private readonly options: AccruedOptions) {}

  /**
   * Adds an accepted share: its difficulty (decimal, as credited: the one its coinbase commits
   * to), nbits (8 hex), the height it mines, its acceptance time (ms). Never throws: a share whose
   * credit cannot be computed adds nothing.
   */
  add(share: { difficulty: string; nbits: string; height: number; time: number }): void {
    const { scheme, feeBps } = this.options.current();
    if (scheme !== "pps" && scheme !== "fpps") return;
    // On the share path: shares of one job (difficulty, bits, height) have one credit, computed once.
    const key = `${share.difficulty}|${share.nbits}|${share.height}|${feeBps}`;
    let credit = this.credits.get(key);
    if (credit === undefined) {
      try {
        credit = shareCredit({ units: difficultyToUnits(share.difficulty), nbits: share.nbits, subsidy: this.options.subsidyAt(share.height), feeBps, unitsPerSatoshi: this.options.unitsPerSatoshi });
      } catch {
        return;
      }
      if (this.credits.size >= 10_000) this.credits.clear();
      this.credits.set(key, credit);
    }
    const s = Math.floor(share.time / 1000);
    this.seconds.set(s, (this.seconds.get(s) ?? 0n) + credit);
  }

  /** An epoch was built from the shares accepted before `timeMs`: they are no longer accruing. */
  settle(timeMs: number): void {
    const cut = Math.floor(timeMs / 1000);
    for (const s of [...this.seconds.keys()]) if (s < cut) this.seconds.delete(s);
  }

  /** Token units accrued since the last settle. */
  total(): bigint {
    let t = 0n;
    for (const v of this.seconds.values()) t += v;
    return t;
  }
}
