import { difficultyToTarget } from "../pow";
import { DEFAULT_BAN_SETTINGS, type BanSettings } from "./bans";
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
  /** After a retarget, shares are judged at the lower of their job's and the current difficulty for this long. */
  retargetGraceMs: number;
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
  maxConnections: number;
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
  retargetGraceMs: 10_000,
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
  keepAliveMs: 60_000,
  hashrateWindowSeconds: 600,
};

export type StratumConfigInput = Partial<Omit<StratumConfig, "vardiff" | "bans">> & {
  vardiff?: Partial<VardiffSettings>;
  bans?: Partial<BanSettings>;
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
  } as StratumConfig;
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
  if ((c.versionMask >>> 0) !== c.versionMask) throw new RangeError("stratum.versionMask must be a 32-bit unsigned integer");
  return c;
}
