/**
 * The watchtower: an independent process, run by anyone, with no access to the pool's machine.
 * It follows the contract's pending root (`pendingRoot()` and the `RootProposed` events), fetches
 * that epoch's files from the `uri` on chain (and the previous epoch's from its own), runs the full
 * audit (src/audit/epochaudit.ts: the shares' own bytes, the proof-of-work chain, the contract,
 * itself), and when the audit fails:
 *  - with a guardian key: calls `revokeRoot(epoch, root)` before `validAt`;
 *  - always: logs the findings, sets the alarm metric and posts a JSON report to the webhook.
 * Restart-safe by construction: its only state is the chain's, so after a restart it audits
 * whatever is still pending. It never revokes a root whose audit passed, and an audit that could
 * not be completed (files or chain unreachable) raises the alarm without revoking.
 */
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { Address, Hex, PublicClient, WalletClient } from "viem";
import type { RpcOptions } from "../chain/rpc";
import { auditEpochParallel } from "../audit/parallel";
import { errorText, type ServiceLogger } from "../log";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";
import { openChainView } from "../audit/chainsource";
import { liveProposal, readProposals, type Proposal } from "../audit/contract";
import { downloadEpoch } from "../audit/download";
import type { WatchMetrics } from "./metrics";

export interface WatchtowerOptions {
  publicClient: PublicClient;
  /** The guardian's wallet: without it the watchtower only raises the alarm. */
  guardian?: WalletClient;
  contract: Address;
  /** The auditor's own bitcoind; else the header chain published next to the epoch files. */
  bitcoind?: RpcOptions;
  /** A header chain file or URL to use instead of the published one. */
  headers?: string;
  payoutScript?: string;
  /** Folder for downloaded files (one sub-folder per audited root). */
  workDir: string;
  pollMs?: number;
  webhookUrl?: string;
  checkWork?: boolean;
  metrics: WatchMetrics;
  logger: ServiceLogger;
}

export interface WatchResult {
  epoch: number;
  root: Hex;
  passed: boolean;
  /** True when the audit could not be completed (the root is not revoked for that alone). */
  incomplete: boolean;
  findings: string[];
  revokeTx?: Hex;
  windowLeftSeconds: number;
}

/** Findings that mean "could not audit", not "the root is wrong". */
const INCOMPLETE = /^(publication:|chain: cannot read|chain: could not read|contract: could not read)/;

export class Watchtower extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Roots audited in this run (epoch:root:proposal tx). */
  private readonly done = new Map<string, WatchResult>();

  constructor(private readonly o: WatchtowerOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick().then(
        () => undefined,
        (err) => this.o.logger.error({ err: errorText(err) }, "watchtower: tick failed"),
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.o.pollMs ?? 2000);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  results(): WatchResult[] {
    return [...this.done.values()];
  }

  /** One pass: audits the pending root if it is new. */
  async tick(): Promise<WatchResult | undefined> {
    const { publicClient, contract } = this.o;
    const [root, epochBig, , validAtBig] = await publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" });
    if (/^0x0+$/.test(root)) return undefined;
    const epoch = Number(epochBig);
    const proposals = await readProposals(publicClient, contract);
    const proposal = liveProposal(proposals, epoch);
    if (!proposal || proposal.root.toLowerCase() !== root.toLowerCase()) return undefined; // events not yet visible
    const key = `${epoch}:${root.toLowerCase()}:${proposal.txHash}`;
    if (this.done.has(key)) return undefined;
    const result = await this.audit(proposal, proposals, Number(validAtBig));
    this.done.set(key, result);
    this.emit("audited", result);
    return result;
  }

  private async chainTime(): Promise<number> {
    return Number((await this.o.publicClient.getBlock({ blockTag: "latest" })).timestamp);
  }

  private async audit(p: Proposal, proposals: Map<number, Proposal[]>, validAt: number): Promise<WatchResult> {
    const { logger, metrics } = this.o;
    const started = Date.now();
    const dir = path.join(this.o.workDir, `epoch-${p.epoch}-${p.root.slice(2, 10)}-${p.txHash.slice(2, 10)}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const previous = p.epoch > 1 ? liveProposal(proposals, p.epoch - 1) : undefined;
    const findings: string[] = [];
    if (p.epoch > 1 && !previous) findings.push(`contract: no live root for epoch ${p.epoch - 1}`);
    const files = await downloadEpoch(dir, p.epoch, p.uri, previous?.uri);
    findings.push(...files.problems);
    const source = await openChainView({ bitcoind: this.o.bitcoind, headers: this.o.headers, publishedHeaders: files.headers });
    if (source.problem) findings.push(source.problem);
    try {
      if (files.epochFile) {
        const report = await auditEpochParallel({
          epochFile: files.epochFile,
          shareLog: files.shareLog,
          previousEpochFile: files.previousEpochFile,
          previousShareLog: files.previousShareLog,
          checkWork: this.o.checkWork ?? true,
          chain: source.chain,
          payoutScript: this.o.payoutScript,
          contract: async (n) => liveProposal(proposals, n),
          contractAddress: this.o.contract,
        });
        findings.push(...report.findings);
      }
    } finally {
      source.close();
    }
    const wrong = findings.filter((f) => !INCOMPLETE.test(f));
    const incomplete = wrong.length === 0 && findings.length > 0;
    const passed = findings.length === 0;
    const result: WatchResult = { epoch: p.epoch, root: p.root, passed, incomplete, findings, windowLeftSeconds: 0 };
    metrics.epochsAudited.inc({ result: passed ? "pass" : incomplete ? "incomplete" : "fail" });
    metrics.lastResult.set(passed ? 1 : 0);
    metrics.lastEpoch.set(p.epoch);

    if (passed) {
      logger.info({ epoch: p.epoch, root: p.root, ms: Date.now() - started }, "watchtower: root audited, it holds");
    } else {
      logger.error({ epoch: p.epoch, root: p.root, findings: findings.slice(0, 20) }, `watchtower: ${incomplete ? "audit INCOMPLETE" : "audit FAILED"} for epoch ${p.epoch}: ${findings[0]}`);
      if (!incomplete && this.o.guardian) {
        try {
          result.revokeTx = await this.revoke(p);
          metrics.revokes.inc({ status: "success" });
          logger.warn({ epoch: p.epoch, root: p.root, tx: result.revokeTx }, "watchtower: root revoked");
        } catch (err) {
          metrics.revokes.inc({ status: "failed" });
          logger.error({ epoch: p.epoch, err: errorText(err) }, "watchtower: revokeRoot failed");
        }
      }
      if (!result.revokeTx) metrics.alarm.inc();
      await this.notify(result);
    }
    result.windowLeftSeconds = validAt - (await this.chainTime());
    metrics.windowLeft.set(result.windowLeftSeconds);
    return result;
  }

  private async revoke(p: Proposal): Promise<Hex> {
    const w = this.o.guardian!;
    const hash = await w.writeContract({ address: this.o.contract, abi: payoutPoolAbi, functionName: "revokeRoot", args: [BigInt(p.epoch), p.root], account: w.account!, chain: w.chain });
    const receipt = await this.o.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`revokeRoot(${p.epoch}) reverted: ${hash}`);
    return hash;
  }

  private async notify(r: WatchResult): Promise<void> {
    if (!this.o.webhookUrl) return;
    try {
      await fetch(this.o.webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ contract: this.o.contract, ...r }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      this.o.logger.error({ err: errorText(err), url: this.o.webhookUrl }, "watchtower: webhook failed");
    }
  }
}
