/** JSON-RPC 1.0 framing as Stratum V1 uses it: one object per line. */

export type RpcId = number | string | null;

export interface RpcRequest {
  id: RpcId;
  method: string;
  params: unknown[];
}

/** A parsed line that is not a usable request; `id` is kept when it could be read. */
export interface RpcParseError {
  error: string;
  id: RpcId;
  /** True when the line was not JSON at all (counts as a strike). */
  malformed: boolean;
}

function asId(value: unknown): RpcId {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.length <= 64) return value;
  return null;
}

export function parseRequest(line: string): RpcRequest | RpcParseError {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { error: "malformed JSON", id: null, malformed: true };
  }
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
    return { error: "request must be a JSON object", id: null, malformed: true };
  }
  const obj = msg as Record<string, unknown>;
  const id = asId(obj.id);
  if (typeof obj.method !== "string") {
    // A reply from the miner (e.g. to client.get_version) has no method: not a request.
    return { error: "missing method", id, malformed: !("result" in obj || "error" in obj) };
  }
  let params: unknown[];
  if (obj.params === undefined || obj.params === null) params = [];
  else if (Array.isArray(obj.params)) params = obj.params;
  else return { error: "params must be an array", id, malformed: false };
  return { id, method: obj.method, params };
}

export function isParseError(r: RpcRequest | RpcParseError): r is RpcParseError {
  return (r as RpcParseError).error !== undefined;
}

function idJson(id: RpcId): string {
  return typeof id === "number" ? String(id) : JSON.stringify(id);
}

export function resultLine(id: RpcId, result: unknown): string {
  return `{"id":${idJson(id)},"result":${JSON.stringify(result)},"error":null}\n`;
}

export function trueLine(id: RpcId): string {
  return `{"id":${idJson(id)},"result":true,"error":null}\n`;
}

export function errorLine(id: RpcId, code: number, message: string, result: null | false = null): string {
  return `{"id":${idJson(id)},"result":${result},"error":[${code},${JSON.stringify(message)},null]}\n`;
}

export function notificationLine(method: string, params: unknown[]): string {
  return `{"id":null,"method":"${method}","params":${JSON.stringify(params)}}\n`;
}

/** set_difficulty carries the exact decimal string as a JSON number (no float round trip). */
export function setDifficultyLine(difficulty: string): string {
  return `{"id":null,"method":"mining.set_difficulty","params":[${difficulty}]}\n`;
}
