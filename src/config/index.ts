import fs from "node:fs";
import path from "node:path";
import { isAddress, getAddress, type Address, type Hex } from "viem";

/** Everything `pool start` needs. Absent optional parts mean "use the embedded default". */
export interface PoolConfig {
  dataDir: string;
  stratum: { host: string; port: number; startDifficulty: string; minDifficulty: string; maxDifficulty: string; targetShareSeconds: number; extranonce2Size: number };
  api: { host: string; port: number };
  /** EVM side: `rpcUrl` absent = serve the in-process Hardhat EVM on embeddedHost:embeddedPort. */
  evm: { rpcUrl?: string; embeddedHost: string; embeddedPort: number; contract?: Address; operatorKey?: Hex; token?: Address; challengeWindow: number; maxPause: number };
  /** Block templates: `bitcoindUrl` absent = the embedded local chain. */
  chain: { bitcoindUrl?: string; bitcoindUser?: string; bitcoindPassword?: string; bitcoindCookie?: string; networkDifficulty: string; syntheticTxs: number; payoutScript?: string };
  /** Share store: `postgresUrl` absent = SQLite in dataDir. */
  store: { postgresUrl?: string };
  pplns: { factor: number; feeBps: number; feeAddress?: Address; confirmations: number };
  committer: { fundEpochs: boolean; pollSeconds: number };
  /** Automatic payouts: threshold undefined = off (miners claim themselves). */
  payouts: { threshold?: bigint; maxGasPerBatch: number };
}

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`invalid configuration: ${setting}: ${message}`);
  }
}

export const DEFAULT_CONFIG: PoolConfig = {
  dataDir: "data",
  stratum: { host: "127.0.0.1", port: 3333, startDifficulty: "0.001", minDifficulty: "0.0001", maxDifficulty: "1000000000", targetShareSeconds: 10, extranonce2Size: 4 },
  api: { host: "127.0.0.1", port: 8080 },
  evm: { embeddedHost: "127.0.0.1", embeddedPort: 8545, challengeWindow: 0, maxPause: 3 * 24 * 3600 },
  chain: { networkDifficulty: "0.01", syntheticTxs: 3 },
  store: {},
  pplns: { factor: 2, feeBps: 100, confirmations: 1 },
  committer: { fundEpochs: true, pollSeconds: 2 },
  payouts: { maxGasPerBatch: 10_000_000 },
};

/** Environment variables and the setting each one sets. */
const ENV_SETTINGS: Record<string, string> = {
  POOL_DATA_DIR: "dataDir",
  POOL_STRATUM_HOST: "stratum.host",
  POOL_STRATUM_PORT: "stratum.port",
  POOL_START_DIFFICULTY: "stratum.startDifficulty",
  POOL_MIN_DIFFICULTY: "stratum.minDifficulty",
  POOL_MAX_DIFFICULTY: "stratum.maxDifficulty",
  POOL_TARGET_SHARE_SECONDS: "stratum.targetShareSeconds",
  POOL_API_HOST: "api.host",
  POOL_API_PORT: "api.port",
  POOL_EVM_RPC_URL: "evm.rpcUrl",
  POOL_EVM_PORT: "evm.embeddedPort",
  POOL_CONTRACT: "evm.contract",
  POOL_OPERATOR_KEY: "evm.operatorKey",
  POOL_TOKEN: "evm.token",
  POOL_CHALLENGE_WINDOW: "evm.challengeWindow",
  POOL_BITCOIND_URL: "chain.bitcoindUrl",
  POOL_BITCOIND_USER: "chain.bitcoindUser",
  POOL_BITCOIND_PASSWORD: "chain.bitcoindPassword",
  POOL_BITCOIND_COOKIE: "chain.bitcoindCookie",
  POOL_NETWORK_DIFFICULTY: "chain.networkDifficulty",
  POOL_PAYOUT_SCRIPT: "chain.payoutScript",
  POOL_POSTGRES_URL: "store.postgresUrl",
  POOL_PPLNS_FACTOR: "pplns.factor",
  POOL_FEE_BPS: "pplns.feeBps",
  POOL_FEE_ADDRESS: "pplns.feeAddress",
  POOL_CONFIRMATIONS: "pplns.confirmations",
  POOL_FUND_EPOCHS: "committer.fundEpochs",
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
    if (env[name] !== undefined && env[name] !== "") raw[setting] = env[name];
  }
  if (opts.overrides) flatten(opts.overrides, "", raw);
  return validate(raw);
}

