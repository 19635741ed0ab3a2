// src/pow/hash.ts (shared with the Node aggregator) imports node:crypto for SHA-256 of inputs longer
// than 256 bytes (shorter ones, headers and most coinbases, use its own JavaScript SHA-256). In the
// browser that import resolves here: createHash("sha256") over the same JavaScript compression, so
// the browser audit hashes a long coinbase exactly as `pool audit` does. Anything else fails loudly.
import { sha256Js } from "../../../src/pow/sha256js";

interface Sha256 {
  update(data: Uint8Array): Sha256;
  digest(): Uint8Array;
}

export function createHash(algorithm: string): Sha256 {
  if (algorithm !== "sha256") throw new Error(`createHash("${algorithm}") is not available in the browser`);
  const parts: Uint8Array[] = [];
  const hash: Sha256 = {
    update(data) {
      parts.push(data);
      return hash;
    },
    digest() {
      let length = 0;
      for (const p of parts) length += p.length;
      const all = new Uint8Array(length);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return sha256Js(all);
    },
  };
  return hash;
}

export default { createHash };

/** Node's one-shot crypto.hash does not exist here: src/pow/hash.ts then uses createHash. */
export const hash = undefined;
