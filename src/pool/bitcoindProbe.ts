import fs from "node:fs";
import { ConfigError } from "../config";

/**
 * One `getblockchaininfo` to bitcoind before the template source starts (which retries for ever):
 * an unreachable node, refused credentials or an unreadable cookie stop the pool at start with the
 * setting named. Resolves with the node's chain name ("main", "test", "regtest", …).
 */
export async function probeBitcoind(opts: { url: string; user?: string; password?: string; cookieFile?: string; timeoutMs?: number }): Promise<string> {
  let auth: string;
  if (opts.cookieFile) {
    let cookie: string;
    try {
      cookie = fs.readFileSync(opts.cookieFile, "utf8").trim();
    } catch (err) {
      throw new ConfigError("chain.bitcoindCookie", `cannot read ${opts.cookieFile}: ${(err as Error).message} (is bitcoind running, with this -datadir?)`);
    }
    auth = cookie;
  } else {
    auth = `${opts.user ?? ""}:${opts.password ?? ""}`;
  }
  let res: Response;
  try {
    res = await fetch(opts.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
      body: JSON.stringify({ jsonrpc: "1.0", id: "probe", method: "getblockchaininfo", params: [] }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ConfigError("chain.bitcoindUrl", `no bitcoind answers at ${opts.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  if (res.status === 401 || res.status === 403) {
    throw new ConfigError(opts.cookieFile ? "chain.bitcoindCookie" : "chain.bitcoindUser", `bitcoind at ${opts.url} refused the credentials (HTTP ${res.status})`);
  }
  let body: { result?: { chain?: string }; error?: { message?: string } | null };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new ConfigError("chain.bitcoindUrl", `${opts.url} answered HTTP ${res.status} without JSON-RPC: not a bitcoind RPC port?`);
  }
  if (body.error) throw new ConfigError("chain.bitcoindUrl", `bitcoind at ${opts.url}: ${body.error.message ?? JSON.stringify(body.error)}`);
  return body.result?.chain ?? "unknown";
}
