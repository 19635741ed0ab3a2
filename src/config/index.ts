import fs from "node:fs";
import path from "node:path";
import { isAddress, getAddress, zeroAddress, type Address, type Hex } from "viem";
import { PAYOUT_SCHEMES, type PayoutScheme } from "../schemes/credit";

/**
 * `payout.change`: a change of payout scheme and/or fee (pplns.feeBps, basis points) that applies
 * from epoch `fromEpoch` on. Every epoch file before it announces it (the file's `parameters`), so
 * an auditor sees it at least one epoch ahead; the pool refuses to start with a `fromEpoch` that
 * is not after the next epoch it builds (src/schemes/change.ts). Env: POOL_PAYOUT_CHANGE_FROM_EPOCH,
 * POOL_PAYOUT_CHANGE_SCHEME, POOL_PAYOUT_CHANGE_FEE_BPS.
 */
export interface PayoutChange {
  fromEpoch: number;
  scheme?: PayoutScheme;
  feeBps?: number;
}

/** Everything `pool start` needs. Absent optional parts mean "use the embedded default". */
export interface PoolConfig {
  /**
   * What this process runs (issue 15): "all" (the embedded default: Stratum, committer, payouts
   * and API in one process), "stratum" (a front end: Stratum, shares into the shared store),
   * "committer" (a candidate for committer and payout relay: elected through PostgreSQL, one at a
   * time), or "api" (nothing but the HTTP API and page over the shared store). Every process also
   * serves the API and /metrics on api.port. With PostgreSQL, every process whose role includes
   * the committer is a candidate, and only the elected one builds, proposes and pays. Roles other
   * than "all" need PostgreSQL, bitcoind and an external EVM.
   */
  role: PoolRole;
  dataDir: string;
  stratum: { host: string; port: number; startDifficulty: string; minDifficulty: string; maxDifficulty: string; targetShareSeconds: number; extranonce2Size: number; maxConnections: number; limits: StratumLimits; processes: number };
  api: { host: string; port: number };
  /** EVM side: `rpcUrl` absent = serve the in-process Hardhat EVM on embeddedHost:embeddedPort. */
  evm: {
    rpcUrl?: string; embeddedHost: string; embeddedPort: number; contract?: Address; operatorKey?: Hex; token?: Address; challengeWindow: number; maxPause: number;
    /**
     * Smallest units of the reward asset paid per satoshi of block reward. Checked at start against
     * the asset's decimals (src/evm/asset.ts); absent = 1, with a warning when the asset does not
     * have 8 decimals.
     */
    unitsPerSatoshi?: bigint;
    /** A deployment record written by scripts/deploy.ts: supplies evm.contract (and checks chain id, token). */
    deployment?: string;
    /** The operator key's native balance (whole coins, decimal) under which the pool warns and sets a metric. */
    minOperatorBalance: string;
    /**
     * The embedded EVM's state: "persistent" (anvil, saved in dataDir/evm after every block, the
     * contract reused across restarts) or "memory" (the in-process Hardhat network, new each start).
     */
    embeddedState: "persistent" | "memory";
  };
  /** Block templates: `bitcoindUrl` absent = the embedded local chain. */
  chain: { bitcoindUrl?: string; bitcoindUser?: string; bitcoindPassword?: string; bitcoindCookie?: string; networkDifficulty: string; syntheticTxs: number; payoutScript?: string };
  /**
   * Share store: `postgresUrl` absent = SQLite in dataDir. `writerThread` (SQLite): write shares on
   * a thread of their own, off the event loop (costs CPU a share; for machines with spare cores).
   */
  store: { postgresUrl?: string; writerThread?: boolean };
  pplns: { factor: number; feeBps: number; feeAddress?: Address; confirmations: number };
  /**
   * Payout scheme: "pplns" (the default: each confirmed block split over its window), "pps" or
   * "fpps" (every share paid its expected value of the subsidy, FPPS also of the fees averaged over
   * the previous 144 blocks; epochs close every `intervalSeconds`; found blocks go to the operator,
   * who funds each epoch's credits). The fee is pplns.feeBps (basis points) under every scheme.
   */
  payout: { scheme: PayoutScheme; intervalSeconds: number; change?: PayoutChange };
  committer: { fundEpochs: boolean; pollSeconds: number };
  /** Automatic payouts: threshold (whole units of the asset, a decimal like "0.01") undefined = off (miners claim themselves). */
  payouts: { threshold?: string; maxGasPerBatch: number };
  /** Logging: level (pino's names) and format (auto = pretty on a terminal, JSON otherwise). */
  log: { level: LogLevel; format: LogFormat };
  /**
   * Publication: `baseUrl` is the public URL where the pool serves its epoch folder (the API's
   * `/epochs/`, e.g. https://pool.example/epochs): proposeRoot's uri becomes `<baseUrl>/epoch-N.json`
   * so that anyone finds the files from the contract alone. Absent: the local file:// path.
   */
  publish?: { baseUrl?: string };
}

