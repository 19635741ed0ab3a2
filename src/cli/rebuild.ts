import fs from "node:fs";
import path from "node:path";
import { rebuildMarker } from "../committer";
import { loadConfig } from "../config";
import { openShareStore } from "../shares";
import { REBUILD_HELP } from "./help";
import { parseFlags } from "./args";

export async function rebuildEpochCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, { config: { type: "string" } });
  if (flags.help) {
    out(REBUILD_HELP);
    return 0;
  }
  const config = loadConfig({ file: flags.config });
  const store = await openShareStore(config.store.postgresUrl ? { kind: "postgres", connectionString: config.store.postgresUrl } : { kind: "sqlite", dataDir: path.resolve(config.dataDir) });
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
