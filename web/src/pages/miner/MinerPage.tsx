import { api } from "../../api/client";
import type { HashratePoint, MinerInfo } from "../../api/types";
import { addressProblem } from "../../address";
import { AddressForm } from "../../components/AddressForm";
import { Amount } from "../../components/Amount";
import { Loaded } from "../../components/Loaded";
import { Notice } from "../../components/Notice";
import { StatCard } from "../../components/StatCard";
import { TimeChart } from "../../components/TimeChart";
import { formatHashrate, formatNumber } from "../../format";
import { useResource } from "../../hooks/useResource";
import { BUCKET_MS, HASHRATE_WINDOW_LABEL, HASHRATE_WINDOW_MS, smoothSeries } from "../../series";
import { href, navigate } from "../../routes";
import { MinerTables } from "./MinerTables";

/** One chart series per worker seen in the window. */
function workerSeries(points: HashratePoint[]) {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.workers ?? {})))].sort();
  if (names.length === 0) return [{ label: "total", values: points.map((p) => p.hashrate) }];
  return names.map((name) => ({ label: name || "(default)", values: points.map((p) => p.workers?.[name] ?? 0) }));
}

function isUnknown(m: MinerInfo): boolean {
  return m.workers.length === 0 && m.epochs.length === 0 && BigInt(m.allocated) === 0n && m.sharesInWindow.count === 0;
}

function MinerDetails({ address }: { address: string }) {
  const miner = useResource(() => api.miner(address), [address]);
  // The chart averages over the tile's window, so its last point and the tile agree.
  const hashrate = useResource(() => api.hashrate(address).then((p) => smoothSeries(p, HASHRATE_WINDOW_MS / BUCKET_MS)), [address]);
  // Epoch states (pending ones with their countdown) for the allocation table.
  const epochs = useResource(() => api.epochs(), [address]);
  return (
    <Loaded resource={miner} what="this miner">
      {(m) => (
        <>
          {isUnknown(m) && (
            <Notice kind="info" title="Nothing here yet.">
              This pool has no share and no allocation for {m.address}. If your miner is running, check that this is the address it uses
              as its user name; the page updates by itself once shares arrive.
            </Notice>
          )}
          <div class="stats">
            <StatCard label={`Hash rate (${HASHRATE_WINDOW_LABEL})`} testId="miner-hashrate">
              {formatHashrate(m.hashrate)} <a href={href.schemes(m.address)}>what each payout scheme pays it</a>
            </StatCard>
            <StatCard label="Shares in the current window" testId="miner-shares">
              {m.sharesInWindow.count} <small>difficulty {formatNumber(m.sharesInWindow.difficulty)}</small>
            </StatCard>
            <StatCard label="Allocated" testId="miner-allocated">
              <Amount raw={m.allocated} />
            </StatCard>
            <StatCard label="Claimed" testId="miner-claimed">
              <Amount raw={m.claimed} />
            </StatCard>
            <StatCard label="Claimable" testId="miner-claimable">
              <Amount raw={m.claimable} /> {BigInt(m.claimable) > 0n && <a href={href.claim(m.address)}>claim</a>}
            </StatCard>
          </div>
          <section class="card">
            <Loaded resource={hashrate} what="the hash rate">
              {(points) => <TimeChart title={`Hash rate per worker (${HASHRATE_WINDOW_LABEL}, last hour)`} times={points.map((p) => p.t)} series={workerSeries(points)} />}
            </Loaded>
          </section>
          <MinerTables miner={m} epochs={epochs.data ?? []} />
        </>
      )}
    </Loaded>
  );
}

export function MinerPage({ address }: { address?: string }) {
  const problem = address ? addressProblem(address) : null;
  return (
    <div class="page" data-page="miner">
      <h1>Miner</h1>
      <AddressForm initial={address} button="Show" onSubmit={(a) => navigate(href.miner(a))} testId="miner-form" />
      {!address && <p class="muted">Enter the payout address your miner uses as its user name.</p>}
      {address && problem && <Notice kind="error">{problem}</Notice>}
      {address && !problem && <MinerDetails address={address} />}
    </div>
  );
}
