import fs from "node:fs";
import { EventEmitter } from "node:events";
import path from "node:path";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { getAddress, isAddress, zeroAddress, type Address, type Hex } from "viem";
import type { EvmClients } from "../evm/clients";
import { erc20Abi, payoutPoolAbi } from "../evm/payoutPoolAbi";
import type { ClaimsIndex } from "./claims";
import type { AsideEntry } from "../payouts/aside";
import { localEpochFile } from "../epochs/published";
import { EpochProofWorker } from "../epochs/proof-worker";
import type { EpochRecord, ShareStore } from "../shares/types";
import type { HashrateTracker } from "./hashrate";
import { PoolMetrics } from "./metrics";

export interface PayoutRecordView {
  txHash: string;
  time: number;
  status: "sent" | "confirmed" | "failed";
  gasUsed: string | null;
  accounts: { account: string; amount: string }[];
}

export interface ApiContext {
  store: ShareStore;
  evm: EvmClients;
  contract: Address;
  hashrate: HashrateTracker;
  /** Public connection facts shown to miners and wallets. */
  publicConfig: {
    stratumUrl: string; rpcUrl: string; chainId: number;
    /** The contract's challengeWindow() / maxPause() (seconds), read from the chain at start. */
    challengeWindow: number; maxPause?: number;
    /** Smallest units of the asset paid per satoshi of block reward. */
    unitsPerSatoshi?: string;
    powChain: "embedded" | "bitcoind"; payoutThreshold: string | null; feeBps?: number; pplnsFactor?: string;
    /** payout.scheme ("pplns", "pps", "fpps") and, for PPS/FPPS, payout.intervalSeconds. */
    payoutScheme?: string; payoutIntervalSeconds?: number;
  };
  chainInfo: () => { height: number; networkDifficulty: number; blockReward?: string };
  shareCounters: () => { accepted: number; rejected: number };
  /** Current PPLNS window per address: share count and difficulty (units → decimal). */
  windowFor: (address: string) => Promise<{ count: number; difficulty: string }>;
  payouts: () => Promise<PayoutRecordView[]>;
  /** Accounts automatic payouts set aside (their claim fails on its own), with the reason; absent = none. */
  payoutsAside?: () => AsideEntry[];
  /** Emits "update" ({ kind, ... }) for the server-sent event stream. */
  events: EventEmitter;
  metrics: PoolMetrics;
  /** Directory of the built web page (index.html); absent = no page. */
  webDir?: string;
  /** The epoch folder published at `/epochs/<file>` (what `publish.baseUrl` points at); absent = not served. */
  epochsDir?: string;
  /** Every payment of the contract by account, from its events (src/api/claims.ts); absent = not listed. */
  claims?: ClaimsIndex;
  /** The proof-of-work chain's headers (hex, genesis first) for auditors: the embedded chain's; absent for bitcoind. */
  headerChain?: () => string[];
  /**
   * Fee (basis points) and payout scheme that apply to epoch `epoch`, and the change its file
   * announces (payout.change; EpochBuilder.parametersFor); absent: publicConfig's scheme, no change.
   */
  payoutParameters?: (epoch: number) => { scheme: string; feeBps: number; announce?: { fromEpoch: number; feeBps: number; scheme?: string } };
  /** PPS/FPPS: credits (token units) of the shares accepted since the last epoch was built (src/schemes/accrued.ts). */
  accruedCredits?: () => bigint;
}

