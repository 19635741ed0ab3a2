import fs from "node:fs";
import path from "node:path";
import { EventEmitter } from "node:events";
import pino, { type Logger } from "pino";
import { errorText } from "../log";
import { zeroAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildApi } from "../api/server";
import { HashrateTracker } from "../api/hashrate";
import { PoolMetrics } from "../api/metrics";
import { BitcoindSource, createTemplateSource, EmbeddedChain, type TemplateSource } from "../chain";
import { BITCOIN_SUBSIDY, REGTEST_SUBSIDY, subsidyAt } from "../schemes/credit";
import { AccruedCredits } from "../schemes/accrued";
import { parameterChangeProblem } from "../schemes/change";
import { Committer } from "../committer";
import { ConfigError, loadConfig, type PoolConfig } from "../config";
import { hardhatDevKey, type EvmClients } from "../evm/clients";
import { readAsset, toUnits, unitsFor, type AssetInfo } from "../evm/asset";
import { readDeploymentRecord } from "../evm/deploymentRecord";
import { checkOperator, checkPayoutPool, connectChecked } from "../evm/preflight";
import { deployTestBtc } from "../evm/testToken";
import { prettyDestination, wantsPretty } from "../log";
import { bindStore, bindUnits, checkEpochFiles } from "../shares/binding";
import { deployPayoutPool, payoutPoolArtifact } from "../evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../evm/embedded";
import { EpochBuilder } from "../epochs/builder";
import { bitsToDifficulty } from "../pow";
import { openShareStore, type ShareStore, type SqliteShareStore } from "../shares";
import { StratumServer } from "../stratum/server";
import { StratumCluster } from "../stratum/cluster";
import { DEFAULT_STRATUM_CONFIG, type StratumConfigInput } from "../stratum/config";
import { reconcileEmbeddedChain } from "./reconcile";
import { windowReader } from "./window";
import { OperatorAlerts } from "./alerts";
import { followHashrate, seedHashrate } from "./hashrateSeed";
import { probeBitcoind } from "./bitcoindProbe";
import { holdExclusive, Leadership } from "./leader";
import { ClaimsIndex } from "../api/claims";
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
  /** What the contract pays in (read from the chain at start). */
  asset: AssetInfo;
  store: ShareStore;
  source: TemplateSource;
  /** The Stratum server (roles "all" and "stratum"): in this process, or its worker processes (stratum.processes > 1). */
  stratum?: StratumServer | StratumCluster;
  /** The committer (roles "all" and "committer"; with PostgreSQL it acts only while `leadership` is held). */
  committer?: Committer;
  payouts?: PayoutService;
  /** The committer election (PostgreSQL stores, roles "all" and "committer"). */
  leadership?: Leadership;
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
 * automatic payouts and the HTTP API with the web page — or the parts of `role` (issue 15:
 * several processes on one PostgreSQL store, one committer and payout relay elected among them).
 */
