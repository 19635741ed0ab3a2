#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): `npx pool <command> --help`.
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
require("../src/cli/index.ts").main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`error: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
