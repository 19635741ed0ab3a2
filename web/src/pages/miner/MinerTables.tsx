import type { MinerInfo } from "../../api/types";
import { Amount } from "../../components/Amount";
import { StateBadge } from "../../components/StateBadge";
import { formatHashrate, formatTime, shortHex, timeAgo } from "../../format";
import { href } from "../../routes";

export function MinerTables({ miner }: { miner: MinerInfo }) {
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
                <th>This epoch</th>
                <th>Cumulative</th>
              </tr>
            </thead>
            <tbody>
              {miner.epochs.map((e) => (
                <tr key={e.epoch} data-epoch={e.epoch}>
                  <td>
                    <a href={href.audit(e.epoch)}>{e.epoch}</a>
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
        <h2>Payouts sent</h2>
        {miner.payoutAside && (
          <p class="notice" data-testid="miner-payout-aside">
            Automatic payouts set this address aside: its claim fails on its own ({miner.payoutAside.reason}). The others are paid
            without it; it is tried again at {formatTime(miner.payoutAside.nextRetryAt)} (attempt {miner.payoutAside.attempts}). You can
            claim yourself from the claim page at any time.
          </p>
        )}
        {miner.payouts.length === 0 ? (
          <p class="muted">No automatic payout has been sent to this address yet.</p>
        ) : (
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
        )}
      </section>
    </>
  );
}
