/**
 * Ordered schema migrations, one list per dialect (same tables, dialect types). A store applies,
 * in one transaction each, every migration above the version recorded in `schema_migrations`,
 * and refuses to open a database whose version is newer than it knows.
 *
 * Layout notes:
 * - Difficulty is two integers (whole, fraction × 10^12): see shares/difficulty.ts.
 * - A job's coinbase parts and merkle branch (~0.3-1 KB with a real template) are stored once per
 *   job in `jobs` and referenced by its shares, which keeps a share row ~150 bytes without losing
 *   anything needed to re-verify it. Deduplication is by an in-memory cache only: after a restart
 *   a job seen again is simply stored again (harmless, and no unique index to maintain).
 * - Payout addresses are interned in `accounts` so the PPLNS walk reads small integer keys.
 * - Amounts (rewards, cumulative totals) are decimal TEXT: exact, any size, same on both dialects.
 */

export interface Migration {
  version: number;
  name: string;
  sqlite: string[];
  postgres: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "shares, jobs, accounts, blocks, epochs, ledger",
    sqlite: [
      `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
      `CREATE TABLE accounts (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE)`,
      `CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        job_id TEXT NOT NULL,
        height INTEGER NOT NULL,
        prevhash TEXT NOT NULL,
        nbits TEXT NOT NULL,
        coinb1 TEXT NOT NULL,
        coinb2 TEXT NOT NULL,
        merkle_branch TEXT NOT NULL
      )`,
      `CREATE TABLE shares (
        id INTEGER PRIMARY KEY,
        account INTEGER NOT NULL,
        diff_whole INTEGER NOT NULL,
        diff_frac INTEGER NOT NULL,
        job INTEGER NOT NULL,
        worker TEXT NOT NULL,
        extranonce1 TEXT NOT NULL,
        extranonce2 TEXT NOT NULL,
        version TEXT NOT NULL,
        ntime TEXT NOT NULL,
        nonce TEXT NOT NULL,
        hash TEXT NOT NULL,
        is_block INTEGER NOT NULL,
        time INTEGER NOT NULL
      )`,
      `CREATE INDEX shares_block_hash ON shares (hash) WHERE is_block = 1`,
      `CREATE TABLE blocks (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        height INTEGER NOT NULL,
        reward TEXT NOT NULL,
        finder TEXT NOT NULL,
        worker TEXT NOT NULL,
        share_id INTEGER NOT NULL,
        nbits TEXT NOT NULL,
        submitted INTEGER NOT NULL,
        submit_error TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        confirmations INTEGER NOT NULL DEFAULT 0,
        epoch INTEGER,
        time INTEGER NOT NULL
      )`,
      `CREATE TABLE epochs (
        number INTEGER PRIMARY KEY,
        blocks TEXT NOT NULL,
        root TEXT NOT NULL,
        total_cumulative TEXT NOT NULL,
        reward TEXT NOT NULL,
        accounts INTEGER NOT NULL,
        file_path TEXT NOT NULL,
        data_hash TEXT NOT NULL,
        share_log_path TEXT NOT NULL,
        share_log_digest TEXT NOT NULL,
        state TEXT NOT NULL,
        propose_tx TEXT,
        accept_tx TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE TABLE epoch_revocations (
        number INTEGER NOT NULL,
        root TEXT NOT NULL,
        data_hash TEXT NOT NULL,
        file_path TEXT NOT NULL,
        revoked_at INTEGER NOT NULL
      )`,
      `CREATE TABLE ledger (address TEXT PRIMARY KEY, cumulative TEXT NOT NULL, epoch INTEGER NOT NULL)`,
      `CREATE TABLE ledger_deltas (
        epoch INTEGER NOT NULL,
        address TEXT NOT NULL,
        delta TEXT NOT NULL,
        cumulative TEXT NOT NULL,
        PRIMARY KEY (epoch, address)
      )`,
      `CREATE INDEX ledger_deltas_address ON ledger_deltas (address, epoch)`,
    ],
    postgres: [
      `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
      `CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, address TEXT NOT NULL UNIQUE)`,
      `CREATE TABLE jobs (
        id BIGSERIAL PRIMARY KEY,
        job_id TEXT NOT NULL,
        height BIGINT NOT NULL,
        prevhash TEXT NOT NULL,
        nbits TEXT NOT NULL,
        coinb1 TEXT NOT NULL,
        coinb2 TEXT NOT NULL,
        merkle_branch TEXT NOT NULL
      )`,
      `CREATE TABLE shares (
        id BIGSERIAL PRIMARY KEY,
        account BIGINT NOT NULL,
        diff_whole BIGINT NOT NULL,
        diff_frac BIGINT NOT NULL,
        job BIGINT NOT NULL,
        worker TEXT NOT NULL,
        extranonce1 TEXT NOT NULL,
        extranonce2 TEXT NOT NULL,
        version TEXT NOT NULL,
        ntime TEXT NOT NULL,
        nonce TEXT NOT NULL,
        hash TEXT NOT NULL,
        is_block BOOLEAN NOT NULL,
        time BIGINT NOT NULL
      )`,
      `CREATE INDEX shares_block_hash ON shares (hash) WHERE is_block`,
      `CREATE TABLE blocks (
        id BIGSERIAL PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        height BIGINT NOT NULL,
        reward TEXT NOT NULL,
        finder TEXT NOT NULL,
        worker TEXT NOT NULL,
        share_id BIGINT NOT NULL,
        nbits TEXT NOT NULL,
        submitted BOOLEAN NOT NULL,
        submit_error TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        confirmations INTEGER NOT NULL DEFAULT 0,
        epoch INTEGER,
        time BIGINT NOT NULL
      )`,
      `CREATE TABLE epochs (
        number INTEGER PRIMARY KEY,
        blocks TEXT NOT NULL,
        root TEXT NOT NULL,
        total_cumulative TEXT NOT NULL,
        reward TEXT NOT NULL,
        accounts INTEGER NOT NULL,
        file_path TEXT NOT NULL,
        data_hash TEXT NOT NULL,
        share_log_path TEXT NOT NULL,
        share_log_digest TEXT NOT NULL,
        state TEXT NOT NULL,
        propose_tx TEXT,
        accept_tx TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE TABLE epoch_revocations (
        number INTEGER NOT NULL,
        root TEXT NOT NULL,
        data_hash TEXT NOT NULL,
        file_path TEXT NOT NULL,
        revoked_at BIGINT NOT NULL
      )`,
      `CREATE TABLE ledger (address TEXT PRIMARY KEY, cumulative TEXT NOT NULL, epoch INTEGER NOT NULL)`,
      `CREATE TABLE ledger_deltas (
        epoch INTEGER NOT NULL,
        address TEXT NOT NULL,
        delta TEXT NOT NULL,
        cumulative TEXT NOT NULL,
        PRIMARY KEY (epoch, address)
      )`,
      `CREATE INDEX ledger_deltas_address ON ledger_deltas (address, epoch)`,
    ],
  },
  {
    version: 2,
    name: "published epoch files kept in the store (several processes of one pool: issue 15)",
    sqlite: [
      `CREATE TABLE published_files (name TEXT PRIMARY KEY, size INTEGER NOT NULL, chunks INTEGER NOT NULL, sha256 TEXT NOT NULL, stored_at INTEGER NOT NULL)`,
      `CREATE TABLE published_file_chunks (name TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (name, seq))`,
    ],
    postgres: [
      `CREATE TABLE published_files (name TEXT PRIMARY KEY, size BIGINT NOT NULL, chunks INTEGER NOT NULL, sha256 TEXT NOT NULL, stored_at BIGINT NOT NULL)`,
      `CREATE TABLE published_file_chunks (name TEXT NOT NULL, seq INTEGER NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (name, seq))`,
    ],
  },
  {
    // SQLite records an epoch's ledger in short transactions (the event loop and share commits run
    // between them) and makes it count in one small one: meanwhile each row keeps the value it had
    // at the latest recorded epoch (sqlite.ts, recordEpoch). PostgreSQL records in one transaction
    // without stopping anyone and leaves these columns empty.
    version: 3,
    name: "ledger rows keep their previous value while an epoch is being recorded",
    sqlite: [
      `ALTER TABLE ledger ADD COLUMN prev_cumulative TEXT`,
      `ALTER TABLE ledger ADD COLUMN prev_epoch INTEGER`,
      // Rows written before: their previous value from the history (a revoke must find it there).
      `UPDATE ledger SET
         prev_cumulative = (SELECT d.cumulative FROM ledger_deltas d WHERE d.address = ledger.address AND d.epoch < ledger.epoch ORDER BY d.epoch DESC LIMIT 1),
         prev_epoch = (SELECT d.epoch FROM ledger_deltas d WHERE d.address = ledger.address AND d.epoch < ledger.epoch ORDER BY d.epoch DESC LIMIT 1)`,
    ],
    postgres: [`ALTER TABLE ledger ADD COLUMN prev_cumulative TEXT`, `ALTER TABLE ledger ADD COLUMN prev_epoch INTEGER`],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Checks that migrations are numbered 1, 2, 3, … (a guard against editing mistakes). */
export function checkMigrationOrder(migrations: readonly Migration[] = MIGRATIONS): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}
