import { EventEmitter } from "node:events";
import net from "node:net";
import { LineFramer, type LineHandler } from "../stratum/framing";

export interface RpcReply {
  id: number;
  result: unknown;
  /** [code, message, data] or null. */
  error: [number, string, unknown] | null;
}

export interface StratumEndpoint {
  host: string;
  port: number;
}

/** Parses stratum+tcp://host:port (also tcp://host:port or host:port). */
export function parseStratumUrl(url: string): StratumEndpoint {
  const m = /^(?:stratum\+tcp:\/\/|tcp:\/\/)?(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(url.trim());
  if (!m) throw new Error(`bad stratum url ${JSON.stringify(url)}: expected stratum+tcp://host:port`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`bad stratum url ${JSON.stringify(url)}: port out of range`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

interface Pending {
  resolve(reply: RpcReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A Stratum V1 client connection: numbered requests answered by promises, and the server's
 * notifications as "notification" (method, params) events. Emits "close" once.
 */
export class StratumClient extends EventEmitter implements LineHandler {
  private socket: net.Socket | null = null;
  private readonly framer = new LineFramer(1024 * 1024);
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  closed = false;

  constructor(
    readonly endpoint: StratumEndpoint,
    private readonly requestTimeoutMs = 30_000,
  ) {
    super();
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.endpoint.host, port: this.endpoint.port, noDelay: true });
      this.socket = socket;
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.on("error", (err) => this.emit("socketError", err));
        resolve();
      });
      socket.once("error", reject);
      socket.on("data", (chunk: Buffer) => {
        if (!this.framer.push(chunk, this)) this.destroy(new Error("server sent an over-long line"));
      });
      socket.on("close", () => this.onClose());
    });
  }

  onLine(line: string): void {
    this.emit("line", line);
    let msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      this.emit("protocolError", new Error(`unparseable line from server: ${line.slice(0, 200)}`));
      return;
    }
    if (typeof msg.method === "string") {
      this.emit("notification", msg.method, Array.isArray(msg.params) ? msg.params : [], msg.id ?? null);
      return;
    }
    if (typeof msg.id === "number") {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      p.resolve({ id: msg.id, result: msg.result, error: (msg.error as RpcReply["error"]) ?? null });
      return;
    }
    this.emit("protocolError", new Error(`unexpected message from server: ${line.slice(0, 200)}`));
  }

  /** Sends a request; resolves with the reply (errors included), rejects on timeout or close. */
  request(method: string, params: unknown[]): Promise<RpcReply> {
    if (this.closed || this.socket === null) return Promise.reject(new Error("not connected"));
    const id = this.nextId++;
    return new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no reply within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.socket!.write(JSON.stringify({ id, method, params }) + "\n");
    });
  }

  /** Writes a raw line (tests use it to send malformed input). */
  writeRaw(data: string | Buffer): void {
    this.socket?.write(data);
  }

  close(): void {
    this.socket?.end();
  }

  destroy(err?: Error): void {
    if (err) this.emit("protocolError", err);
    this.socket?.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error("connection closed"));
    }
    this.pending.clear();
    this.emit("close");
  }
}
