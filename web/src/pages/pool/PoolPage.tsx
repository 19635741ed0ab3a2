import { api } from "../../api/client";
import type { PoolStats } from "../../api/types";
import { Loaded } from "../../components/Loaded";
import { StatCard } from "../../components/StatCard";
import { TimeChart } from "../../components/TimeChart";
import { formatHashrate, formatNumber } from "../../format";
import { useResource } from "../../hooks/useResource";
import { BUCKET_MS, HASHRATE_WINDOW_LABEL, HASHRATE_WINDOW_MS, smoothSeries } from "../../series";
import { BlocksTable } from "./BlocksTable";
import { ConnectMiner } from "./ConnectMiner";
import { OperatorReserve } from "./OperatorReserve";
import { RootsTable } from "./RootsTable";
import { Solvency } from "./Solvency";

function Stats({ stats }: { stats: PoolStats }) {
  return (
    <div class="stats">
      <StatCard label={`Pool hash rate (${HASHRATE_WINDOW_LABEL})`} testId="stat-hashrate">
        {formatHashrate(stats.hashrate)}
      </StatCard>
      <StatCard label="Miners" testId="stat-miners">
        {stats.miners}
      </StatCard>
      <StatCard label="Workers" testId="stat-workers">
        {stats.workers}
      </StatCard>
      <StatCard label="Blocks found" testId="stat-blocks" hint="confirmed / orphaned in brackets">
        {stats.blocks.found}{" "}
        <small>
          ({stats.blocks.confirmed} confirmed, {stats.blocks.orphaned} orphaned)
        </small>
      </StatCard>
      <StatCard label="Chain height" testId="stat-height">
        {stats.chain.height} <small>difficulty {formatNumber(stats.chain.networkDifficulty)}</small>
      </StatCard>
      <StatCard label="Shares" testId="stat-shares">
        {stats.shares.accepted} <small>accepted, {stats.shares.rejected} rejected</small>
      </StatCard>
      <StatCard label="Active epoch" testId="stat-epochs">
        {stats.activeEpoch || "none"} <small>{stats.pendingEpoch ? `epoch ${stats.pendingEpoch} pending` : "none pending"}</small>
      </StatCard>
    </div>
  );
}

export function PoolPage() {
  const stats = useResource(api.stats, []);
  // The chart averages over the tile's window, so its last point and the tile agree.
  const hashrate = useResource(() => api.hashrate().then((p) => smoothSeries(p, HASHRATE_WINDOW_MS / BUCKET_MS)), []);
  const blocks = useResource(api.blocks, []);
  const epochs = useResource(api.epochs, []);
  return (
    <div class="page" data-page="pool">
      <h1>Pool</h1>
      <Loaded resource={stats} what="the pool's statistics">
        {(s) => (
          <>
            <Stats stats={s} />
            <Solvency contract={s.contract} />
            {s.payout && <OperatorReserve payout={s.payout} />}
          </>
        )}
      </Loaded>
      <section class="card">
        <Loaded resource={hashrate} what="the hash rate">
          {(points) => <TimeChart title={`Pool hash rate (${HASHRATE_WINDOW_LABEL}, last hour)`} times={points.map((p) => p.t)} series={[{ label: "pool", values: points.map((p) => p.hashrate) }]} />}
        </Loaded>
      </section>
      <ConnectMiner />
      <section class="card">
        <h2>Blocks found</h2>
        <Loaded resource={blocks} what="the blocks">
          {(b) => <BlocksTable blocks={b} />}
        </Loaded>
      </section>
      <section class="card">
        <h2>Roots</h2>
        <p class="muted">
          Each root commits every miner's cumulative allocation. A new root is pending for the challenge window (an auditor can have it
          revoked), then anyone may make it active; claims pay against the active root.
        </p>
        <Loaded resource={epochs} what="the roots">
          {(e) => <RootsTable epochs={e} />}
        </Loaded>
      </section>
    </div>
  );
}
