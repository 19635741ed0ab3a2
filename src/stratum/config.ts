import { difficultyToTarget } from "../pow";
import { checkBanSettings, DEFAULT_BAN_SETTINGS, type BanSettings } from "./bans";
import { checkLimitSettings, DEFAULT_LIMIT_SETTINGS, type LimitSettings } from "./limits";
import { DEFAULT_VARDIFF, type VardiffSettings } from "./vardiff";

export interface StratumConfig {
  host: string;
  /** 0 = any free port (tests). */
  port: number;
  extranonce1Size: number;
  extranonce2Size: number;
  /** Exact decimal strings (JSON number syntax), e.g. "0.001". */
  startDifficulty: string;
  minDifficulty: string;
  maxDifficulty: string;
  vardiff: VardiffSettings;
  /**
   * Accepted shares remembered per previous block for duplicate detection (header hashes, 32
   * bytes of table each at worst); beyond it shares are refused (20) until the next block.
   */
  maxSharesPerBlock: number;
  /** Payout addresses refused at authorize besides the built-in ones (e.g. the PayoutPool contract). */
  refusedAddresses: string[];
  /** BIP310 mask the server allows miners to roll. */
  versionMask: number;
  poolTag: string;
  /** Output script (hex) the block reward pays: the pool's own. Default OP_TRUE (embedded chain). */
  payoutScript: string;
  bans: BanSettings;
  maxLineBytes: number;
  /** Close a connection that has not subscribed and authorized within this time. */
  authTimeoutMs: number;
  /** Close a connection that has sent nothing for this long. */
  idleTimeoutMs: number;
  /** How often timeouts, vardiff-on-silence and expiries are checked. */
  sweepIntervalMs: number;
  /** Re-issue work with a fresh ntime when no new template came for this long. */
  jobRefreshMs: number;
  /** Jobs kept per session (older ids answer 21). */
  maxJobsPerSession: number;
  /** Accepted ntime: from the template's mintime to now + this. */
  maxNtimeFutureSeconds: number;
  /** Drop a client whose unread output exceeds this many bytes. */
  maxWriteBufferBytes: number;
  /** Stop reading from a client while its unread output exceeds this. */
  pauseWriteBufferBytes: number;
  /** Total connections (further reduced to keep `limits.fdReserve` descriptors free). */
  maxConnections: number;
  /** Per-connection message budget, per-address connection caps, slow-client timeouts (see limits.ts). */
  limits: LimitSettings;
  /** TCP keepalive probe delay for half-open connections. */
  keepAliveMs: number;
  /** Hash-rate estimate window. */
  hashrateWindowSeconds: number;
}

export const DEFAULT_STRATUM_CONFIG: StratumConfig = {
  host: "127.0.0.1",
  port: 3333,
  extranonce1Size: 4,
  extranonce2Size: 4,
  startDifficulty: "0.001",
  minDifficulty: "0.0001",
  maxDifficulty: "1000000000",
  vardiff: DEFAULT_VARDIFF,
  maxSharesPerBlock: 8_000_000,
  refusedAddresses: [],
  versionMask: 0x1fffe000,
  poolTag: "/pplns-pool/",
  payoutScript: "51",
  bans: DEFAULT_BAN_SETTINGS,
  maxLineBytes: 16 * 1024,
  authTimeoutMs: 30_000,
  idleTimeoutMs: 15 * 60_000,
  sweepIntervalMs: 1_000,
  jobRefreshMs: 30_000,
  maxJobsPerSession: 32,
  maxNtimeFutureSeconds: 7200,
  maxWriteBufferBytes: 1024 * 1024,
  pauseWriteBufferBytes: 64 * 1024,
  maxConnections: 100_000,
  limits: DEFAULT_LIMIT_SETTINGS,
  keepAliveMs: 60_000,
  hashrateWindowSeconds: 600,
};

export type StratumConfigInput = Partial<Omit<StratumConfig, "vardiff" | "bans" | "limits">> & {
  vardiff?: Partial<VardiffSettings>;
  bans?: Partial<BanSettings>;
  limits?: Partial<LimitSettings>;
};

const JSON_NUMBER_RE = /^(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Checks a configured difficulty: positive, exact decimal in JSON number syntax (it goes verbatim into set_difficulty). */
export function checkDifficulty(name: string, value: string): string {
  if (typeof value !== "string" || !JSON_NUMBER_RE.test(value)) {
    throw new RangeError(`stratum.${name}: expected a decimal number like "0.001", got ${JSON.stringify(value)}`);
  }
  difficultyToTarget(value); // throws on zero or out of range
  return value;
}

export function resolveConfig(input: StratumConfigInput = {}): StratumConfig {
  const c: StratumConfig = {
    ...DEFAULT_STRATUM_CONFIG,
    ...input,
    vardiff: { ...DEFAULT_VARDIFF, ...input.vardiff },
    bans: { ...DEFAULT_BAN_SETTINGS, ...input.bans },
    limits: { ...DEFAULT_LIMIT_SETTINGS, ...input.limits },
  } as StratumConfig;
  checkBanSettings(c.bans);
  checkLimitSettings(c.limits);
  if (!Number.isInteger(c.maxConnections) || c.maxConnections < 1) throw new RangeError("stratum.maxConnections must be a positive integer");
  if (!(c.pauseWriteBufferBytes > 0) || !(c.maxWriteBufferBytes >= c.pauseWriteBufferBytes)) {
    throw new RangeError("stratum.pauseWriteBufferBytes must be > 0 and at most maxWriteBufferBytes");
  }
  checkDifficulty("startDifficulty", c.startDifficulty);
  checkDifficulty("minDifficulty", c.minDifficulty);
  checkDifficulty("maxDifficulty", c.maxDifficulty);
  if (Number(c.minDifficulty) > Number(c.maxDifficulty)) throw new RangeError("stratum.minDifficulty is above maxDifficulty");
  if (!Number.isInteger(c.extranonce1Size) || c.extranonce1Size < 1 || c.extranonce1Size > 8) {
    throw new RangeError("stratum.extranonce1Size must be 1..8");
  }
  if (!Number.isInteger(c.extranonce2Size) || c.extranonce2Size < 1 || c.extranonce2Size > 16) {
    throw new RangeError("stratum.extranonce2Size must be 1..16");
  }
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw new RangeError("stratum.port must be 0..65535");
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(c.payoutScript)) throw new RangeError("stratum.payoutScript must be hex");
  if (c.vardiff.targetShareSeconds <= 0) throw new RangeError("stratum.vardiff.targetShareSeconds must be > 0");
  if (c.vardiff.maxFactor < 1) throw new RangeError("stratum.vardiff.maxFactor must be >= 1");
  if (!Number.isSafeInteger(c.maxSharesPerBlock) || c.maxSharesPerBlock < 1) throw new RangeError("stratum.maxSharesPerBlock must be a positive integer");
  if (!Array.isArray(c.refusedAddresses) || !c.refusedAddresses.every((a) => typeof a === "string" && /^0x[0-9a-fA-F]{40}$/.test(a))) {
    throw new RangeError("stratum.refusedAddresses must be a list of 0x-prefixed 20-byte addresses");
  }
  if ((c.versionMask >>> 0) !== c.versionMask) throw new RangeError("stratum.versionMask must be a 32-bit unsigned integer");
  return c;
}