/** The Stratum connection limits settable at pool level (docs/stratum.md "Limits"; the rest keep their defaults). */
export interface StratumLimits {
  maxConnectionsPerAddress: number;
  connectsPerSecondPerAddress: number;
  messagesPerSecond: number;
  messageBurst: number;
  fdReserve: number;
}

export const POOL_ROLES = ["all", "stratum", "committer", "api"] as const;
export type PoolRole = (typeof POOL_ROLES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["auto", "pretty", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Decimals a difficulty setting may have: the share store keeps fraction × 10^12 (shares/difficulty.ts). */
export const DIFFICULTY_SETTING_DECIMALS = 12;

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`invalid configuration: ${setting}: ${message}`);
  }
}

export const DEFAULT_CONFIG: PoolConfig = {
  role: "all",
  dataDir: "data",
  stratum: {
    host: "127.0.0.1",
    port: 3333,
    startDifficulty: "0.001",
    minDifficulty: "0.0001",
    maxDifficulty: "1000000000",
    targetShareSeconds: 10,
    extranonce2Size: 4,
    maxConnections: 100_000,
    processes: 1,
    limits: { maxConnectionsPerAddress: 5000, connectsPerSecondPerAddress: 100, messagesPerSecond: 100, messageBurst: 500, fdReserve: 256 },
  },
  api: { host: "127.0.0.1", port: 8080 },
  // A real, short window on the embedded EVM, so that `npm start` runs the whole flow (the countdown
  // included); tests that start a pool pass 1 (the contract's minimum: accept in the next block).
  evm: { embeddedHost: "127.0.0.1", embeddedPort: 8545, challengeWindow: 30, maxPause: 3 * 24 * 3600, minOperatorBalance: "0.01", embeddedState: "persistent" },
  chain: { networkDifficulty: "0.01", syntheticTxs: 3 },
  store: {},
  pplns: { factor: 2, feeBps: 100, confirmations: 1 },
  payout: { scheme: "pplns", intervalSeconds: 3600 },
  committer: { fundEpochs: true, pollSeconds: 2 },
  payouts: { maxGasPerBatch: 10_000_000 },
  log: { level: "info", format: "auto" },
};

