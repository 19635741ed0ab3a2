import type { BlockFound } from "../../api/types";
import { Amount } from "../../components/Amount";
import { StateBadge } from "../../components/StateBadge";
import { formatTime, shortHex, timeAgo } from "../../format";
import { href } from "../../routes";

export function BlocksTable({ blocks }: { blocks: BlockFound[] }) {
  if (blocks.length === 0) return <p class="muted">No block found yet.</p>;
  return (
    <div class="table-wrap">
      <table data-testid="blocks">
        <thead>
          <tr>
            <th>Height</th>
            <th>Hash</th>
            <th>Reward</th>
            <th>Confirmations</th>
            <th>Status</th>
            <th>Epoch</th>
            <th>Found by</th>
            <th>Found</th>
          </tr>
        </thead>
        <tbody>
          {blocks.map((b) => (
            <tr key={b.hash} data-height={b.height}>
              <td>{b.height}</td>
              <td>
                <code title={b.hash} data-hash={b.hash}>
                  {shortHex(b.hash, 8)}
                </code>
              </td>
              <td>
                <Amount raw={b.reward} />
              </td>
              <td>{b.confirmations}</td>
              <td>
                <StateBadge state={b.status} />
              </td>
              <td>{b.epoch === null ? "—" : <a href={href.audit(b.epoch)}>{b.epoch}</a>}</td>
              <td>
                <a href={href.miner(b.finder)} title={b.finder}>
                  {shortHex(b.finder, 4)}
                </a>
                {b.worker ? `.${b.worker}` : ""}
              </td>
              <td title={formatTime(b.time)}>{timeAgo(b.time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