export async function startPool(opts: StartPoolOptions = {}): Promise<RunningPool> {
  const config = loadConfig({ file: opts.configFile, env: opts.env, overrides: opts.overrides });
  const logger = opts.logger ?? (wantsPretty(config.log.format) ? pino({ level: config.log.level }, prettyDestination()) : pino({ level: config.log.level }));
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
      embeddedEvm = await startEmbeddedEvm({
        host: config.evm.embeddedHost,
        port: config.evm.embeddedPort,
        ...(config.evm.embeddedState === "persistent" ? { stateDir: path.join(config.dataDir, "evm") } : {}),
        log: (msg) => logger.warn({ part: "evm" }, msg),
      });
      cleanups.push(() => embeddedEvm!.close());
      rpcUrl = embeddedEvm.rpcUrl;
      operatorKey ??= hardhatDevKey(0);
    }
    const evm = await connectChecked(rpcUrl, operatorKey);
    const chainId = await evm.publicClient.getChainId();
    let contract = config.evm.contract;
    if (config.evm.deployment) {
      const record = readDeploymentRecord(config.evm.deployment);
      if (record.chainId !== chainId) throw new ConfigError("evm.deployment", `${config.evm.deployment} is for chain ${record.chainId}, but evm.rpcUrl ${rpcUrl} is chain ${chainId}`);
      contract = record.address;
      if (config.evm.token !== undefined && (record.token ?? zeroAddress) !== config.evm.token) {
        throw new ConfigError("evm.token", `is ${config.evm.token}, but ${config.evm.deployment} pays in ${record.token ?? "the native coin"}`);
      }
    }
    // The embedded EVM keeps its state (anvil): the contracts of the previous run are still there.
    const embeddedRecord = embeddedEvm ? path.join(config.dataDir, "evm", "deployment.json") : undefined;
    if (!contract && embeddedRecord && embeddedEvm!.kind === "anvil" && fs.existsSync(embeddedRecord)) {
      const record = readDeploymentRecord(embeddedRecord);
      const code = await evm.publicClient.getCode({ address: record.address });
      if (record.chainId === chainId && code && code !== "0x" && (config.evm.token === undefined || (record.token ?? zeroAddress) === config.evm.token)) {
        contract = record.address;
        logger.info({ contract, token: record.token }, "PayoutPool of the previous run found on the embedded EVM");
      } else {
        logger.warn({ record: embeddedRecord }, "the embedded EVM's deployment record does not match its chain: deploying anew");
      }
    }
    if (!contract) {
      const operator = evm.account!.address;
      const guardian = privateKeyToAccount(hardhatDevKey(1)).address;
      // The embedded default pays in an 8-decimal test BTC, so amounts read in BTC units
      // (evm.token "native" keeps the chain's coin).
      let token = config.evm.token;
      if (token === undefined) {
        token = (await deployTestBtc(evm)).address;
        logger.info({ token }, "TestBTC (tBTC, 8 decimals, no value) deployed on the embedded EVM");
      }
      const deployed = await deployPayoutPool(evm, {
        token,
        admin: operator,
        operator,
        guardian,
        challengeWindow: config.evm.challengeWindow,
        maxPause: config.evm.maxPause,
      });
      contract = deployed.address;
      logger.info({ contract, tx: deployed.txHash }, "PayoutPool deployed on the embedded EVM");
      if (embeddedRecord) {
        const receipt = await evm.publicClient.getTransactionReceipt({ hash: deployed.txHash });
        fs.mkdirSync(path.dirname(embeddedRecord), { recursive: true });
        fs.writeFileSync(
          embeddedRecord,
          JSON.stringify({ network: "embedded", chainId, address: contract, token: token === zeroAddress ? null : token, admin: operator, operator, guardian, challengeWindow: config.evm.challengeWindow, maxPause: config.evm.maxPause, deployTx: deployed.txHash, blockNumber: Number(receipt.blockNumber), abi: payoutPoolArtifact().abi }, null, 2) + "\n",
        );
        await embeddedEvm!.saveState();
      }
    }
    // Where the contract's events start (the miner pages read its claims from there).
    let deployedAtBlock = 0n;
    const recordFile = config.evm.deployment ?? (embeddedRecord && fs.existsSync(embeddedRecord) ? embeddedRecord : undefined);
    if (recordFile) deployedAtBlock = BigInt(readDeploymentRecord(recordFile).blockNumber ?? 0);
    // What the contract is, pays in and waits: read from the chain, never taken from the configuration.
    const facts = await checkPayoutPool(evm.publicClient, contract, config.evm.deployment ? "evm.deployment" : "evm.contract");
    if (config.evm.token !== undefined && facts.token !== config.evm.token) {
      throw new ConfigError("evm.token", `is ${config.evm.token === zeroAddress ? "native" : config.evm.token}, but the contract ${contract} pays in ${facts.token === zeroAddress ? "the native coin" : facts.token}`);
    }
    const assetRead = await readAsset(evm.publicClient, facts.token, config.evm.token !== undefined ? "evm.token" : "evm.contract", evm.chain.nativeCurrency.symbol);
    const units = unitsFor(assetRead, config.evm.unitsPerSatoshi);
    if (units.warning) logger.warn({ setting: "evm.unitsPerSatoshi" }, units.warning);
    const asset: AssetInfo = { ...assetRead, unitsPerSatoshi: units.unitsPerSatoshi.toString() };
    const payoutThreshold = config.payouts.threshold === undefined ? undefined : toUnits("payouts.threshold", config.payouts.threshold, asset.decimals);
    const operatorBalance = await checkOperator(evm.publicClient, contract, evm.account!.address);

    // --- proof-of-work side
    if (config.chain.bitcoindCookie && !fs.existsSync(config.chain.bitcoindCookie)) {
      throw new ConfigError("chain.bitcoindCookie", `${config.chain.bitcoindCookie} does not exist (is bitcoind running, with this -datadir?)`);
    }
    if (config.chain.bitcoindUrl) {
      const network = await probeBitcoind({ url: config.chain.bitcoindUrl, user: config.chain.bitcoindUser, password: config.chain.bitcoindPassword, cookieFile: config.chain.bitcoindCookie });
      logger.info({ url: config.chain.bitcoindUrl, network }, "bitcoind answers");
    }
    const source = createTemplateSource({
      bitcoind: config.chain.bitcoindUrl
        ? { url: config.chain.bitcoindUrl, user: config.chain.bitcoindUser, password: config.chain.bitcoindPassword, cookieFile: config.chain.bitcoindCookie }
        : null,
      embedded: { networkDifficulty: config.chain.networkDifficulty, syntheticTxs: config.chain.syntheticTxs, dataDir: config.dataDir },
      logger: logger.child({ part: "chain" }),
    });
    try {
      await source.start();
    } catch (err) {
      if (config.chain.bitcoindUrl) throw new ConfigError("chain.bitcoindUrl", `bitcoind at ${config.chain.bitcoindUrl} did not answer: ${errorText(err)}`);
      throw err;
    }
    cleanups.push(() => source.stop());

    const store = await openStoreChecked(config);
    cleanups.push(() => store.close());
    const role = config.role;
    const runsStratum = role === "all" || role === "stratum";
    const runsCommitter = role === "all" || role === "committer";
    // Every process serves the API and /metrics (a front end's connections, a committer's alerts);
    // "api" is a process that does nothing else.
    if (config.store.postgresUrl && source instanceof EmbeddedChain) {
      // The embedded chain lives in this process: a second process on the same store would mine a
      // chain of its own, and the committer would call its blocks orphaned (never paid).
      const only = await holdExclusive(config.store.postgresUrl, `embedded-chain:${chainId}:${contract.toLowerCase()}`);
      if (!only) throw new ConfigError("chain.bitcoindUrl", "another pool process with the embedded chain already runs on this store and contract: several processes of one pool must mine one chain, so set chain.bitcoindUrl (docs/deployment.md)");
      cleanups.push(() => only.release());
    }
    // The chain file and the store must agree on every block before anyone mines (issue 16).
    if (source instanceof EmbeddedChain) await reconcileEmbeddedChain(source, store, logger.child({ part: "reconcile" }));
    // The store and the epoch files belong to one deployment: never propose them to another (bug: a
    // data dir of deployment A started against contract B proposed A's roots to B).
    const storeName = config.store.postgresUrl ? redactUrl(config.store.postgresUrl) : path.join(config.dataDir, "shares.sqlite");
    await bindStore(store, { chainId, contract }, storeName);
    // …and to one satoshi → asset mapping: cumulative amounts never mix units.
    await bindUnits(store, units.unitsPerSatoshi, storeName);
    checkEpochFiles(path.join(config.dataDir, "epochs"), { chainId, contract });
    // Shares are in the store: the hash rate of the last hour survives a restart (before Stratum
    // listens, so that the tracker takes every share in time order).
    const hashrate = new HashrateTracker();
    const seeded = await seedHashrate(store, hashrate);
    if (seeded > 0) logger.info({ shares: seeded }, "hash rate of the last hour restored from the store");
    // With PostgreSQL, front ends may be several: the hash rate and workers shown are the whole
    // pool's, read from the store, not this process's Stratum alone.
    const wholePoolHashrate = config.store.postgresUrl !== undefined;
    if (wholePoolHashrate) {
      const stopFollowing = followHashrate(store, hashrate, await store.lastShareId(), { onError: (err) => logger.warn({ err: errorText(err) }, "hash rate: reading the store's new shares failed; trying again") });
      cleanups.push(stopFollowing);
    }

    // Stratum settings as the server takes them (here, or in each worker process).
    const stratumConfig: StratumConfigInput = {
      host: config.stratum.host,
      port: config.stratum.port,
      startDifficulty: config.stratum.startDifficulty,
      minDifficulty: config.stratum.minDifficulty,
      maxDifficulty: config.stratum.maxDifficulty,
      extranonce2Size: config.stratum.extranonce2Size,
      vardiff: { targetShareSeconds: config.stratum.targetShareSeconds },
      maxConnections: config.stratum.maxConnections,
      limits: {
        ...config.stratum.limits,
        // The connect burst follows the sustained rate (10 s worth).
        connectBurstPerAddress: Math.max(1, Math.round(config.stratum.limits.connectsPerSecondPerAddress * 10)),
      },
      ...(config.chain.payoutScript ? { payoutScript: config.chain.payoutScript } : {}),
      // A miner paid to the contract itself would be paid to no one.
      refusedAddresses: [contract],
    };
    const stratum = !runsStratum
      ? undefined
      : config.stratum.processes > 1
        ? new StratumCluster({ source, sink: store, processes: config.stratum.processes, logger: logger.child({ part: "stratum" }), config: stratumConfig })
        : new StratumServer({ source, sink: store, logger: logger.child({ part: "stratum" }), config: stratumConfig });
    const stratumPort = stratum ? await stratum.listen() : 0;
    if (stratum) cleanups.push(() => stratum.close());
    const stratumUrl = stratum ? `stratum+tcp://${config.stratum.host}:${stratumPort}` : "";

    // --- accounting
    const events = new EventEmitter();
    events.setMaxListeners(1000);
    const metrics = new PoolMetrics(() => {
      const s = stratum?.stats();
      if (!s) return { connections: 0, accepted: 0, rejected: {}, blocks: 0, hashrate: hashrate.rate(), miners: hashrate.activity().miners };
      return { abuse: { bans: s.bans, addressBans: s.addressBans, droppedMessages: s.droppedMessages, refused: s.refused }, connections: s.connections, accepted: s.accepted, rejected: s.rejected, blocks: s.blocks, hashrate: hashrate.rate(), miners: hashrate.activity().miners };
    });
    // Issue 14: under PPS/FPPS, what the operator owes for shares not yet in an epoch.
    let accrued: AccruedCredits | undefined;
    let nextEpochNumber = 1;
    stratum?.on("share", (share) => {
      if (!wholePoolHashrate) hashrate.record(share.address, share.worker, Number(share.difficulty), share.time);
      accrued?.add(share);
      events.emit("update", { kind: "share", address: share.address });
    });
    stratum?.on("block", (block) => events.emit("update", { kind: "block", height: block.height, hash: block.hash }));

    const builder = new EpochBuilder({
      store,
      dataDir: config.dataDir,
      powChain: source.kind,
      evmChainId: chainId,
      contract,
      factor: String(config.pplns.factor),
      feeBps: config.pplns.feeBps,
      feeAddress: config.pplns.feeAddress ?? (config.pplns.feeBps > 0 || (config.payout.change?.feeBps ?? 0) > 0 ? evm.account?.address : undefined),
      confirmations: config.pplns.confirmations,
      asset: { symbol: asset.symbol, decimals: asset.decimals, unitsPerSatoshi: asset.unitsPerSatoshi },
      // Issue 12: what the auditor checks every share and block pays, and the published header chain.
      payoutScript: (config.chain.payoutScript ?? DEFAULT_STRATUM_CONFIG.payoutScript).toLowerCase(),
      ...(source instanceof EmbeddedChain ? { headerChain: () => source.headers() } : {}),
      // Issue 14: the payout scheme. PPS/FPPS epochs close every payout.intervalSeconds; credits use
      // the chain's subsidy schedule and (FPPS) the chain's per-block fees as the auditor reads them:
      // bitcoind's getblockstats from its own node, or the embedded chain's published coinbases.
      scheme: config.payout.scheme,
      intervalSeconds: config.payout.intervalSeconds,
      // payout.change: announced in every epoch before fromEpoch, applied from it.
      ...(config.payout.change ? { parameterChange: config.payout.change } : {}),
      subsidy: source instanceof BitcoindSource && (await source.network()) !== "regtest" ? BITCOIN_SUBSIDY : REGTEST_SUBSIDY,
      ...(source instanceof BitcoindSource || source instanceof EmbeddedChain ? { blockFees: (height: number) => source.blockFees(height) } : {}),
      // Issue 15: the build (PPLNS walks, tree, share log, epoch file) runs on a worker thread with
      // its own handle on the same store, so that Stratum replies never wait for it.
      worker: { store: config.store.postgresUrl ? { kind: "postgres", connectionString: config.store.postgresUrl } : { kind: "sqlite", dataDir: config.dataDir } },
    });
    cleanups.push(() => builder.close());
    if (config.payout.scheme !== "pplns" || config.payout.change?.scheme) {
      const schedule = source instanceof BitcoindSource && (await source.network()) !== "regtest" ? BITCOIN_SUBSIDY : REGTEST_SUBSIDY;
      accrued = new AccruedCredits({
        current: () => builder.parametersFor(nextEpochNumber),
        unitsPerSatoshi: BigInt(asset.unitsPerSatoshi),
        subsidyAt: (height) => subsidyAt(height, schedule),
      });
    }
    // Issue 14: parameters the audit would refuse for the next epoch (an unannounced scheme or fee
    // change, payout.change not an epoch ahead) stop the start, naming the setting.
    const nextParameters = await builder.nextParameters();
    nextEpochNumber = nextParameters.number;
    const parameterProblem = parameterChangeProblem(nextParameters, config.payout.change);
    if (parameterProblem) throw new ConfigError(parameterProblem.setting, parameterProblem.message);
    const committer = !runsCommitter ? undefined : new Committer({
      store,
      source,
      evm,
      contract,
      confirmations: config.pplns.confirmations,
      fundEpochs: config.committer.fundEpochs,
      pollMs: config.committer.pollSeconds * 1000,
      buildNextEpoch: async () => {
        const startedAt = Date.now();
        const built = await builder.build();
        if (built) {
          nextEpochNumber = built.number + 1;
          accrued?.settle(startedAt);
        }
        return built ? store.epoch(built.number) : undefined;
      },
      logger: logger.child({ part: "committer" }),
      dataDir: config.dataDir,
      revokeEpoch: (n) => builder.revoke(n),
      publishBaseUrl: config.publish?.baseUrl,
    });
    const payouts = !runsCommitter ? undefined : new PayoutService({
      store,
      evm,
      contract,
      dataDir: config.dataDir,
      threshold: payoutThreshold,
      maxGasPerBatch: config.payouts.maxGasPerBatch,
      logger: logger.child({ part: "payouts" }),
    });
    await payouts?.open();
    committer?.on("proposed", (e) => events.emit("update", { kind: "epoch", epoch: e.number, state: "proposed" }));
    committer?.on("accepted", (e) => {
      events.emit("update", { kind: "epoch", epoch: e.number, state: "active" });
      metrics.epochsCommitted.inc();
      payouts?.trigger();
    });
    payouts?.on("batch", (b) => {
      events.emit("update", { kind: "payout", txHash: b.txHash });
      metrics.payoutsSent.inc({ status: b.status });
    });
    if (payouts) metrics.payoutAccountsAside.set(payouts.asideList().length);
    payouts?.on("aside", (account: string) => {
      metrics.payoutAccountsAside.set(payouts.asideList().length);
      events.emit("update", { kind: "payout", account });
    });
    // With PostgreSQL, any number of processes may run the committer: one is elected (an advisory
    // lock), the others stand by and take over when its connection ends. SQLite is one process.
    let leadership: Leadership | undefined;
    if (committer && payouts) {
      // One transition at a time: re-elected while standing down, the committer starts only once
      // its previous loop (and the tick in flight) has stopped, and payouts are not left stopped.
      let running = false;
      let transition: Promise<void> = Promise.resolve();
      const lead = () => {
        transition = transition.then(() => {
          if (running) return;
          running = true;
          committer.start();
          payouts.start();
        });
      };
      const standBy = (): Promise<void> =>
        (transition = transition.then(async () => {
          if (!running) return;
          running = false;
          await committer.stop();
          await payouts.stop();
        }));
      // Stopping: the committer and payouts first, then the lock (cleanups run last-in first-out).
      cleanups.push(async () => leadership?.stop());
      cleanups.push(standBy);
      if (config.store.postgresUrl) {
        leadership = new Leadership({ connectionString: config.store.postgresUrl, name: `committer:${chainId}:${contract.toLowerCase()}`, retryMs: Math.max(500, Math.min(2_000, config.committer.pollSeconds * 1000)), logger: logger.child({ part: "leader" }) });
        leadership.on("elected", () => {
          metrics.leader.set(1);
          lead();
        });
        leadership.on("lost", () => {
          metrics.leader.set(0);
          void standBy();
        });
        leadership.start();
      } else {
        metrics.leader.set(1);
        lead();
      }
    }
    if (committer) {
      const alerts = new OperatorAlerts({
        store,
        evm,
        contract,
        asset,
        committer,
        fundEpochs: config.committer.fundEpochs,
        minOperatorBalance: config.evm.minOperatorBalance,
        registry: metrics.registry,
        logger: logger.child({ part: "alerts" }),
        everyMs: Math.min(15_000, Math.max(1_000, config.committer.pollSeconds * 5_000)),
      });
      alerts.start();
      cleanups.push(() => alerts.stop());
    }

    // --- HTTP API
    const webDir = path.join(__dirname, "..", "..", "dist", "web");
    const api = buildApi({
      store,
      evm,
      contract,
      hashrate,
      publicConfig: {
        stratumUrl,
        rpcUrl,
        chainId,
        // The contract's own values (bug: the configured window was reported for a deployed contract).
        challengeWindow: facts.challengeWindow,
        maxPause: facts.maxPause,
        unitsPerSatoshi: asset.unitsPerSatoshi,
        powChain: source.kind,
        payoutThreshold: payoutThreshold?.toString() ?? null,
        feeBps: config.pplns.feeBps,
        pplnsFactor: String(config.pplns.factor),
        // The scheme in force when the pool started (payout.change may have switched it since
        // payout.scheme was written); the interval whenever a per-share scheme is or will be.
        payoutScheme: nextParameters.params.scheme,
        ...(nextParameters.params.scheme !== "pplns" || (config.payout.change?.scheme ?? "pplns") !== "pplns" ? { payoutIntervalSeconds: config.payout.intervalSeconds } : {}),
      },
      payoutParameters: (epoch) => builder.parametersFor(epoch),
      ...(accrued ? { accruedCredits: () => accrued!.total() } : {}),
      chainInfo: () => {
        const t = source.current();
        return { height: t.height - 1, networkDifficulty: bitsToDifficulty(t.bits), blockReward: (t.coinbaseValue * BigInt(asset.unitsPerSatoshi)).toString() };
      },
      shareCounters: () => {
        const s = stratum?.stats();
        return { accepted: s?.accepted ?? 0, rejected: s?.rejectedTotal ?? 0 };
      },
      windowFor: windowReader(store, source, config.pplns.factor),
      payouts: async () => (payouts ? payouts.list() : []),
      payoutsAside: () => payouts?.asideList() ?? [],
      claims: new ClaimsIndex(evm, contract, deployedAtBlock),
      events,
      metrics,
      webDir: fs.existsSync(path.join(webDir, "index.html")) ? webDir : undefined,
      epochsDir: path.join(config.dataDir, "epochs"),
      ...(source instanceof EmbeddedChain ? { headerChain: () => source.headers() } : {}),
    });
    await api.listen({ host: config.api.host, port: config.api.port });
    cleanups.push(() => api.close());
    const apiUrl = `http://${config.api.host}:${(api.server.address() as { port: number }).port}`;

    const embedded = source instanceof EmbeddedChain;
    logger.info({ stratumUrl, apiUrl, rpcUrl, chainId, contract, embedded, asset: `${asset.symbol} (${asset.decimals} decimals)`, challengeWindow: facts.challengeWindow, operatorBalance: operatorBalance.toString() }, "pool started");
    return {
      config,
      apiUrl,
      stratumHost: config.stratum.host,
      stratumPort,
      stratumUrl,
      rpcUrl,
      chainId,
      contract,
      asset,
      store,
      source,
      stratum,
      committer,
      payouts,
      leadership,
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

/** Opens the configured store; a PostgreSQL that cannot be reached or has no such database names store.postgresUrl. */
async function openStoreChecked(config: PoolConfig): Promise<ShareStore> {
  if (!config.store.postgresUrl) {
    // store.writerThread: shares written on a thread of their own (no insert, commit or fsync on the loop).
    const writerThread = config.store.writerThread === true;
    const store = await openShareStore({ kind: "sqlite", dataDir: config.dataDir, writerThread });
    try {
      if (writerThread) await (store as SqliteShareStore).startWriter();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }
  try {
    return await openShareStore({ kind: "postgres", connectionString: config.store.postgresUrl });
  } catch (err) {
    const why = errorText(err);
    const hint = /role .* does not exist/.test(why) ? " (create the role first: createuser -h HOST -U postgres USER)" : /does not exist/.test(why) ? " (create it first: createdb -h HOST -U USER NAME)" : /ECONNREFUSED|ENOTFOUND|timeout/i.test(why) ? " (is PostgreSQL running and listening there?)" : "";
    throw new ConfigError("store.postgresUrl", `${redactUrl(config.store.postgresUrl)}: ${why}${hint}`);
  }
}

/** A URL with its password replaced, for messages and logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
