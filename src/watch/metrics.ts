/** Prometheus metrics of a watchtower (`pool watch --metrics-port P`). */
import http from "node:http";
import { Counter, Gauge, Registry } from "prom-client";

export class WatchMetrics {
  readonly registry = new Registry();
  readonly epochsAudited = new Counter({ name: "watch_epochs_audited_total", help: "Proposed roots audited, by result", labelNames: ["result"], registers: [this.registry] });
  /** 1 = the last audit passed, 0 = it failed (a non-zero alarm gauge goes with it). */
  readonly lastResult = new Gauge({ name: "watch_last_audit_passed", help: "1 when the last audited root passed, 0 when it failed", registers: [this.registry] });
  readonly alarm = new Gauge({ name: "watch_alarm", help: "Failed roots still pending that this watchtower could not revoke (no guardian key or the revoke failed)", registers: [this.registry] });
  readonly windowLeft = new Gauge({ name: "watch_window_seconds_left", help: "Seconds of the challenge window left when the last audit finished", registers: [this.registry] });
  readonly lastEpoch = new Gauge({ name: "watch_last_audited_epoch", help: "Epoch of the last audited root", registers: [this.registry] });
  readonly revokes = new Counter({ name: "watch_revokes_sent_total", help: "revokeRoot transactions sent, by status", labelNames: ["status"], registers: [this.registry] });

  /** Serves /metrics on host:port; resolves with the bound port. */
  async serve(port: number, host = "127.0.0.1"): Promise<{ port: number; close: () => Promise<void> }> {
    const server = http.createServer(async (req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end("not found\n");
        return;
      }
      res.writeHead(200, { "content-type": this.registry.contentType }).end(await this.registry.metrics());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return { port: (server.address() as { port: number }).port, close: () => new Promise((r) => server.close(() => r())) };
  }
}
