import type { PoolStats } from "../../api/types";
import { Amount } from "../../components/Amount";

/** The contract's balance beside what it still owes on the active root. */
export function Solvency({ contract }: { contract: PoolStats["contract"] }) {
  const balance = BigInt(contract.balance);
  const outstanding = BigInt(contract.outstanding);
  const covered = balance >= outstanding;
  const share = balance === 0n ? 0 : Number((outstanding * 1000n) / balance) / 10;
  return (
    <section class="card" data-testid="solvency">
      <h2>Solvency</h2>
      <div class="solvency">
        <div>
          <div class="stat-label">Contract balance</div>
          <div class="stat-value">
            <Amount raw={contract.balance} testId="contract-balance" />
          </div>
        </div>
        <div>
          <div class="stat-label">Outstanding allocations</div>
          <div class="stat-value">
            <Amount raw={contract.outstanding} testId="outstanding" />
          </div>
        </div>
      </div>
      <div class="meter" aria-hidden="true">
        <div class={covered ? "meter-fill" : "meter-fill bad"} style={{ width: `${Math.min(100, covered ? share : 100)}%` }} />
      </div>
      <p class={covered ? "ok-text" : "bad-text"} data-testid="solvency-verdict">
        {covered
          ? `Covered: the contract holds everything allocated and not yet claimed${outstanding > 0n ? ` (${share}% of its balance is owed)` : ""}.`
          : "Not covered: the contract holds less than it owes on the active root."}
      </p>
      <p class="muted">
        Funded in total <Amount raw={contract.totalFunded} />, allocated by the active root <Amount raw={contract.activeTotalCumulative} />,
        claimed <Amount raw={contract.totalClaimed} />.
      </p>
    </section>
  );
}
