import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const webRoot = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(webRoot, "..");
// `vite` / `vite preview` on web/ forward the API to a running pool (POOL_API, default the embedded one's).
const poolApi = process.env.POOL_API ?? "http://127.0.0.1:8080";
const proxy = { "/api": { target: poolApi, changeOrigin: false } };

export default defineConfig({
  root: webRoot,
  // Relative asset URLs: the page works wherever the pool's HTTP server mounts it.
  base: "./",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  resolve: {
    // src/merkle and merkletreejs use Node's Buffer, keccak's stream wrapper Node's events:
    // bundle the browser packages rather than Vite's empty stubs for Node built-ins. node:fs and
    // node:path (imported, not used, by the epoch-file parser) get a stub that fails loudly.
    alias: {
      buffer: "buffer/",
      events: "events/",
      "node:fs": path.join(webRoot, "src", "node-builtins.ts"),
      "node:path": path.join(webRoot, "src", "node-builtins.ts"),
      "node:readline": path.join(webRoot, "src", "node-builtins.ts"),
      // src/pow's SHA-256 of long inputs (the browser audit): the same JavaScript SHA-256.
      "node:crypto": path.join(webRoot, "src", "audit", "node-crypto.ts"),
    },
  },
  build: {
    outDir: path.join(repoRoot, "dist", "web"),
    emptyOutDir: true,
    target: "es2022",
    // The audit chunk (Merkle module, merkletreejs, crypto-js) is loaded only by the audit page.
    chunkSizeWarningLimit: 400,
  },
  server: { proxy },
  preview: { proxy },
});
