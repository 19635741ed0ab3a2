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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * A request line in the shape miners send (`{"id":4,"method":"mining.submit","params":["w","j",…]}`,
 * keys in any order, JSON whitespace allowed, an integer, plain-string or null id, params plain
 * strings) read without JSON.parse; anything else (escapes, nested values, other keys, a repeated
 * key, numbers in params) gives undefined and the caller uses `parseRequest`. Where it answers, the
 * answer is `parseRequest`'s (test/stratum.rpc.fast.test.ts compares them on random and hostile lines).
 */
export function parseRequestFast(line: string): RpcRequest | undefined {
  const n = line.length;
  let i = skipWs(line, 0);
  if (line.charCodeAt(i) !== 0x7b) return undefined; // {
  let id: RpcId | undefined;
  let method: string | undefined;
  let params: string[] | undefined;
  i = skipWs(line, i + 1);
  for (;;) {
    const key = readPlainString(line, i);
    if (key === undefined) return undefined;
    i = skipWs(line, key.end);
    if (line.charCodeAt(i) !== 0x3a) return undefined; // :
    i = skipWs(line, i + 1);
    if (key.value === "id") {
      if (id !== undefined) return undefined;
      const c = line.charCodeAt(i);
      if (c === QUOTE) {
        const s = readPlainString(line, i);
        if (s === undefined) return undefined;
        id = s.value.length <= 64 ? s.value : null;
        i = s.end;
      } else if (line.startsWith("null", i)) {
        id = null;
        i += 4;
      } else {
        const start = i;
        if (c === 0x2d) i++; // -
        const digits = i;
        while (i < n && line.charCodeAt(i) >= 0x30 && line.charCodeAt(i) <= 0x39) i++;
        // 1-15 digits, no leading zero: exactly the number JSON.parse gives; floats and others fall back.
        const len = i - digits;
        if (len === 0 || len > 15 || (len > 1 && line.charCodeAt(digits) === 0x30)) return undefined;
        id = Number(line.slice(start, i));
      }
    } else if (key.value === "method") {
      if (method !== undefined) return undefined;
      const s = readPlainString(line, i);
      if (s === undefined) return undefined;
      method = s.value;
      i = s.end;
    } else if (key.value === "params") {
      if (params !== undefined) return undefined;
      if (line.charCodeAt(i) !== 0x5b) return undefined; // [
      params = [];
      i = skipWs(line, i + 1);
      if (line.charCodeAt(i) === 0x5d) i++;
      else {
        for (;;) {
          const s = readPlainString(line, i);
          if (s === undefined) return undefined;
          params.push(s.value);
          i = skipWs(line, s.end);
          const c = line.charCodeAt(i);
          if (c === 0x5d) {
            i++;
            break;
          }
          if (c !== 0x2c) return undefined;
          i = skipWs(line, i + 1);
        }
      }
    } else {
      return undefined;
    }
    i = skipWs(line, i);
    const c = line.charCodeAt(i);
    if (c === 0x7d) {
      i++;
      break;
    }
    if (c !== 0x2c) return undefined;
    i = skipWs(line, i + 1);
  }
  if (skipWs(line, i) !== n || method === undefined) return undefined;
  return { id: id ?? null, method, params: params ?? [] };
}

function skipWs(line: string, i: number): number {
  for (;;) {
    const c = line.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else return i;
  }
}

/** A string without escapes or control characters starting at `i` (the opening quote). */
function readPlainString(line: string, i: number): { value: string; end: number } | undefined {
  if (line.charCodeAt(i) !== QUOTE) return undefined;
  const start = i + 1;
  for (let k = start; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (c === QUOTE) return { value: line.slice(start, k), end: k + 1 };
    if (c === BACKSLASH || c < 0x20) return undefined;
  }
  return undefined;
}