/** Environment variables and the setting each one sets. */
const ENV_SETTINGS: Record<string, string> = {
  POOL_ROLE: "role",
  POOL_DATA_DIR: "dataDir",
  POOL_STRATUM_HOST: "stratum.host",
  POOL_STRATUM_PORT: "stratum.port",
  POOL_START_DIFFICULTY: "stratum.startDifficulty",
  POOL_MIN_DIFFICULTY: "stratum.minDifficulty",
  POOL_MAX_DIFFICULTY: "stratum.maxDifficulty",
  POOL_TARGET_SHARE_SECONDS: "stratum.targetShareSeconds",
  POOL_STRATUM_MAX_CONNECTIONS: "stratum.maxConnections",
  POOL_STRATUM_MAX_PER_ADDRESS: "stratum.limits.maxConnectionsPerAddress",
  POOL_STRATUM_PROCESSES: "stratum.processes",
  POOL_API_HOST: "api.host",
  POOL_API_PORT: "api.port",
  POOL_EVM_RPC_URL: "evm.rpcUrl",
  POOL_EVM_PORT: "evm.embeddedPort",
  POOL_CONTRACT: "evm.contract",
  POOL_OPERATOR_KEY: "evm.operatorKey",
  POOL_TOKEN: "evm.token",
  POOL_CHALLENGE_WINDOW: "evm.challengeWindow",
  POOL_UNITS_PER_SATOSHI: "evm.unitsPerSatoshi",
  POOL_DEPLOYMENT: "evm.deployment",
  POOL_EVM_STATE: "evm.embeddedState",
  POOL_MIN_OPERATOR_BALANCE: "evm.minOperatorBalance",
  POOL_LOG_LEVEL: "log.level",
  POOL_LOG_FORMAT: "log.format",
  POOL_BITCOIND_URL: "chain.bitcoindUrl",
  POOL_BITCOIND_USER: "chain.bitcoindUser",
  POOL_BITCOIND_PASSWORD: "chain.bitcoindPassword",
  POOL_BITCOIND_COOKIE: "chain.bitcoindCookie",
  POOL_NETWORK_DIFFICULTY: "chain.networkDifficulty",
  POOL_PAYOUT_SCRIPT: "chain.payoutScript",
  POOL_PUBLISH_BASE_URL: "publish.baseUrl",
  POOL_POSTGRES_URL: "store.postgresUrl",
  POOL_STORE_WRITER_THREAD: "store.writerThread",
  POOL_PPLNS_FACTOR: "pplns.factor",
  POOL_FEE_BPS: "pplns.feeBps",
  POOL_FEE_ADDRESS: "pplns.feeAddress",
  POOL_CONFIRMATIONS: "pplns.confirmations",
  POOL_FUND_EPOCHS: "committer.fundEpochs",
  POOL_PAYOUT_SCHEME: "payout.scheme",
  POOL_PAYOUT_INTERVAL_SECONDS: "payout.intervalSeconds",
  POOL_PAYOUT_CHANGE_FROM_EPOCH: "payout.change.fromEpoch",
  POOL_PAYOUT_CHANGE_SCHEME: "payout.change.scheme",
  POOL_PAYOUT_CHANGE_FEE_BPS: "payout.change.feeBps",
  POOL_PAYOUT_THRESHOLD: "payouts.threshold",
};

type Raw = Record<string, unknown>;

/**
 * Builds the configuration from defaults, an optional JSON config file and POOL_* environment
 * variables (in that order of precedence, lowest first), then validates it. Any invalid value
 * throws a ConfigError naming the setting.
 */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Raw } = {}): PoolConfig {
  const raw: Raw = {};
  if (opts.file) {
    let text: string;
    try {
      text = fs.readFileSync(opts.file, "utf8");
    } catch (e) {
      throw new ConfigError("config file", `cannot read ${opts.file}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError("config file", `${opts.file} is not valid JSON: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError("config file", "must hold a JSON object");
    flatten(parsed as Raw, "", raw);
  }
  const env = opts.env ?? process.env;
  for (const [name, setting] of Object.entries(ENV_SETTINGS)) {
    const value = env[name];
    if (value === undefined) continue;
    // A variable set to nothing is a mistake (a blank POOL_FEE_BPS once meant a 0 % fee): refuse it.
    if (value.trim() === "") throw new ConfigError(setting, `${name} is set but empty: unset it or give a value`);
    raw[setting] = value.trim();
  }
  if (opts.overrides) flatten(opts.overrides, "", raw);
  return validate(raw);
}

function flatten(obj: Raw, prefix: string, out: Raw): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v as Raw, key, out);
    else if (v !== undefined) out[key] = v;
  }
}

