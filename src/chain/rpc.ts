import * as http from "node:http";
import { promises as fsp } from "node:fs";

export interface RpcOptions {
  /** http://host:port[/wallet/...]; credentials may also be given in the URL. */
  url: string;
  user?: string;
  password?: string;
  /** Path of bitcoind's .cookie file (re-read on every request: it changes when the node restarts). */
  cookieFile?: string;
  timeoutMs?: number;
}

/** The node could not be reached or answered something that is not JSON-RPC. Retryable. */
export class RpcTransportError extends Error {
  override name = "RpcTransportError";
}

/** The node refused our credentials. Not fixed by retrying with the same configuration. */
export class RpcAuthError extends Error {
  override name = "RpcAuthError";
}

/** A JSON-RPC error object returned by the node. */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(readonly code: number, message: string, readonly method: string) {
    super(`${method}: ${message} (code ${code})`);
  }
}

/** Minimal bitcoind JSON-RPC 1.0 client over node:http (keep-alive). */
export class BitcoindRpc {
  private readonly url: URL;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly timeoutMs: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: RpcOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new RangeError(`bitcoind RPC url is not a URL: ${JSON.stringify(options.url)}`);
    }
    if (url.protocol !== "http:") throw new RangeError(`bitcoind RPC url must be http:// (bitcoind serves plain HTTP), got ${url.protocol}`);
    this.url = url;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** host:port for logs (never the credentials). */
  get endpoint(): string {
    return `${this.url.hostname}:${this.url.port || 80}${this.url.pathname === "/" ? "" : this.url.pathname}`;
  }

  private async authorization(): Promise<string | undefined> {
    let credentials: string | undefined;
    if (this.options.cookieFile) {
      try {
        credentials = (await fsp.readFile(this.options.cookieFile, "utf8")).trim();
      } catch (err) {
        throw new RpcAuthError(`cannot read bitcoind cookie file ${this.options.cookieFile}: ${(err as Error).message}`);
      }
    } else if (this.options.user !== undefined) {
      credentials = `${this.options.user}:${this.options.password ?? ""}`;
    } else if (this.url.username) {
      credentials = `${decodeURIComponent(this.url.username)}:${decodeURIComponent(this.url.password)}`;
    }
    return credentials === undefined ? undefined : "Basic " + Buffer.from(credentials).toString("base64");
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const body = JSON.stringify({ jsonrpc: "1.0", id: this.nextId++, method, params });
    const auth = await this.authorization();
    if (this.closed) throw new RpcTransportError(`${method}: the RPC client to ${this.endpoint} is closed`);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          protocol: "http:",
          hostname: this.url.hostname,
          port: this.url.port || 80,
          path: this.url.pathname + this.url.search,
          method: "POST",
          agent: this.agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...(auth ? { authorization: auth } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (err) => reject(new RpcTransportError(`${method}: response error from ${this.endpoint}: ${err.message}`)));
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on("error", (err) => reject(new RpcTransportError(`${method}: cannot reach bitcoind at ${this.endpoint}: ${err.message}`)));
      req.end(body);
    });
    if (status === 401) {
      throw new RpcAuthError(`bitcoind at ${this.endpoint} rejected the RPC credentials (HTTP 401): check rpcuser/rpcpassword or the cookie file`);
    }
    if (status === 403) {
      throw new RpcAuthError(`bitcoind at ${this.endpoint} refused this client (HTTP 403): check rpcallowip`);
    }
    let reply: { result?: unknown; error?: { code?: number; message?: string } | null };
    try {
      reply = JSON.parse(text);
    } catch {
      throw new RpcTransportError(`${method}: HTTP ${status} from ${this.endpoint} with a non-JSON body: ${text.slice(0, 120)}`);
    }
    if (reply && reply.error) {
      throw new RpcError(Number(reply.error.code ?? 0), String(reply.error.message ?? "unknown error"), method);
    }
    if (!reply || typeof reply !== "object" || !("result" in reply)) {
      throw new RpcTransportError(`${method}: HTTP ${status} from ${this.endpoint}: not a JSON-RPC reply`);
    }
    return reply.result as T;
  }

  /** Ends every request in flight (they reject with RpcTransportError) and refuses new ones. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}