function flatten(obj: Raw, prefix: string, out: Raw): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v as Raw, key, out);
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
  take("dataDir", str, (v) => (c.dataDir = v));
  take("stratum.host", str, (v) => (c.stratum.host = v));
  take("stratum.port", port, (v) => (c.stratum.port = v));
  take("stratum.startDifficulty", difficulty, (v) => (c.stratum.startDifficulty = v));
  take("stratum.minDifficulty", difficulty, (v) => (c.stratum.minDifficulty = v));
  take("stratum.maxDifficulty", difficulty, (v) => (c.stratum.maxDifficulty = v));
  take("stratum.targetShareSeconds", positiveNumber, (v) => (c.stratum.targetShareSeconds = v));
  take("stratum.extranonce2Size", intRange(2, 8), (v) => (c.stratum.extranonce2Size = v));
  take("api.host", str, (v) => (c.api.host = v));
  take("api.port", port, (v) => (c.api.port = v));
  take("evm.rpcUrl", url, (v) => (c.evm.rpcUrl = v));
  take("evm.embeddedHost", str, (v) => (c.evm.embeddedHost = v));
  take("evm.embeddedPort", port, (v) => (c.evm.embeddedPort = v));
  take("evm.contract", address, (v) => (c.evm.contract = v));
  take("evm.operatorKey", privateKey, (v) => (c.evm.operatorKey = v));
  take("evm.token", address, (v) => (c.evm.token = v));
  take("evm.challengeWindow", intRange(0, 365 * 24 * 3600), (v) => (c.evm.challengeWindow = v));
  take("evm.maxPause", intRange(0, 14 * 24 * 3600), (v) => (c.evm.maxPause = v));
  take("chain.bitcoindUrl", url, (v) => (c.chain.bitcoindUrl = v));
  take("chain.bitcoindUser", str, (v) => (c.chain.bitcoindUser = v));
  take("chain.bitcoindPassword", str, (v) => (c.chain.bitcoindPassword = v));
  take("chain.bitcoindCookie", str, (v) => (c.chain.bitcoindCookie = v));
  take("chain.networkDifficulty", difficulty, (v) => (c.chain.networkDifficulty = v));
  take("chain.syntheticTxs", intRange(0, 1000), (v) => (c.chain.syntheticTxs = v));
  take("chain.payoutScript", hexString, (v) => (c.chain.payoutScript = v));
  take("store.postgresUrl", url, (v) => (c.store.postgresUrl = v));
  take("pplns.factor", positiveNumber, (v) => (c.pplns.factor = v));
  take("pplns.feeBps", intRange(0, 10_000), (v) => (c.pplns.feeBps = v));
  take("pplns.feeAddress", address, (v) => (c.pplns.feeAddress = v));
  take("pplns.confirmations", intRange(1, 10_000), (v) => (c.pplns.confirmations = v));
  take("committer.fundEpochs", bool, (v) => (c.committer.fundEpochs = v));
  take("committer.pollSeconds", positiveNumber, (v) => (c.committer.pollSeconds = v));
  take("payouts.threshold", bigintValue, (v) => (c.payouts.threshold = v));
  take("payouts.maxGasPerBatch", intRange(100_000, 100_000_000), (v) => (c.payouts.maxGasPerBatch = v));

  for (const key of Object.keys(raw)) if (!known.has(key)) throw new ConfigError(key, "unknown setting");
  if (Number(c.stratum.minDifficulty) > Number(c.stratum.maxDifficulty)) {
    throw new ConfigError("stratum.minDifficulty", "is above stratum.maxDifficulty");
  }
  if (c.evm.rpcUrl && !c.evm.contract) throw new ConfigError("evm.contract", "is required with evm.rpcUrl (set POOL_CONTRACT)");
  if (c.evm.rpcUrl && !c.evm.operatorKey) throw new ConfigError("evm.operatorKey", "is required with evm.rpcUrl (set POOL_OPERATOR_KEY)");
  if (c.chain.bitcoindUrl && !c.chain.payoutScript) throw new ConfigError("chain.payoutScript", "is required with chain.bitcoindUrl: the block reward's output script (hex)");
  if (c.chain.bitcoindUrl && !c.chain.bitcoindCookie && !(c.chain.bitcoindUser && c.chain.bitcoindPassword)) {
    throw new ConfigError("chain.bitcoindUser", "bitcoind needs chain.bitcoindUser and chain.bitcoindPassword, or chain.bitcoindCookie");
  }
  c.dataDir = path.resolve(c.dataDir);
  return c;
}

function str(v: unknown, s: string): string {
  if (typeof v !== "string" || v.length === 0) throw new ConfigError(s, "must be a non-empty string");
  return v;
}
function port(v: unknown, s: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(s, `must be a port number 0-65535, got ${JSON.stringify(v)}`);
  return n;
}
function intRange(min: number, max: number) {
  return (v: unknown, s: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(s, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}
function positiveNumber(v: unknown, s: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(s, `must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}
function difficulty(v: unknown, s: string): string {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string" || !/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(text) || Number(text) <= 0) {
    throw new ConfigError(s, `must be a positive decimal difficulty like "0.02", got ${JSON.stringify(v)}`);
  }
  return text;
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
function address(v: unknown, s: string): Address {
  if (typeof v !== "string" || !isAddress(v, { strict: false })) throw new ConfigError(s, `must be a 0x-prefixed 20-byte address, got ${JSON.stringify(v)}`);
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
function bigintValue(v: unknown, s: string): bigint {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string" || !/^\d+$/.test(text)) throw new ConfigError(s, `must be a non-negative integer amount in the smallest unit, got ${JSON.stringify(v)}`);
  return BigInt(text);
}
