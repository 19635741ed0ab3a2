import { sharesLogUrl } from "../../api/client";
import type { EpochSummary } from "../../api/types";
import { Amount } from "../../components/Amount";
import { Countdown } from "../../components/Countdown";
import { StateBadge } from "../../components/StateBadge";
import { rootStates } from "../../epochState";
import { shortHex } from "../../format";
import { href } from "../../routes";

export function RootsTable({ epochs }: { epochs: EpochSummary[] }) {
  if (epochs.length === 0) return <p class="muted">No root committed yet: the first comes once a found block is confirmed.</p>;
  const states = rootStates(epochs);
  return (
    <div class="table-wrap">
      <table data-testid="roots">
        <thead>
          <tr>
            <th>Epoch</th>
            <th>State</th>
            <th>Root</th>
            <th>Total allocated</th>
            <th>Blocks</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {epochs.map((e) => (
            <tr key={e.epoch} data-epoch={e.epoch} data-state={states.get(e.epoch)}>
              <td>{e.epoch}</td>
              <td>
                <StateBadge state={states.get(e.epoch)!} />{" "}
                {e.state === "proposed" && e.validAt ? <Countdown until={e.validAt} /> : null}
              </td>
              <td>
                <code title={e.root} data-root={e.root}>
                  {shortHex(e.root, 8)}
                </code>
              </td>
              <td>
                <Amount raw={e.totalCumulative} />
              </td>
              <td>{e.blocks.join(", ") || "—"}</td>
              <td class="links">
                <a href={href.audit(e.epoch)}>audit</a> · <a href={sharesLogUrl(e.epoch)}>share log</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
