import type { BlockFound, ClaimProof, EpochSummary, HashratePoint, MinerInfo, Payout, PoolConfig, PoolStats } from "./types";

/** The API answered with an error status; `reason` is its `error` field when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly path: string,
  ) {
    super(`${reason} (HTTP ${status} from ${path})`);
  }
}

/** The API could not be reached at all (pool down, network gone). */
export class ApiUnreachableError extends Error {
  constructor(readonly path: string) {
    super(`The pool's API is not reachable (${path}). Is the pool running?`);
  }
}

async function request(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: "application/json" }, cache: "no-store" });
  } catch {
    throw new ApiUnreachableError(path);
  }
  if (!res.ok) {
    let reason = res.statusText || "request failed";
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === "string") reason = body.error;
    } catch {
      // not JSON: keep the status text
    }
    // A proxy in front of a stopped pool answers 502/503/504: that is "unreachable" to a user.
    if (res.status === 502 || res.status === 503 || res.status === 504) throw new ApiUnreachableError(path);
    throw new ApiError(res.status, reason, path);
  }
  return res;
}

async function json<T>(path: string): Promise<T> {
  const res = await request(path);
  try {
    return (await res.json()) as T;
  } catch {
    throw new ApiError(res.status, "the answer is not valid JSON", path);
  }
}

const enc = encodeURIComponent;

export const api = {
  config: () => json<PoolConfig>("/api/config"),
  stats: () => json<PoolStats>("/api/stats"),
  hashrate: (address?: string) =>
    json<{ points: HashratePoint[] }>(address ? `/api/hashrate?address=${enc(address)}` : "/api/hashrate").then((r) => r.points),
  blocks: () => json<BlockFound[]>("/api/blocks"),
  miner: (address: string) => json<MinerInfo>(`/api/miners/${enc(address)}`),
  epochs: () => json<EpochSummary[]>("/api/epochs"),
  /** The epoch file's exact bytes: the audit hashes them (the contract records their keccak256). */
  epochFileBytes: async (epoch: number) => new Uint8Array(await (await request(`/api/epochs/${epoch}`)).arrayBuffer()),
  proof: (address: string) => json<ClaimProof>(`/api/proof/${enc(address)}`),
  payouts: () => json<Payout[]>("/api/payouts"),
};

export const sharesLogUrl = (epoch: number) => `/api/epochs/${epoch}/shares`;
export const EVENTS_URL = "/api/events";
