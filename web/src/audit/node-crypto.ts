// src/pow/hash.ts (shared with the Node aggregator) imports node:crypto for SHA-256 of inputs longer
// than 256 bytes (shorter ones, headers and most coinbases, use its own JavaScript SHA-256), and
// src/epochs/digest.ts for the share log's streamed SHA-256 digest. In the browser that import
// resolves here: createHash("sha256") over the same JavaScript compression, incremental, so the
// browser audit hashes exactly as `pool audit` does. Anything else fails loudly.
import { Sha256Js } from "../../../src/pow/sha256js";

interface Sha256 {
  update(data: Uint8Array): Sha256;
  digest(): Uint8Array;
}

export function createHash(algorithm: string): Sha256 {
  if (algorithm !== "sha256") throw new Error(`createHash("${algorithm}") is not available in the browser`);
  const js = new Sha256Js();
  const hash: Sha256 = {
    update(data) {
      js.update(data);
      return hash;
    },
    digest: () => js.digest(),
  };
  return hash;
}

export default { createHash };

/** Node's one-shot crypto.hash does not exist here: src/pow/hash.ts then uses createHash. */
export const hash = undefined;
