import { Gauge, type Registry } from "prom-client";
import { formatUnits, parseEther, type Address } from "viem";
import type { Committer } from "../committer";
import type { EvmClients } from "../evm/clients";
import { erc20Abi, payoutPoolAbi } from "../evm/payoutPoolAbi";
import type { AssetInfo } from "../evm/asset";
import { errorText, type ServiceLogger } from "../log";
import type { ShareStore } from "../shares/types";

export interface OperatorAlertsOptions {
  store: ShareStore;
  evm: EvmClients;
  contract: Address;
  asset: AssetInfo;
  committer: Committer;
  /** Whether the committer funds the contract itself (then its own asset balance must cover the shortfall). */
  fundEpochs: boolean;
  /** Native balance (whole coins, decimal) of the operator key under which to warn. */
  minOperatorBalance: string;
  registry: Registry;
  logger: ServiceLogger;
  everyMs?: number;
  /** Seconds a root may stay pending past the time it could be accepted before the log says so (default 60; the gauge counts from 0). */
  overdueAfterSeconds?: number;
}

/** What needs an operator now, as computed by one check. */
export interface AlertState {
  /** Seconds the pending root has been acceptable without being accepted. */
  rootOverdueSeconds: number;
  /** The revoked epoch waiting for `pool rebuild-epoch`, or 0. */
  revokedEpochWaiting: number;
  operatorBalance: bigint;
  operatorBalanceLow: boolean;
  /** Asset units the contract lacks for the next root (built epoch + confirmed unpaid blocks), 0 = funded. */
  shortfall: bigint;
  /** The shortfall cannot be covered: funding is off, or the operator's own asset balance is short. */
  underfunded: boolean;
}

/**
 * Watches what needs an operator and says it twice: as Prometheus gauges (pool_alert_*) and as a
 * warning in the log when a condition starts (and again every 10 minutes while it lasts):
 * a root pending past its validAt, a revoked epoch waiting for `pool rebuild-epoch`, the operator
 * key's gas balance under `minOperatorBalance`, the contract underfunded for the next root.
 */
export class OperatorAlerts {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly lastWarned = new Map<string, number>();
  private readonly minBalance: bigint;
  state?: AlertState;

  constructor(private readonly opts: OperatorAlertsOptions) {
    this.minBalance = parseEther(opts.minOperatorBalance);
    const self = this;
    const gauge = (name: string, help: string, pick: (s: AlertState) => number) =>
      new Gauge({
        name,
        help,
        registers: [opts.registry],
        collect() {
          if (self.state) this.set(pick(self.state));
        },
      });
    gauge("pool_alert_root_overdue_seconds", "Seconds a pending root has been acceptable without being accepted (0 = none)", (s) => s.rootOverdueSeconds);
    gauge("pool_alert_revoked_epoch_waiting", "Epoch revoked by the guardian, waiting for `pool rebuild-epoch` (0 = none)", (s) => s.revokedEpochWaiting);
    gauge("pool_alert_operator_balance_low", "1 when the operator key's native balance is under evm.minOperatorBalance", (s) => (s.operatorBalanceLow ? 1 : 0));
    gauge("pool_operator_balance", "The operator key's native balance, in whole coins", (s) => Number(formatUnits(s.operatorBalance, 18)));
    gauge("pool_alert_contract_underfunded", "1 when the contract lacks funds for the next root and the pool cannot fund it", (s) => (s.underfunded ? 1 : 0));
    gauge("pool_contract_shortfall", "Asset (whole units) the contract lacks for the next root", (s) => Number(formatUnits(s.shortfall, opts.asset.decimals)));
  }

  start(): void {
    this.stopped = false;
    const loop = async () => {
      this.running = this.check().then(
        () => undefined,
        (err) => this.opts.logger.warn({ err: errorText(err) }, "operator alert check failed"),
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.opts.everyMs ?? 15_000);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One check: reads the store, the contract and the operator's balances; logs what started. */
  async check(): Promise<AlertState> {
    const { store, evm, contract, asset, logger } = this.opts;
    const operator = evm.account!.address;
    const [latest, unpaid, operatorBalance, totalFunded] = await Promise.all([
      store.latestEpoch(),
      store.blocks({ status: "confirmed", unpaid: true }),
      evm.publicClient.getBalance({ address: operator }),
      evm.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "totalFunded" }),
    ]);
    const [active] = await Promise.all([evm.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" })]);
    const recordedTotal = latest && latest.state !== "revoked" ? latest.totalCumulative : active[2];
    // Unpaid blocks' rewards are coinbase satoshis; the contract counts the asset's smallest unit.
    const needed = recordedTotal + unpaid.reduce((s, b) => s + b.reward, 0n) * BigInt(asset.unitsPerSatoshi);
    const shortfall = needed > totalFunded ? needed - totalFunded : 0n;
    let underfunded = shortfall > 0n && !this.opts.fundEpochs;
    if (shortfall > 0n && this.opts.fundEpochs) {
      const own = asset.token
        ? await evm.publicClient.readContract({ address: asset.token, abi: erc20Abi, functionName: "balanceOf", args: [operator] })
        : operatorBalance;
      underfunded = own < shortfall;
    }
    const state: AlertState = {
      rootOverdueSeconds: this.opts.committer.overdueSeconds,
      revokedEpochWaiting: latest?.state === "revoked" ? latest.number : 0,
      operatorBalance,
      operatorBalanceLow: operatorBalance < this.minBalance,
      shortfall,
      underfunded,
    };
    this.state = state;
    const amount = (u: bigint) => `${formatUnits(u, asset.decimals)} ${asset.symbol}`;
    this.raise("overdue", state.rootOverdueSeconds > (this.opts.overdueAfterSeconds ?? 60), () =>
      logger.warn({ overdueSeconds: state.rootOverdueSeconds }, "ALERT: a root is pending past the time it could be accepted (see the committer's log)"),
    );
    this.raise("revoked", state.revokedEpochWaiting > 0, () =>
      logger.warn({ epoch: state.revokedEpochWaiting }, `ALERT: epoch ${state.revokedEpochWaiting} was revoked and waits for \`pool rebuild-epoch\``),
    );
    this.raise("gas", state.operatorBalanceLow, () =>
      logger.warn({ operator, balance: formatUnits(operatorBalance, 18), minimum: this.opts.minOperatorBalance, setting: "evm.minOperatorBalance" }, "ALERT: the operator key is low on gas coin: top it up"),
    );
    this.raise("funds", state.underfunded, () =>
      logger.warn(
        { shortfall: amount(shortfall), totalFunded: amount(totalFunded), needed: amount(needed), fundEpochs: this.opts.fundEpochs },
        this.opts.fundEpochs ? "ALERT: the operator's balance cannot fund the next root" : "ALERT: the contract is underfunded for the next root: fund it (scripts/fund.ts)",
      ),
    );
    return state;
  }

  /** Logs when a condition starts, and every 10 minutes while it lasts. */
  private raise(kind: string, on: boolean, log: () => void): void {
    if (!on) {
      this.lastWarned.delete(kind);
      return;
    }
    const last = this.lastWarned.get(kind);
    if (last !== undefined && Date.now() - last < 600_000) return;
    this.lastWarned.set(kind, Date.now());
    log();
  }
}