function validate(raw: Raw): PoolConfig {
  const c: PoolConfig = structuredClone(DEFAULT_CONFIG);
  const known = new Set<string>();
  const take = <T>(setting: string, parse: (v: unknown, setting: string) => T, assign: (v: T) => void) => {
    known.add(setting);
    if (raw[setting] !== undefined) assign(parse(raw[setting], setting));
  };
  take("role", oneOf(POOL_ROLES), (v) => (c.role = v));
  take("dataDir", str, (v) => (c.dataDir = v));
  take("stratum.host", str, (v) => (c.stratum.host = v));
  take("stratum.port", port, (v) => (c.stratum.port = v));
  take("stratum.startDifficulty", difficulty, (v) => (c.stratum.startDifficulty = v));
  take("stratum.minDifficulty", difficulty, (v) => (c.stratum.minDifficulty = v));
  take("stratum.maxDifficulty", difficulty, (v) => (c.stratum.maxDifficulty = v));
  take("stratum.targetShareSeconds", positiveNumber, (v) => (c.stratum.targetShareSeconds = v));
  take("stratum.extranonce2Size", intRange(2, 8), (v) => (c.stratum.extranonce2Size = v));
  take("stratum.maxConnections", intRange(1, 10_000_000), (v) => (c.stratum.maxConnections = v));
  take("stratum.processes", intRange(1, 256), (v) => (c.stratum.processes = v));
  take("stratum.limits.maxConnectionsPerAddress", intRange(1, 10_000_000), (v) => (c.stratum.limits.maxConnectionsPerAddress = v));
  take("stratum.limits.connectsPerSecondPerAddress", positiveNumber, (v) => (c.stratum.limits.connectsPerSecondPerAddress = v));
  take("stratum.limits.messagesPerSecond", positiveNumber, (v) => (c.stratum.limits.messagesPerSecond = v));
  take("stratum.limits.messageBurst", intRange(5, 100_000_000), (v) => (c.stratum.limits.messageBurst = v));
  take("stratum.limits.fdReserve", intRange(0, 1_000_000), (v) => (c.stratum.limits.fdReserve = v));
  take("api.host", str, (v) => (c.api.host = v));
  take("api.port", port, (v) => (c.api.port = v));
  take("evm.rpcUrl", url, (v) => (c.evm.rpcUrl = v));
  take("evm.embeddedHost", str, (v) => (c.evm.embeddedHost = v));
  take("evm.embeddedPort", port, (v) => (c.evm.embeddedPort = v));
  take("evm.contract", address, (v) => (c.evm.contract = v));
  take("evm.operatorKey", privateKey, (v) => (c.evm.operatorKey = v));
  take("evm.token", (v, s) => (v === "native" ? zeroAddress : address(v, s)), (v) => (c.evm.token = v)); // "native" as for scripts/deploy.ts's POOL_TOKEN
  take("evm.challengeWindow", intRange(1, 30 * 24 * 3600), (v) => (c.evm.challengeWindow = v)); // PayoutPool's own bounds
  take("evm.maxPause", intRange(0, 14 * 24 * 3600), (v) => (c.evm.maxPause = v));
  take("evm.unitsPerSatoshi", positiveBigint, (v) => (c.evm.unitsPerSatoshi = v));
  take("evm.deployment", str, (v) => (c.evm.deployment = path.resolve(v)));
  take("evm.embeddedState", oneOf(["persistent", "memory"] as const), (v) => (c.evm.embeddedState = v));
  take("evm.minOperatorBalance", unitDecimal, (v) => (c.evm.minOperatorBalance = v));
  take("log.level", oneOf(LOG_LEVELS), (v) => (c.log.level = v));
  take("log.format", oneOf(LOG_FORMATS), (v) => (c.log.format = v));
  take("chain.bitcoindUrl", url, (v) => (c.chain.bitcoindUrl = v));
  take("chain.bitcoindUser", str, (v) => (c.chain.bitcoindUser = v));
  take("chain.bitcoindPassword", str, (v) => (c.chain.bitcoindPassword = v));
  take("chain.bitcoindCookie", str, (v) => (c.chain.bitcoindCookie = v));
  take("chain.networkDifficulty", difficulty, (v) => (c.chain.networkDifficulty = v));
  take("chain.syntheticTxs", intRange(0, 1000), (v) => (c.chain.syntheticTxs = v));
  take("chain.payoutScript", hexString, (v) => (c.chain.payoutScript = v));
  take("store.postgresUrl", url, (v) => (c.store.postgresUrl = v));
  take("store.writerThread", bool, (v) => (c.store.writerThread = v));
  take("pplns.factor", positiveNumber, (v) => (c.pplns.factor = v));
  take("pplns.feeBps", intRange(0, 10_000), (v) => (c.pplns.feeBps = v));
  take("pplns.feeAddress", address, (v) => (c.pplns.feeAddress = v));
  take("pplns.confirmations", intRange(1, 10_000), (v) => (c.pplns.confirmations = v));
  take("payout.scheme", oneOf(PAYOUT_SCHEMES), (v) => (c.payout.scheme = v));
  take("payout.intervalSeconds", intRange(60, 31 * 24 * 3600), (v) => (c.payout.intervalSeconds = v));
  const change: Partial<PayoutChange> = {};
  take("payout.change.fromEpoch", intRange(2, Number.MAX_SAFE_INTEGER), (v) => (change.fromEpoch = v));
  take("payout.change.scheme", oneOf(PAYOUT_SCHEMES), (v) => (change.scheme = v));
  take("payout.change.feeBps", intRange(0, 10_000), (v) => (change.feeBps = v));
  take("committer.fundEpochs", bool, (v) => (c.committer.fundEpochs = v));
  take("committer.pollSeconds", positiveNumber, (v) => (c.committer.pollSeconds = v));
  take("payouts.threshold", unitDecimal, (v) => (c.payouts.threshold = v));
  take("payouts.maxGasPerBatch", intRange(100_000, 100_000_000), (v) => (c.payouts.maxGasPerBatch = v));
  take("publish.baseUrl", url, (v) => (c.publish = { ...c.publish, baseUrl: v }));

  for (const key of Object.keys(raw)) if (!known.has(key)) throw new ConfigError(key, "unknown setting");
  const [minD, startD, maxD] = [c.stratum.minDifficulty, c.stratum.startDifficulty, c.stratum.maxDifficulty].map(scaledDifficulty);
  if (minD > maxD) throw new ConfigError("stratum.minDifficulty", `${c.stratum.minDifficulty} is above stratum.maxDifficulty ${c.stratum.maxDifficulty}`);
  if (startD < minD) throw new ConfigError("stratum.startDifficulty", `${c.stratum.startDifficulty} is below stratum.minDifficulty ${c.stratum.minDifficulty}`);
  if (startD > maxD) throw new ConfigError("stratum.startDifficulty", `${c.stratum.startDifficulty} is above stratum.maxDifficulty ${c.stratum.maxDifficulty}`);
  if (c.evm.deployment && c.evm.contract) throw new ConfigError("evm.deployment", "give either evm.deployment or evm.contract, not both");
  if (c.evm.deployment && !c.evm.rpcUrl) throw new ConfigError("evm.deployment", "needs evm.rpcUrl (the node of the deployment's chain)");
  if (c.evm.rpcUrl && !c.evm.contract && !c.evm.deployment) throw new ConfigError("evm.contract", "is required with evm.rpcUrl (set POOL_CONTRACT, or evm.deployment to a deployment record)");
  if (c.evm.rpcUrl && !c.evm.operatorKey) throw new ConfigError("evm.operatorKey", "is required with evm.rpcUrl (set POOL_OPERATOR_KEY)");
  // FPPS fees an auditor checks: bitcoind's getblockstats totalfee, or on the embedded chain each
  // block's coinbase published with its header (src/audit/powchain.ts).
  if (Object.keys(change).length > 0) c.payout.change = payoutChange(change, c);
  if (c.chain.bitcoindUrl && !c.chain.payoutScript) throw new ConfigError("chain.payoutScript", "is required with chain.bitcoindUrl: the block reward's output script (hex)");
  if (c.chain.bitcoindUrl && !c.chain.bitcoindCookie && !(c.chain.bitcoindUser && c.chain.bitcoindPassword)) {
    throw new ConfigError("chain.bitcoindUser", "bitcoind needs chain.bitcoindUser and chain.bitcoindPassword, or chain.bitcoindCookie");
  }
  if (c.role !== "all") {
    // Several processes share one deployment: one store, one chain, one contract they all reach.
    if (!c.store.postgresUrl) throw new ConfigError("role", `"${c.role}" needs store.postgresUrl: the processes of one pool share a PostgreSQL store (SQLite is one process's file)`);
    if (!c.chain.bitcoindUrl) throw new ConfigError("role", `"${c.role}" needs chain.bitcoindUrl: the processes of one pool must mine one chain (the embedded chain lives inside one process)`);
    if (!c.evm.rpcUrl) throw new ConfigError("role", `"${c.role}" needs evm.rpcUrl and evm.contract (or evm.deployment): the embedded EVM lives inside one process`);
  }
  c.dataDir = path.resolve(c.dataDir);
  return c;
}

