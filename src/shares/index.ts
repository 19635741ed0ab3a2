/**
 * The share store: accepted shares (group-committed, durable before the miner hears "accepted"),
 * found blocks, epochs and the cumulative ledger. SQLite by default, PostgreSQL for several
 * Stratum front ends; both behind ShareStore.
 */
import { SqliteShareStore, type SqliteStoreOptions } from "./sqlite";
import type { PostgresStoreOptions } from "./postgres";
import type { ShareStore } from "./types";

export * from "./types";
export * from "./difficulty";
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from "./migrations";
export { ShareValidationError } from "./validate";
export { SqliteShareStore, type SqliteStoreOptions } from "./sqlite";
export type { PostgresStoreOptions } from "./postgres";

export type ShareStoreConfig = ({ kind: "sqlite" } & SqliteStoreOptions) | ({ kind: "postgres" } & PostgresStoreOptions);

/** Opens (and migrates) the configured store. `pg` is loaded only for PostgreSQL. */
export async function openShareStore(config: ShareStoreConfig): Promise<ShareStore> {
  if (config.kind === "sqlite") return SqliteShareStore.open(config);
  if (config.kind === "postgres") {
    const { PostgresShareStore } = await import("./postgres");
    return PostgresShareStore.open(config);
  }
  throw new Error(`unknown share store kind ${String((config as { kind: unknown }).kind)} (sqlite or postgres)`);
}
