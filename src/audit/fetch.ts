/**
 * Fetching what the pool published, by the `uri` it put on chain (http(s):// or file://), and the
 * files next to it (the share log, the previous epoch's, the header chain): the auditor and the
 * watchtower need nothing else from the operator.
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";

export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FetchError";
  }
}

/** The bytes at `uri`: http(s):// with fetch, file:// (or a plain path) from disk. */
export async function fetchPublished(uri: string, timeoutMs = 60_000): Promise<Buffer> {
  if (/^https?:\/\//i.test(uri)) {
    let res: Response;
    try {
      res = await fetch(uri, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new FetchError(`cannot fetch ${uri}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    if (!res.ok) throw new FetchError(`${uri} answered ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }
  const file = uri.startsWith("file://") ? fileURLToPath(uri) : uri;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new FetchError(`cannot read ${uri}: ${(err as Error).message}`);
  }
}

/** The uri of `name` in the same folder as `uri` (a URL or a path). */
export function siblingUri(uri: string, name: string): string {
  if (/^(https?|file):\/\//i.test(uri)) return new URL(name, uri).toString();
  const at = uri.lastIndexOf("/");
  return at < 0 ? name : uri.slice(0, at + 1) + name;
}
