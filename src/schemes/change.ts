/**
 * The pool's start check of its payout parameters against the epochs already built (issue 14: a
 * change of scheme or fee applies from an announced epoch on, never retroactively). The next
 * epoch the builder would write is checked with the auditor's own rule (verifyParameters,
 * src/audit/consistency.ts) against the newest epoch built, so a configuration that would make the
 * next epoch fail the audit is refused before any share is taken, naming the setting to fix:
 *  - `payout.change.fromEpoch` not after the next epoch (a change must be announced in at least
 *    one epoch before it applies), unless an earlier epoch already announced it or it already applied;
 *  - `payout.scheme` / `pplns.feeBps` / `pplns.factor` edited on a running pool without an announcement;
 *  - `payout.change` differing from (or dropping) a change an epoch already announced.
 */
import { verifyParameters, type ParameterFields } from "../audit/consistency";
import type { EpochParams } from "../epochs/assemble";
import type { EpochHeader } from "../epochs/format";
import type { PayoutScheme } from "./credit";

/** What EpochBuilder.nextParameters() says about the next epoch it would build. */
export interface NextEpochParameters {
  number: number;
  params: EpochParams & { scheme: PayoutScheme };
  previous?: EpochHeader;
}

/** A refused setting: the setting's name and why (a ConfigError's parts). */
export interface SettingProblem {
  setting: string;
  message: string;
}

/** The header fields the auditor's rule reads, for the epoch the builder would write next. */
function nextFields(next: NextEpochParameters): ParameterFields {
  const p = next.params;
  return {
    epoch: next.number,
    fee: { bps: p.feeBps },
    pplns: { factor: p.factor },
    ...(p.scheme !== "pplns" ? { scheme: { name: p.scheme } } : {}),
    ...(p.announce ? { parameters: p.announce } : {}),
  };
}

/**
 * Why the pool must not build its next epoch with these parameters, or undefined when the next
 * epoch passes the audit's parameter rule. `change` is the configured payout.change (fromEpoch is
 * an epoch number).
 */
export function parameterChangeProblem(next: NextEpochParameters, change: { fromEpoch: number } | undefined): SettingProblem | undefined {
  if (!next.previous) return undefined; // the first epoch: nothing to differ from (fromEpoch ≥ 2 is checked by the config)
  const findings = verifyParameters(nextFields(next), next.previous);
  if (findings.length === 0) return undefined;
  const prev = next.previous.epoch;
  if (change && change.fromEpoch <= next.number) {
    return {
      setting: "payout.change.fromEpoch",
      message: `is ${change.fromEpoch}, but epoch ${next.number} is the next epoch this pool builds (epoch ${prev} is built) and no earlier epoch announced this change: a change must be announced in at least one epoch before it applies, so set fromEpoch to ${next.number + 1} or later (the audit would find: ${findings.join("; ")})`,
    };
  }
  // The newest epoch announced a change (for the next epoch or a later one): it must be kept.
  const a = next.previous.parameters;
  if (a) {
    return {
      setting: "payout.change",
      message: `the next epoch (${next.number}) would fail the audit: ${findings.join("; ")}; epoch ${prev} announced a change from epoch ${a.fromEpoch}, which must be kept: set payout.change to { fromEpoch: ${a.fromEpoch}, feeBps: ${a.feeBps}${a.scheme ? `, scheme: "${a.scheme}"` : ""} }`,
    };
  }
  const first = findings[0];
  const setting = first.startsWith("fee ") ? "pplns.feeBps" : first.startsWith("PPLNS factor") ? "pplns.factor" : first.startsWith("payout scheme") ? "payout.scheme" : "payout.change";
  return {
    setting,
    message: `the next epoch (${next.number}) would fail the audit: ${findings.join("; ")}; keep the value epoch ${prev} was built with and announce the new one with payout.change (fromEpoch ${next.number + 1} or later)`,
  };
}