/** What `/epochs/<file>` serves: epoch files, share logs and the header chain, nothing else. */
const PUBLISHED_FILE = /^(epoch-\d{6}\.json|epoch-\d{6}\.shares\.jsonl|headers\.txt)$/;

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function buildApi(ctx: ApiContext): FastifyInstance {
  const app = Fastify({ logger: false });
  // Issue 15: epoch trees are loaded and proofs computed on a worker thread, off this event loop.
  const proofs = new EpochProofWorker();
  app.addHook("onClose", async () => proofs.close());
  const token = ctx.evm.publicClient.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "token" });
  token.catch(() => undefined);

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof HttpError ? err.status : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    reply.status(status).send({ error: status === 500 ? `internal error: ${err.message}` : err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith("/api/")) return reply.status(404).send({ error: `no such route: ${req.method} ${req.url}` });
    return serveWeb(ctx.webDir, "index.html", reply);
  });

  const epochOf = async (text: string): Promise<EpochRecord> => {
    if (!/^\d{1,9}$/.test(text)) throw new HttpError(400, `epoch must be a positive integer, got "${text}"`);
    const record = await ctx.store.epoch(Number(text));
    if (!record) throw new HttpError(404, `unknown epoch ${text}`);
    return record;
  };
  const addressOf = (text: string): Address => {
    if (!isAddress(text)) throw new HttpError(400, `not a valid address: "${text}" (expected 0x followed by 40 hex digits, with a correct checksum if mixed-case)`);
    return getAddress(text);
  };
  // An epoch another process of the pool built: its files from the store (src/epochs/published.ts).
  const local = (recorded: string) => localEpochFile(ctx.store, recorded, ctx.epochsDir);
  const entryOf = async (record: EpochRecord, address: string) => proofs.lookup({ number: record.number, filePath: await local(record.filePath), root: record.root }, address);
  const activeEpoch = async (): Promise<EpochRecord | undefined> => {
    const [, epoch] = await ctx.evm.publicClient.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "activeRoot" });
    return epoch === 0n ? undefined : ctx.store.epoch(Number(epoch));
  };

  app.get("/api/config", async () => {
    const t = await token;
    let assetSymbol = "ETH";
    let assetDecimals = 18;
    if (t !== zeroAddress) {
      assetSymbol = await ctx.evm.publicClient.readContract({ address: t, abi: erc20Abi, functionName: "symbol" }).catch(() => "TOKEN");
      assetDecimals = await ctx.evm.publicClient.readContract({ address: t, abi: erc20Abi, functionName: "decimals" }).catch(() => 18);
    }
    return { ...ctx.publicConfig, contract: ctx.contract, token: t, assetSymbol, assetDecimals };
  });

  app.get("/api/stats", async () => {
    const pc = ctx.evm.publicClient;
    const t = await token;
    const balanceOf = (a: Address) => (t === zeroAddress ? pc.getBalance({ address: a }) : pc.readContract({ address: t, abi: erc20Abi, functionName: "balanceOf", args: [a] }));
    const operator = ctx.evm.account?.address;
    const [active, pending, totalFunded, balance, blocks, latest, operatorBalance] = await Promise.all([
      pc.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "activeRoot" }),
      pc.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "pendingRoot" }),
      pc.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "totalFunded" }),
      balanceOf(ctx.contract),
      ctx.store.blocks(),
      ctx.store.latestEpoch(),
      operator ? balanceOf(operator) : Promise.resolve(undefined),
    ]);
    // Only claims take funds out, so what was funded minus what is held is what has been claimed.
    const totalClaimed = totalFunded > balance ? totalFunded - balance : 0n;
    const activity = ctx.hashrate.activity();
    return {
      hashrate: ctx.hashrate.rate(),
      miners: activity.miners,
      workers: activity.workers,
      blocks: {
        found: blocks.length,
        confirmed: blocks.filter((b) => b.status === "confirmed").length,
        orphaned: blocks.filter((b) => b.status === "orphaned").length,
      },
      chain: ctx.chainInfo(),
      currentEpoch: latest?.number ?? null,
      activeEpoch: Number(active[1]),
      pendingEpoch: pending[1] === 0n ? null : Number(pending[1]),
      contract: {
        balance: balance.toString(),
        totalFunded: totalFunded.toString(),
        activeTotalCumulative: active[2].toString(),
        totalClaimed: totalClaimed.toString(),
        outstanding: (active[2] - totalClaimed).toString(),
      },
      shares: ctx.shareCounters(),
      // Issue 14: what the operator owes against what it holds. `owed`: credits of the latest built
      // epoch not yet funded into the contract (under PPS/FPPS the committer funds each epoch's
      // credits before proposing it) plus `accrued`, the credits of the shares accepted since the
      // last epoch was built (an estimate: FPPS without its fee part); `reserve`: the operator key's
      // balance of the asset, from which it funds; `covered`: reserve ≥ owed. All in the asset's
      // smallest unit.
      // `scheme`: the one the next epoch is built under; `change`: a change announced for a later
      // epoch (payout.change), null when none.
      payout: (() => {
        const unfunded = latest && latest.state !== "revoked" && latest.totalCumulative > totalFunded ? latest.totalCumulative - totalFunded : 0n;
        const accrued = ctx.accruedCredits?.() ?? 0n;
        const owedNow = unfunded + accrued;
        const next = !latest ? 1 : latest.state === "revoked" ? latest.number : latest.number + 1;
        const params = ctx.payoutParameters?.(next);
        const scheme = params?.scheme ?? ctx.publicConfig.payoutScheme ?? "pplns";
        const a = params?.announce;
        return {
          scheme,
          ...(ctx.publicConfig.payoutIntervalSeconds !== undefined ? { intervalSeconds: ctx.publicConfig.payoutIntervalSeconds } : {}),
          change: a ? { fromEpoch: a.fromEpoch, scheme: a.scheme ?? scheme, feeBps: a.feeBps } : null,
          owed: owedNow.toString(),
          accrued: accrued.toString(),
          reserve: operatorBalance === undefined ? null : operatorBalance.toString(),
          covered: operatorBalance === undefined ? null : operatorBalance >= owedNow,
        };
      })(),
    };
  });

  app.get<{ Querystring: { address?: string } }>("/api/hashrate", async (req) => {
    const address = req.query.address ? addressOf(req.query.address) : undefined;
    return { points: ctx.hashrate.series(address) };
  });

  // The store keeps each block's coinbase value in satoshis; the API states amounts in the asset's smallest unit.
  const unitsPerSatoshi = BigInt(ctx.publicConfig.unitsPerSatoshi ?? "1");
  app.get("/api/blocks", async () => {
    const blocks = await ctx.store.blocks();
    return blocks
      .sort((a, b) => b.height - a.height)
      .map((b) => ({ height: b.height, hash: b.hash, reward: (b.reward * unitsPerSatoshi).toString(), finder: b.finder, worker: b.worker, time: b.time, confirmations: b.confirmations, status: b.status, epoch: b.epoch }));
  });

  app.get<{ Params: { address: string } }>("/api/miners/:address", async (req) => {
    const address = addressOf(req.params.address);
    const key = address.toLowerCase();
    const [active, claimed, window, payouts, claims] = await Promise.all([
      activeEpoch(),
      ctx.evm.publicClient.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "claimed", args: [address] }),
      ctx.windowFor(key),
      ctx.payouts(),
      ctx.claims?.claimsOf(key) ?? [],
    ]);
    const allocated = active ? ((await entryOf(active, address))?.cumulative ?? 0n) : 0n;
    // A revoked epoch's deltas are rolled back in the store, so the history holds live epochs only.
    const history = (await ctx.store.ledgerHistory(key)).map((d) => ({ epoch: d.epoch, delta: d.delta.toString(), cumulative: d.cumulative.toString() }));
    return {
      address,
      hashrate: ctx.hashrate.rate(600_000, key),
      workers: ctx.hashrate.workers(key).map((w) => ({ ...w, hashrate: ctx.hashrate.rate(600_000, key, w.name) })),
      sharesInWindow: window,
      allocated: allocated.toString(),
      claimed: claimed.toString(),
      claimable: (allocated > claimed ? allocated - claimed : 0n).toString(),
      epochs: history,
      payouts: payouts.flatMap((p) =>
        p.accounts.filter((a) => a.account.toLowerCase() === key).map((a) => ({ txHash: p.txHash, amount: a.amount, time: p.time, status: p.status })),
      ),
      // Every payment the contract made to this address (claims sent from a wallet or the CLI, and
      // automatic payouts), from the chain's Claimed / ClaimedMany events, newest first.
      claims: [...claims].reverse(),
      // Set aside by automatic payouts (its claim fails on its own: see docs/payouts.md), or null.
      payoutAside: ctx.payoutsAside?.().find((e) => e.account.toLowerCase() === key) ?? null,
    };
  });

  app.get("/api/epochs", async () => {
    const [epochs, pending, active, acceptableAt] = await Promise.all([
      ctx.store.epochs(),
      ctx.evm.publicClient.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "pendingRoot" }),
      ctx.evm.publicClient.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "activeRoot" }),
      // When acceptRoot works: the proposal's validAt, or later if a pause needs claims open for a whole window first.
      ctx.evm.publicClient.readContract({ address: ctx.contract, abi: payoutPoolAbi, functionName: "acceptableAt" }),
    ]);
    const activeNumber = Number(active[1]);
    const heights = new Map((await ctx.store.blocks()).map((b) => [b.hash, b.height]));
    return epochs
      .sort((a, b) => b.number - a.number)
      .map((e) => ({
        epoch: e.number,
        root: e.root,
        totalCumulative: e.totalCumulative.toString(),
        // Only the newest accepted root is live on chain; older accepted ones are superseded.
        state: e.state === "accepted" ? (e.number === activeNumber ? "active" : "superseded") : e.state,
        validAt: Number(pending[1]) === e.number && e.state !== "accepted" ? Number(acceptableAt) : null,
        blocks: e.blocks.map((h) => heights.get(h) ?? null),
        dataHash: e.dataHash,
        uri: `/api/epochs/${e.number}`,
        proposeTx: e.proposeTx,
        acceptTx: e.acceptTx,
      }));
  });

  app.get<{ Params: { n: string } }>("/api/epochs/:n", async (req, reply) => {
    const record = await epochOf(req.params.n);
    return reply.type("application/json").send(fs.createReadStream(await local(record.filePath)));
  });

  app.get<{ Params: { n: string } }>("/api/epochs/:n/shares", async (req, reply) => {
    const record = await epochOf(req.params.n);
    return reply.type("application/x-ndjson").send(fs.createReadStream(await local(record.shareLogPath)));
  });

  // Publication (publish.baseUrl): the epoch folder as static files, and the header chain.
  app.get<{ Params: { file: string } }>("/epochs/:file", async (req, reply) => {
    const name = req.params.file;
    if (!ctx.epochsDir || !PUBLISHED_FILE.test(name)) throw new HttpError(404, `not published: ${name}`);
    const file = name === "headers.txt" ? path.join(ctx.epochsDir, name) : await local(path.join(ctx.epochsDir, name));
    if (!fs.existsSync(file)) throw new HttpError(404, `not published: ${name}`);
    const type = name.endsWith(".jsonl") ? "application/x-ndjson" : name.endsWith(".json") ? "application/json" : "text/plain";
    return reply.type(type).send(fs.createReadStream(file));
  });
  app.get("/api/chain/headers", async (_req, reply) => {
    if (!ctx.headerChain) throw new HttpError(404, "this pool mines on bitcoind: read the chain from your own node");
    return reply.type("text/plain").send(ctx.headerChain().join("\n") + "\n");
  });

  app.get<{ Params: { address: string } }>("/api/proof/:address", async (req) => {
    const address = addressOf(req.params.address);
    const active = await activeEpoch();
    if (!active) throw new HttpError(404, "no root is active yet");
    const entry = await entryOf(active, address);
    if (!entry) throw new HttpError(404, `${address} has no allocation in the active root (epoch ${active.number})`);
    return { account: entry.account, cumulative: entry.cumulative.toString(), proof: entry.proof, epoch: active.number, root: active.root as Hex, contract: ctx.contract, chainId: ctx.publicConfig.chainId };
  });

  app.get("/api/payouts", async () => ctx.payouts());
  app.get("/api/payouts/aside", async () => ctx.payoutsAside?.() ?? []);

  app.get("/api/events", (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write(": connected\n\n");
    let queued: object | undefined;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      if (queued) res.write(`event: update\ndata: ${JSON.stringify(queued)}\n\n`);
      queued = undefined;
    };
    const onUpdate = (update: object) => {
      queued = update;
      if (!timer) timer = setTimeout(flush, 1000);
    };
    const keepAlive = setInterval(() => res.write(": ping\n\n"), 15_000);
    ctx.events.on("update", onUpdate);
    req.raw.on("close", () => {
      clearInterval(keepAlive);
      clearTimeout(timer);
      ctx.events.off("update", onUpdate);
    });
  });

  app.get("/metrics", async (_req, reply) => {
    reply.type(ctx.metrics.contentType);
    return ctx.metrics.render();
  });

  app.get("/", (_req, reply) => serveWeb(ctx.webDir, "index.html", reply));
  app.get<{ Params: { "*": string } }>("/assets/*", (req, reply) => serveWeb(ctx.webDir, path.join("assets", req.params["*"]), reply));

  return app;
}

const MIME: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json" };

function serveWeb(webDir: string | undefined, rel: string, reply: FastifyReply) {
  if (!webDir) return reply.status(404).send({ error: "the web page is not built (npm run build:web)" });
  const file = path.resolve(webDir, rel);
  if (!file.startsWith(path.resolve(webDir) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    return reply.status(404).send({ error: `not found: ${rel}` });
  }
  return reply.type(MIME[path.extname(file)] ?? "application/octet-stream").send(fs.createReadStream(file));
}
