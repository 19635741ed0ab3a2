import type { ChainLogger } from "./logger";
import { RpcError, RpcTransportError } from "./rpc";

export interface HeldCallLoopOptions {
  /** Name in the logs, e.g. "longpoll". */
  name: string;
  /**
   * One held request (getblocktemplate with longpollid, waitfornewblock): resolves when the node
   * answered, and the loop issues the next one at once; rejects on failure.
   */
  step: () => Promise<void>;
  /** True when the error says the node lacks the feature: the loop ends (polling carries on). */
  unsupported?: (err: Error) => boolean;
  /** Called once when the loop ended because the node lacks the feature. */
  onUnsupported?: () => void;
  /** A request that failed after being held at least this long was cut by a timeout, not a fault: re-issued at once (default 5 000 ms). */
  heldMs?: number;
  /** First retry delay after a failure, doubling up to retryMaxMs (ms). */
  retryInitialMs: number;
  retryMaxMs: number;
  log: ChainLogger;
}

/** The node has no such method, or refuses our parameters (older releases). */
export function isUnsupported(err: Error): boolean {
  return err instanceof RpcError && (err.code === -32601 || err.code === -1 || err.code === -8);
}

/**
 * Keeps one long-held RPC request open against the node, again and again, until stop(): the
 * push half of new-block detection (the node answers the moment its tip changes). Failures back
 * off exponentially; the first failure of a run is logged, and so is the recovery. The owner aborts
 * a request in flight by closing that request's RPC client after stop().
 */
export class HeldCallLoop {
  private running = false;
  private failures = 0;
  private loop?: Promise<void>;
  private wake?: () => void;
  private timer?: NodeJS.Timeout;
  /** False once the node said it does not support the call. */
  supported = true;

  constructor(private readonly opts: HeldCallLoopOptions) {}

  get active(): boolean {
    return this.running && this.supported;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Ends the loop after its request in flight (close that request's client to cut it short). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { name, log } = this.opts;
    const heldMs = this.opts.heldMs ?? 5_000;
    while (this.running) {
      const began = Date.now();
      try {
        await this.opts.step();
        if (this.failures > 0) log.info({ loop: name, failedAttempts: this.failures }, `bitcoind ${name}: answering again`);
        this.failures = 0;
      } catch (err) {
        if (!this.running) break;
        const e = err as Error;
        if ((this.opts.unsupported ?? isUnsupported)(e)) {
          this.supported = false;
          log.warn({ loop: name, err: e.message }, `bitcoind ${name}: not supported by this node`);
          this.opts.onUnsupported?.();
          break;
        }
        if (e instanceof RpcTransportError && Date.now() - began >= heldMs && this.failures === 0) continue; // a held request timed out
        this.failures++;
        const delay = Math.min(this.opts.retryInitialMs * 2 ** Math.min(this.failures - 1, 30), this.opts.retryMaxMs);
        if (this.failures === 1) log.warn({ loop: name, err: e.message, retryInMs: delay }, `bitcoind ${name} failed; polling covers meanwhile`);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, delay);
        });
        this.wake = undefined;
        this.timer = undefined;
      }
    }
  }
}