/**
 * The static rules of `payout.change` (the pool checks it against the epochs already built when it
 * starts, src/schemes/change.ts): a `fromEpoch` and something to change, no change back from
 * pps/fpps to pplns (the builder's rule: PPLNS windows would pay shares already paid per share).
 */
function payoutChange(change: Partial<PayoutChange>, c: PoolConfig): PayoutChange {
  if (change.fromEpoch === undefined) throw new ConfigError("payout.change.fromEpoch", "is required with payout.change.scheme or payout.change.feeBps: the epoch from which the change applies (POOL_PAYOUT_CHANGE_FROM_EPOCH)");
  if (change.scheme === undefined && change.feeBps === undefined) throw new ConfigError("payout.change", "gives fromEpoch but nothing to change: set payout.change.scheme and/or payout.change.feeBps");
  if ((change.scheme ?? c.payout.scheme) === c.payout.scheme && (change.feeBps ?? c.pplns.feeBps) === c.pplns.feeBps) {
    throw new ConfigError("payout.change", `changes nothing: scheme ${c.payout.scheme} and fee ${c.pplns.feeBps} bps are what payout.scheme and pplns.feeBps already say (after a change has applied, set payout.scheme / pplns.feeBps to its values and remove payout.change in the same restart)`);
  }
  if (change.scheme === "pplns" && c.payout.scheme !== "pplns") {
    throw new ConfigError("payout.change.scheme", `a change from ${c.payout.scheme} back to pplns is not supported (PPLNS windows would pay shares the per-share epochs already paid)`);
  }
  return { fromEpoch: change.fromEpoch, ...(change.scheme !== undefined ? { scheme: change.scheme } : {}), ...(change.feeBps !== undefined ? { feeBps: change.feeBps } : {}) };
}

