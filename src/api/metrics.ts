import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics of the pool; gauges are read from live sources at scrape time. */
export class PoolMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly epochsCommitted = new Counter({ name: "pool_epochs_committed_total", help: "Roots made active on chain", registers: [this.registry] });
  readonly payoutsSent = new Counter({ name: "pool_payout_batches_total", help: "claimMany batches sent", labelNames: ["status"], registers: [this.registry] });

  constructor(read: () => { connections: number; accepted: number; rejected: Record<string, number>; blocks: number; hashrate: number; miners: number }) {
    collectDefaultMetrics({ register: this.registry, prefix: "pool_process_" });
    const gauge = (name: string, help: string, pick: (s: ReturnType<typeof read>) => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(pick(read())); } });
    gauge("pool_stratum_connections", "Open Stratum connections", (s) => s.connections);
    gauge("pool_shares_accepted_total", "Accepted shares since start", (s) => s.accepted);
    gauge("pool_blocks_found_total", "Blocks found since start", (s) => s.blocks);
    gauge("pool_hashrate_hashes_per_second", "Pool hash rate estimate (10 min)", (s) => s.hashrate);
    gauge("pool_miners", "Addresses with a share in the last 10 min", (s) => s.miners);
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
