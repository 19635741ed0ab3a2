import type { EpochSummary, MinerClaim, MinerInfo } from "../../api/types";
import { Amount } from "../../components/Amount";
import { Countdown } from "../../components/Countdown";
import { StateBadge } from "../../components/StateBadge";
import { useConfig } from "../../config";
import { formatHashrate, formatTime, shortHex, timeAgo } from "../../format";
import { href } from "../../routes";

/** Who sent a payment: the miner itself, the pool's automatic payouts, or someone else (a relayer). */
function sentBy(c: MinerClaim, miner: MinerInfo): string {
  if (c.sender.toLowerCase() === miner.address.toLowerCase()) return "you";
  if (miner.payouts.some((p) => p.txHash.toLowerCase() === c.txHash.toLowerCase())) return "the pool (automatic payout)";
  return `${shortHex(c.sender, 4)} (${c.via === "claimMany" ? "batch" : "claim"} for you)`;
}

/** The state of epoch `n` as the chain has it: a pending one counts down to when it can be accepted. */
function EpochState({ epoch }: { epoch: EpochSummary | undefined }) {
  if (!epoch) return <span class="muted">—</span>;
  return (
    <>
      <StateBadge state={epoch.state} />
      {epoch.state === "proposed" && epoch.validAt ? (
        <>
          {" "}
          <Countdown until={epoch.validAt} />
        </>
      ) : null}
    </>
  );
}

export function MinerTables({ miner, epochs = [] }: { miner: MinerInfo; epochs?: EpochSummary[] }) {
  const config = useConfig();
  const byNumber = new Map(epochs.map((e) => [e.epoch, e]));
  const claims = miner.claims ?? [];
  const automatic = config.payoutThreshold !== undefined && config.payoutThreshold !== null;
  return (
    <>
      <section class="card">
        <h2>Workers</h2>
        {miner.workers.length === 0 ? (
          <p class="muted">No worker has sent a share in the last hour.</p>
        ) : (
          <table data-testid="workers">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Hash rate</th>
                <th>Shares</th>
                <th>Last share</th>
              </tr>
            </thead>
            <tbody>
              {miner.workers.map((w) => (
                <tr key={w.name}>
                  <td>{w.name || "(default)"}</td>
                  <td>{formatHashrate(w.hashrate)}</td>
                  <td>{w.shares}</td>
                  <td>{timeAgo(w.lastShareAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card">
        <h2>Allocation by epoch</h2>
        {miner.epochs.length === 0 ? (
          <p class="muted">No epoch has allocated anything to this address yet.</p>
        ) : (
          <table data-testid="miner-epochs">
            <thead>
              <tr>
                <th>Epoch</th>
                <th>State</th>
                <th>This epoch</th>
                <th>Cumulative</th>
              </tr>
            </thead>
            <tbody>
              {miner.epochs.map((e) => (
                <tr key={e.epoch} data-epoch={e.epoch} data-state={byNumber.get(e.epoch)?.state}>
                  <td>
                    <a href={href.audit(e.epoch)}>{e.epoch}</a>
                  </td>
                  <td>
                    <EpochState epoch={byNumber.get(e.epoch)} />
                  </td>
                  <td>
                    <Amount raw={e.delta} />
                  </td>
                  <td>
                    <Amount raw={e.cumulative} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card">
        <h2>Payments received</h2>
        {claims.length === 0 ? (
          <p class="muted" data-testid="miner-claims-none">
            The contract has paid nothing to this address yet.
          </p>
        ) : (
          <table data-testid="miner-claims">
            <thead>
              <tr>
                <th>Transaction</th>
                <th>Amount</th>
                <th>Sent by</th>
                <th>Time</th>
              </tr>
            </thead>
            <tbody>
              {claims.map((c) => (
                <tr key={`${c.txHash}-${c.cumulative}`} data-tx={c.txHash} data-via={c.via}>
                  <td>
                    <code title={c.txHash}>{shortHex(c.txHash, 8)}</code>
                  </td>
                  <td>
                    <Amount raw={c.amount} />
                  </td>
                  <td data-testid="claim-sender">{sentBy(c, miner)}</td>
                  <td>{formatTime(c.time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="muted">
          From the contract's Claimed and ClaimedMany events: claims sent from a wallet or the command line, by you or anyone
          {automatic || miner.payouts.length > 0 ? ", and the pool's automatic payouts" : ""}.
        </p>
      </section>
      <section class="card">
        <h2>Automatic payouts</h2>
        {miner.payoutAside && (
          <p class="notice" data-testid="miner-payout-aside">
            Automatic payouts set this address aside: its claim fails on its own ({miner.payoutAside.reason}). The others are paid
            without it; it is tried again at {formatTime(miner.payoutAside.nextRetryAt)} (attempt {miner.payoutAside.attempts}). You can
            claim yourself from the claim page at any time.
          </p>
        )}
        {!automatic && miner.payouts.length === 0 ? (
          <p class="muted" data-testid="miner-payouts-off">
            This pool sends no automatic payouts: claim what is claimable from the <a href={href.claim(miner.address)}>claim page</a> or
            the command line.
          </p>
        ) : miner.payouts.length === 0 ? (
          <p class="muted">No automatic payout has been sent to this address yet.</p>
        ) : (
          <>
            {!automatic && (
              <p class="muted" data-testid="miner-payouts-off">
                This pool sends no automatic payouts now: the ones below were sent before. Claim what is claimable from the{" "}
                <a href={href.claim(miner.address)}>claim page</a> or the command line.
              </p>
            )}
            <table data-testid="miner-payouts">
              <thead>
                <tr>
                  <th>Transaction</th>
                  <th>Amount</th>
                  <th>Status</th>
                  <th>Time</th>
                </tr>
              </thead>
              <tbody>
                {miner.payouts.map((p) => (
                  <tr key={p.txHash}>
                    <td>
                      <code title={p.txHash}>{shortHex(p.txHash, 8)}</code>
                    </td>
                    <td>
                      <Amount raw={p.amount} />
                    </td>
                    <td>
                      <StateBadge state={p.status} />
                    </td>
                    <td>{formatTime(p.time)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
    </>
  );
}
