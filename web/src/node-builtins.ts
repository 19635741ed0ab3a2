// src/epochs (shared with the Node aggregator) imports node:fs and node:path for its file readers
// and writers. The page only uses its parser and verifiers on downloaded bytes, so those imports
// resolve here: any use of them in the browser fails loudly instead of silently.
const nodeOnly = new Proxy(
  {},
  {
    get: (_target, key) =>
      typeof key === "symbol" || key === "__esModule" || key === "default"
        ? undefined
        : () => {
            throw new Error(`${String(key)}() needs Node.js: it is not available in the browser`);
          },
  },
);
export default nodeOnly;
