import type { PoolStats } from "../../api/types";
import { Amount } from "../../components/Amount";
import { Notice } from "../../components/Notice";

/** 3600 → "hour", 7200 → "2 h", 900 → "15 min", 61 → "61 s" (payout.intervalSeconds, seconds). */
function intervalText(seconds: number): string {
  if (seconds === 3600) return "hour";
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const SCHEME_NAMES: Record<string, string> = { pplns: "PPLNS", pps: "PPS", fpps: "FPPS" };

/** A change of scheme or fee announced for a later epoch (payout.change), as the epoch files announce it. */
function AnnouncedChange({ change }: { change: NonNullable<PoolStats["payout"]>["change"] }) {
  if (!change) return null;
  return (
    <div data-testid="payout-change" data-from-epoch={change.fromEpoch} data-scheme={change.scheme} data-fee-bps={change.feeBps}>
      <Notice kind="info" title="Announced change:">
        from epoch {change.fromEpoch} on, this pool pays {SCHEME_NAMES[change.scheme] ?? change.scheme} with a fee of {change.feeBps / 100}%
        {change.scheme !== "pplns" ? "; from then the operator must hold a reserve to fund each epoch's credits" : ""}. Every epoch file
        before it announces the change, so an auditor can check it was announced ahead.
      </Notice>
    </div>
  );
}

/**
 * The payout scheme, and under PPS/FPPS the operator's reserve against what it owes (issue 14),
 * from `/api/stats` `payout` (docs/api.md): `owed` = credits of the latest built epoch not yet
 * funded into the contract plus `accrued` (the shares accepted since that epoch), `reserve` = the
 * operator key's balance of the asset, all in the asset's smallest unit. Under PPLNS the miners share the blocks actually found, so the operator
 * carries no luck and needs no reserve.
 */
export function OperatorReserve({ payout }: { payout: NonNullable<PoolStats["payout"]> }) {
  const name = SCHEME_NAMES[payout.scheme] ?? payout.scheme;
  if (payout.scheme === "pplns") {
    return (
      <section class="card" data-testid="operator-reserve" data-scheme={payout.scheme}>
        <h2>Payout scheme</h2>
        <p>
          <strong data-testid="payout-scheme">{name}</strong>: each confirmed block is split over the last N shares before it, so miners
          carry the pool's luck and the operator owes only what blocks found paid in.{" "}
          <span data-testid="reserve-not-needed">No operator reserve is needed.</span>
        </p>
        <AnnouncedChange change={payout.change} />
      </section>
    );
  }
  const owed = BigInt(payout.owed);
  const reserve = payout.reserve === null ? null : BigInt(payout.reserve);
  // Share of the reserve that the owed credits take, in tenths of a percent (the meter's width).
  const share = reserve === null ? 0 : reserve === 0n ? (owed === 0n ? 0 : 100) : Number((owed * 1000n) / reserve) / 10;
  return (
    <section class="card" data-testid="operator-reserve" data-scheme={payout.scheme}>
      <h2>Payout scheme and operator reserve</h2>
      <p>
        <strong data-testid="payout-scheme">{name}</strong>: every accepted share is paid its expected value of the block subsidy
        {payout.scheme === "fpps" ? " and of the fees (averaged over the previous 144 blocks)" : ""}, whether or not the pool finds
        blocks; an epoch closes{" "}
        <span data-testid="payout-interval">{payout.intervalSeconds !== undefined ? `every ${intervalText(payout.intervalSeconds)}` : "on a schedule"}</span>
        . The operator keeps the blocks found and carries the luck: it must fund each epoch's credits from its reserve before proposing
        the root (the contract refuses a root above what was funded).
      </p>
      <AnnouncedChange change={payout.change} />
      <div class="solvency">
        <div>
          <div class="stat-label">Owed (not yet funded)</div>
          <div class="stat-value">
            <Amount raw={payout.owed} testId="payout-owed" />
          </div>
          {payout.accrued !== undefined && (
            <div class="muted">
              of which <Amount raw={payout.accrued} testId="payout-accrued" /> for shares accepted since the last epoch (an estimate
              {payout.scheme === "fpps" ? ", without their fee part" : ""})
            </div>
          )}
        </div>
        <div>
          <div class="stat-label">Operator reserve</div>
          <div class="stat-value">
            {reserve === null ? <span data-testid="payout-reserve" data-raw="">unknown</span> : <Amount raw={payout.reserve} testId="payout-reserve" />}
          </div>
        </div>
      </div>
      {reserve !== null && (
        <div class="meter" aria-hidden="true">
          <div class={payout.covered ? "meter-fill" : "meter-fill bad"} style={{ width: `${Math.min(100, payout.covered ? share : 100)}%` }} />
        </div>
      )}
      {payout.covered === true && (
        <p class="ok-text" data-testid="payout-covered" data-covered="true">
          Covered: the operator's reserve holds what it owes{owed > 0n ? ` (${share}% of it)` : " (nothing is owed right now)"}.
        </p>
      )}
      {payout.covered === false && (
        <div data-testid="payout-covered" data-covered="false">
          <Notice kind="error" title="Not covered:">
            the operator's reserve holds less than the credits it owes. Until it is funded the new root cannot be proposed, so miners
            are not paid for these shares yet; their credits stay in the published epoch file and are paid once it is funded.
          </Notice>
        </div>
      )}
      {payout.covered === null && (
        <p class="muted" data-testid="payout-covered" data-covered="unknown">
          The operator's reserve is unknown (this API has no operator key): whether it covers what is owed cannot be said here.
        </p>
      )}
    </section>
  );
}
