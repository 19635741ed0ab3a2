import fs from "node:fs";
import path from "node:path";
import { EventEmitter } from "node:events";
import pino, { type Logger } from "pino";
import { zeroAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildApi } from "../api/server";
import { HashrateTracker } from "../api/hashrate";
import { PoolMetrics } from "../api/metrics";
import { createTemplateSource, EmbeddedChain, type TemplateSource } from "../chain";
import { Committer } from "../committer";
import { loadConfig, type PoolConfig } from "../config";
import { connectEvm, hardhatDevKey, type EvmClients } from "../evm/clients";
import { deployPayoutPool } from "../evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../evm/embedded";
import { EpochBuilder } from "../epochs/builder";
import { bitsToDifficulty } from "../pow";
import { openShareStore, type ShareStore } from "../shares";
import { StratumServer } from "../stratum/server";
import { windowReader } from "./window";
import { PayoutService } from "../payouts";

export interface RunningPool {
  config: PoolConfig;
  apiUrl: string;
  stratumHost: string;
  stratumPort: number;
  stratumUrl: string;
  rpcUrl: string;
  chainId: number;
  contract: Address;
  store: ShareStore;
  source: TemplateSource;
  stratum: StratumServer;
  committer: Committer;
  payouts: PayoutService;
  evm: EvmClients;
  events: EventEmitter;
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartPoolOptions {
  /** JSON config file (settings as in src/config). */
  configFile?: string;
  /** Settings that win over the file and the environment (tests use ports 0). */
  overrides?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/**
 * Starts a complete pool: EVM endpoint (embedded unless configured), PayoutPool (deployed on the
 * embedded EVM), template source, share store, Stratum server, epoch builder + committer,
 * automatic payouts and the HTTP API with the web page.
 */
export async function startPool(opts: StartPoolOptions = {}): Promise<RunningPool> {
  const config = loadConfig({ file: opts.configFile, env: opts.env, overrides: opts.overrides });
  const logger = opts.logger ?? pino({ level: process.env.POOL_LOG_LEVEL ?? "info" });
  fs.mkdirSync(config.dataDir, { recursive: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err) => logger.warn({ err: String(err) }, "shutdown step failed"));
  };

  try {
    // --- EVM and contract
    let embeddedEvm: EmbeddedEvm | undefined;
    let rpcUrl = config.evm.rpcUrl;
    let operatorKey = config.evm.operatorKey;
    if (!rpcUrl) {
      embeddedEvm = await startEmbeddedEvm({ host: config.evm.embeddedHost, port: config.evm.embeddedPort });
      cleanups.push(() => embeddedEvm!.close());
      rpcUrl = embeddedEvm.rpcUrl;
      operatorKey ??= hardhatDevKey(0);
    }
    const evm = await connectEvm(rpcUrl, operatorKey);
    let contract = config.evm.contract;
    if (!contract) {
      const operator = evm.account!.address;
      const guardian = privateKeyToAccount(hardhatDevKey(1)).address;
      const deployed = await deployPayoutPool(evm, {
        token: config.evm.token ?? zeroAddress,
        admin: operator,
        operator,
        guardian,
        challengeWindow: config.evm.challengeWindow,
        maxPause: config.evm.maxPause,
      });
      contract = deployed.address;
      logger.info({ contract, tx: deployed.txHash }, "PayoutPool deployed on the embedded EVM");
    }

    // --- proof-of-work side
    const source = createTemplateSource({
      bitcoind: config.chain.bitcoindUrl
        ? { url: config.chain.bitcoindUrl, user: config.chain.bitcoindUser, password: config.chain.bitcoindPassword, cookieFile: config.chain.bitcoindCookie }
        : null,
      embedded: { networkDifficulty: config.chain.networkDifficulty, syntheticTxs: config.chain.syntheticTxs, dataDir: config.dataDir },
      logger: logger.child({ part: "chain" }),
    });
    await source.start();
    cleanups.push(() => source.stop());

    const store = await openShareStore(
      config.store.postgresUrl
        ? { kind: "postgres", connectionString: config.store.postgresUrl }
        : { kind: "sqlite", dataDir: config.dataDir },
    );
    cleanups.push(() => store.close());

    const stratum = new StratumServer({
      source,
      sink: store,
      logger: logger.child({ part: "stratum" }),
      config: {
        host: config.stratum.host,
        port: config.stratum.port,
        startDifficulty: config.stratum.startDifficulty,
        minDifficulty: config.stratum.minDifficulty,
        maxDifficulty: config.stratum.maxDifficulty,
        extranonce2Size: config.stratum.extranonce2Size,
        vardiff: { targetShareSeconds: config.stratum.targetShareSeconds },
        ...(config.chain.payoutScript ? { payoutScript: config.chain.payoutScript } : {}),
      },
    });
    const stratumPort = await stratum.listen();
    cleanups.push(() => stratum.close());
    const stratumUrl = `stratum+tcp://${config.stratum.host}:${stratumPort}`;

    // --- accounting
    const events = new EventEmitter();
    events.setMaxListeners(1000);
    const hashrate = new HashrateTracker();
    const metrics = new PoolMetrics(() => {
      const s = stratum.stats();
      return { connections: s.connections, accepted: s.accepted, rejected: s.rejected, blocks: s.blocks, hashrate: hashrate.rate(), miners: hashrate.activity().miners };
    });
    stratum.on("share", (share) => {
      hashrate.record(share.address, share.worker, Number(share.difficulty), share.time);
      events.emit("update", { kind: "share", address: share.address });
    });
    stratum.on("block", (block) => events.emit("update", { kind: "block", height: block.height, hash: block.hash }));

    const chainId = await evm.publicClient.getChainId();
    const builder = new EpochBuilder({
      store,
      dataDir: config.dataDir,
      powChain: source.kind,
      evmChainId: chainId,
      contract,
      factor: String(config.pplns.factor),
      feeBps: config.pplns.feeBps,
      feeAddress: config.pplns.feeAddress ?? (config.pplns.feeBps > 0 ? evm.account?.address : undefined),
      confirmations: config.pplns.confirmations,
    });
    const committer = new Committer({
      store,
      source,
      evm,
      contract,
      confirmations: config.pplns.confirmations,
      fundEpochs: config.committer.fundEpochs,
      pollMs: config.committer.pollSeconds * 1000,
      buildNextEpoch: async () => {
        const built = await builder.build();
        return built ? store.epoch(built.number) : undefined;
      },
      logger: logger.child({ part: "committer" }),
      dataDir: config.dataDir,
      revokeEpoch: (n) => builder.revoke(n),
    });
    const payouts = new PayoutService({
      store,
      evm,
      contract,
      dataDir: config.dataDir,
      threshold: config.payouts.threshold,
      maxGasPerBatch: config.payouts.maxGasPerBatch,
      logger: logger.child({ part: "payouts" }),
    });
    await payouts.open();
    cleanups.push(() => payouts.stop());
    committer.on("proposed", (e) => events.emit("update", { kind: "epoch", epoch: e.number, state: "proposed" }));
    committer.on("accepted", (e) => {
      events.emit("update", { kind: "epoch", epoch: e.number, state: "active" });
      metrics.epochsCommitted.inc();
      payouts.trigger();
    });
    payouts.on("batch", (b) => {
      events.emit("update", { kind: "payout", txHash: b.txHash });
      metrics.payoutsSent.inc({ status: b.status });
    });
    committer.start();
    cleanups.push(() => committer.stop());
    payouts.start();

    // --- HTTP API
    const webDir = path.join(__dirname, "..", "..", "dist", "web");
    const api = buildApi({
      store,
      evm,
      contract,
      hashrate,
      publicConfig: { stratumUrl, rpcUrl, chainId, challengeWindow: config.evm.challengeWindow, powChain: source.kind, payoutThreshold: config.payouts.threshold?.toString() ?? null },
      chainInfo: () => {
        const t = source.current();
        return { height: t.height - 1, networkDifficulty: bitsToDifficulty(t.bits) };
      },
      shareCounters: () => {
        const s = stratum.stats();
        return { accepted: s.accepted, rejected: s.rejectedTotal };
      },
      windowFor: windowReader(store, source, config.pplns.factor),
      payouts: () => payouts.list(),
      events,
      metrics,
      webDir: fs.existsSync(path.join(webDir, "index.html")) ? webDir : undefined,
    });
    await api.listen({ host: config.api.host, port: config.api.port });
    cleanups.push(() => api.close());
    const apiPort = (api.server.address() as { port: number }).port;
    const apiUrl = `http://${config.api.host}:${apiPort}`;

    const embedded = source instanceof EmbeddedChain;
    logger.info({ stratumUrl, apiUrl, rpcUrl, chainId, contract, embedded }, "pool started");
    return {
      config,
      apiUrl,
      stratumHost: config.stratum.host,
      stratumPort,
      stratumUrl,
      rpcUrl,
      chainId,
      contract,
      store,
      source,
      stratum,
      committer,
      payouts,
      evm,
      events,
      logger,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