/** JSON numbers and strings of digits only: `true`, `null`, "" or " 1" never become a number. */
function integerText(v: unknown): string | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return v;
  return undefined;
}
function decimalText(v: unknown): string | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "string" && /^(?:\d+(?:\.\d+)?|\.\d+)$/.test(v)) return v;
  return undefined;
}
function str(v: unknown, s: string): string {
  if (typeof v !== "string" || v.trim().length === 0) throw new ConfigError(s, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}
function port(v: unknown, s: string): number {
  const text = integerText(v);
  const n = text === undefined ? NaN : Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(s, `must be a port number 0-65535, got ${JSON.stringify(v)}`);
  return n;
}
function intRange(min: number, max: number) {
  return (v: unknown, s: string): number => {
    const text = integerText(v);
    const n = text === undefined ? NaN : Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(s, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}
function positiveNumber(v: unknown, s: string): number {
  const text = decimalText(v);
  const n = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(s, `must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}
function difficulty(v: unknown, s: string): string {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string" || !/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(text) || Number(text) <= 0) {
    throw new ConfigError(s, `must be a positive decimal difficulty like "0.02", got ${JSON.stringify(v)}`);
  }
  const fraction = text.split(".")[1] ?? "";
  if (fraction.replace(/0+$/, "").length > DIFFICULTY_SETTING_DECIMALS) {
    throw new ConfigError(s, `has more than ${DIFFICULTY_SETTING_DECIMALS} decimals (the share store keeps difficulties to 10^-${DIFFICULTY_SETTING_DECIMALS}), got ${JSON.stringify(v)}`);
  }
  if (scaledDifficulty(text) === 0n) throw new ConfigError(s, `must be at least 10^-${DIFFICULTY_SETTING_DECIMALS}, got ${JSON.stringify(v)}`);
  return text;
}
/** A validated difficulty as an exact integer × 10^12 (for comparisons without floats). */
function scaledDifficulty(text: string): bigint {
  const [whole, fraction = ""] = text.split(".");
  return BigInt(whole || "0") * 10n ** BigInt(DIFFICULTY_SETTING_DECIMALS) + BigInt(fraction.slice(0, DIFFICULTY_SETTING_DECIMALS).padEnd(DIFFICULTY_SETTING_DECIMALS, "0") || "0");
}
function url(v: unknown, s: string): string {
  const text = str(v, s);
  try {
    new URL(text);
  } catch {
    throw new ConfigError(s, `must be a URL, got ${JSON.stringify(v)}`);
  }
  return text;
}
/** Lower-case (or all upper-case) hex is taken as is; mixed case must be a valid EIP-55 checksum. */
function address(v: unknown, s: string): Address {
  if (typeof v !== "string" || !isAddress(v, { strict: false })) throw new ConfigError(s, `must be a 0x-prefixed 20-byte address, got ${JSON.stringify(v)}`);
  const body = v.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && getAddress(v) !== v) {
    throw new ConfigError(s, `${v} has a bad EIP-55 checksum (a mistyped character?); the checksummed form of the lower-case address is ${getAddress(v.toLowerCase())}`);
  }
  return getAddress(v);
}
function privateKey(v: unknown, s: string): Hex {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(v)) throw new ConfigError(s, "must be a 0x-prefixed 32-byte hex private key");
  return v as Hex;
}
function hexString(v: unknown, s: string): string {
  if (typeof v !== "string" || !/^(?:[0-9a-fA-F]{2})+$/.test(v)) throw new ConfigError(s, "must be hex bytes");
  return v.toLowerCase();
}
function bool(v: unknown, s: string): boolean {
  if (v === true || v === "true" || v === "1") return true;
  if (v === false || v === "false" || v === "0") return false;
  throw new ConfigError(s, `must be true or false, got ${JSON.stringify(v)}`);
}
function positiveBigint(v: unknown, s: string): bigint {
  const text = integerText(v);
  if (text === undefined || BigInt(text) <= 0n) throw new ConfigError(s, `must be a positive integer, got ${JSON.stringify(v)}`);
  return BigInt(text);
}
/** An amount in whole units of the asset ("0.01"); converted with the asset's decimals at start. */
function unitDecimal(v: unknown, s: string): string {
  const text = typeof v === "string" ? v : undefined;
  if (text === undefined || !/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(text)) {
    throw new ConfigError(s, `must be an amount in whole units of the asset, written as a decimal string like "0.01", got ${JSON.stringify(v)}`);
  }
  return text;
}
function oneOf<T extends string>(values: readonly T[]) {
  return (v: unknown, s: string): T => {
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) throw new ConfigError(s, `must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
    return v as T;
  };
}
