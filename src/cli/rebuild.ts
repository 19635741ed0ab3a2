import fs from "node:fs";
import path from "node:path";
import { rebuildMarker } from "../committer";
import { ConfigError, loadConfig } from "../config";
import { openShareStore } from "../shares";
import { REBUILD_HELP } from "./help";
import { parseFlags, UsageError } from "./args";

/**
 * `pool rebuild-epoch`: lets the pool rebuild a revoked epoch. It names the store it opened (the
 * one of --config, or of POOL_* / the defaults without it) and never creates one: run in the wrong
 * folder, it says so instead of opening an empty store and reporting "nothing to rebuild".
 */
export async function rebuildEpochCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, { config: { type: "string" } });
  if (flags.help) {
    out(REBUILD_HELP);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file: flags.config });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const from = flags.config ? `from ${flags.config}` : "from POOL_* variables and the defaults (no --config)";
  let where: string;
  if (config.store.postgresUrl) {
    const u = new URL(config.store.postgresUrl);
    if (u.password) u.password = "***";
    where = `PostgreSQL ${u.toString()}`;
  } else {
    const file = path.join(config.dataDir, "shares.sqlite");
    if (!fs.existsSync(file)) {
      throw new UsageError(`no share store at ${file} (${from}): give --config with the pool's configuration, or run where its dataDir is`);
    }
    where = file;
  }
  out(`store: ${where} (${from})`);
  const store = await openShareStore(config.store.postgresUrl ? { kind: "postgres", connectionString: config.store.postgresUrl } : { kind: "sqlite", dataDir: config.dataDir });
  try {
    const latest = await store.latestEpoch();
    if (!latest || latest.state !== "revoked") {
      out(`nothing to rebuild: the latest epoch is ${latest ? `${latest.number} (${latest.state})` : "none"}`);
      return 1;
    }
    fs.writeFileSync(rebuildMarker(config.dataDir, latest.number), `${new Date().toISOString()}\n`);
    out(`epoch ${latest.number} will be rebuilt and proposed again by the pool`);
    return 0;
  } finally {
    await store.close();
  }
}
