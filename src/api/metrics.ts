import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics of the pool; gauges are read from live sources at scrape time. */
export class PoolMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly epochsCommitted = new Counter({ name: "pool_epochs_committed_total", help: "Roots made active on chain", registers: [this.registry] });
  readonly payoutsSent = new Counter({ name: "pool_payout_batches_total", help: "claimMany batches sent", labelNames: ["status"], registers: [this.registry] });
  readonly payoutAccountsAside = new Gauge({ name: "pool_payout_accounts_aside", help: "Accounts automatic payouts set aside (their claim fails on its own); retried later", registers: [this.registry] });
  readonly leader = new Gauge({ name: "pool_committer_leader", help: "1 while this process is the elected committer and payout relay (0: standing by, or no committer here)", registers: [this.registry] });

  constructor(
    read: () => {
      connections: number;
      accepted: number;
      rejected: Record<string, number>;
      blocks: number;
      hashrate: number;
      miners: number;
      /** Stratum abuse counters (issue 16); absent = not reported. */
      abuse?: { bans: number; addressBans: number; droppedMessages: number; refused: Record<string, number> };
    },
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: "pool_process_" });
    const gauge = (name: string, help: string, pick: (s: ReturnType<typeof read>) => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(pick(read())); } });
    gauge("pool_stratum_connections", "Open Stratum connections", (s) => s.connections);
    gauge("pool_shares_accepted_total", "Accepted shares since start", (s) => s.accepted);
    gauge("pool_blocks_found_total", "Blocks found since start", (s) => s.blocks);
    gauge("pool_hashrate_hashes_per_second", "Pool hash rate estimate (10 min)", (s) => s.hashrate);
    gauge("pool_miners", "Addresses with a share in the last 10 min", (s) => s.miners);
    gauge("pool_stratum_abuse_closes_total", "Stratum connections closed for abuse (message flood, strikes, invalid shares)", (s) => s.abuse?.bans ?? 0);
    gauge("pool_stratum_address_bans_total", "Source addresses refused for a while after repeated abuse", (s) => s.abuse?.addressBans ?? 0);
    gauge("pool_stratum_dropped_messages_total", "Stratum messages dropped over their connection's budget", (s) => s.abuse?.droppedMessages ?? 0);
    new Gauge({
      name: "pool_stratum_refused_connections_total",
      help: "New Stratum connections refused, by reason (banned, too-many-connections, too-many-from-address, connect-rate)",
      labelNames: ["reason"],
      registers: [this.registry],
      collect() {
        for (const [reason, n] of Object.entries(read().abuse?.refused ?? {})) this.set({ reason }, n);
      },
    });
    new Gauge({
      name: "pool_shares_rejected_total",
      help: "Rejected shares since start, by reason",
      labelNames: ["reason"],
      registers: [this.registry],
      collect() {
        for (const [reason, n] of Object.entries(read().rejected)) this.set({ reason }, n);
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
