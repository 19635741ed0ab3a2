import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { AcceptedShare, FoundBlock } from "../stratum/events";
import { DIFFICULTY_DECIMALS, formatDifficultyParts } from "./difficulty";
import { GroupCommit } from "./group-commit";
import { applyWriterPragmas, committedBatch, ShareWriter, ShareWriterThread, type WriteItem } from "./sqlite-writer";
import { MIGRATIONS, checkMigrationOrder, type Migration } from "./migrations";
import {
  ShareStoreError,
  type BlockRecord,
  type BlockStatus,
  type EpochRecord,
  type EpochState,
  type LedgerDelta,
  type LedgerDeltaList,
  type ShareStore,
  type ShareWeightRow,
  type StoredShare,
} from "./types";
import { checkBlockUpdate, checkDelta, checkEpochFields, toBlock, toEpoch } from "./rows";
import { JobCache, validateBlock, validateShare, type JobRow, type ShareRow } from "./validate";

export interface SqliteStoreOptions {
  /** Data directory (created if missing); the database is `<dir>/shares.sqlite`. */
  dataDir: string;
  /**
   * "full" (default): every group commit is fsynced, so an acknowledged share survives a power
   * loss or OS crash too. "normal": in WAL mode, commits survive a killed process but the last
   * ones may be lost if the OS crashes; roughly one fsync per checkpoint instead of per commit.
   */
  synchronous?: "full" | "normal";
  maxBatch?: number;
  delayMs?: number;
  /**
   * Write shares on a worker thread with its own connection (ShareWriterThread): the inserts,
   * commits and fsyncs off the event loop. The pool turns it on with store.writerThread; default off (no thread).
   */
  writerThread?: boolean;
  /** For tests of the migration runner. */
  migrations?: readonly Migration[];
}

/** Ledger rows per transaction when an epoch is recorded (~2.5 ms each here; the event loop runs between). */
const RECORD_CHUNK = 250;
/** WAL pages (4 KiB) between checkpoints while an epoch is recorded. */
const RECORD_CHECKPOINT_PAGES = 512;

export class SqliteShareStore implements ShareStore {
  readonly kind = "sqlite" as const;
  readonly file: string;
  private readonly db: Database.Database;
  private readonly writer: GroupCommit<WriteItem, number>;
  private readonly jobCache = new JobCache();
  private readonly writerThread: ShareWriterThread | null;
  private readonly stmt: Statements;
  private closed = false;

  static async open(options: SqliteStoreOptions): Promise<SqliteShareStore> {
    return new SqliteShareStore(options);
  }

  private constructor(options: SqliteStoreOptions) {
    if (typeof options.dataDir !== "string" || options.dataDir === "") throw new ShareStoreError("sqlite store: dataDir is required");
    fs.mkdirSync(options.dataDir, { recursive: true });
    this.file = path.join(options.dataDir, "shares.sqlite");
    this.db = new Database(this.file);
    try {
      this.db.pragma("journal_mode = WAL");
      applyWriterPragmas(this.db, options.synchronous ?? "full");
      migrate(this.db, options.migrations ?? MIGRATIONS);
      this.stmt = prepareStatements(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    const sync = options.synchronous ?? "full";
    this.writerThread = options.writerThread ? new ShareWriterThread(this.file, sync, (seq) => committedBatch(this.db, seq)) : null;
    const inProcess = this.writerThread ? null : new ShareWriter(this.db);
    this.writer = new GroupCommit<WriteItem, number>((items) => (this.writerThread ? this.writerThread.write(items) : inProcess!.write(items)), {
      maxBatch: options.maxBatch ?? 10_000,
      delayMs: options.delayMs ?? 0,
    });
  }

  /**
   * Waits for the share transaction in flight (writer thread): the next ledger chunk then runs
   * while the thread is idle (no new share batch is sent before the loop turns), so neither
   * connection waits on the other's lock. A share's wait is then one chunk, not SQLite's
   * busy-retry sleeps, which let a stream of chunks starve the thread (p50 ~30 ms while recording).
   */
  private shareWriterIdle(): Promise<void> {
    return this.writerThread ? this.writer.whenIdle() : Promise.resolve();
  }

  /** With `writerThread`, resolves once the thread is up (the first write also waits for it). */
  async startWriter(): Promise<void> {
    await this.writerThread?.start();
  }

  // ---- writes -----------------------------------------------------------------------------------

  recordShare(share: AcceptedShare): Promise<number> {
    let row: ShareRow;
    try {
      row = validateShare(share, this.jobCache);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.push({ kind: "share", row });
  }

  async record(share: AcceptedShare): Promise<void> {
    await this.recordShare(share);
  }

  async recordBlock(block: FoundBlock, share: AcceptedShare): Promise<void> {
    const row = validateShare(share, this.jobCache);
    await this.writer.push({ kind: "block", block: validateBlock(block, row), row });
  }

  // ---- shares -----------------------------------------------------------------------------------

  async lastShareId(): Promise<number> {
    return this.stmt.lastId.get() as number;
  }

  async shareCount(): Promise<number> {
    return this.stmt.count.get() as number;
  }

  async *sharesInRange(fromId: number, toId: number, batch = 5000): AsyncIterable<StoredShare> {
    const jobs = new Map<number, JobRow>();
    const accounts = new Map<number, string>();
    let next = fromId;
    for (;;) {
      const rows = this.stmt.range.all(next, toId, batch) as ShareTuple[];
      this.loadMissing(rows, jobs, accounts);
      for (const r of rows) yield tupleToShare(r, jobs, accounts);
      if (rows.length < batch) return;
      next = rows[rows.length - 1][0] + 1;
      if (jobs.size > 50_000) jobs.clear();
      await yieldToEventLoop();
    }
  }

  /** Fetches the jobs and addresses a batch of share rows refers to and the caches lack. */
  private loadMissing(rows: ShareTuple[], jobs: Map<number, JobRow>, accounts: Map<number, string>): void {
    const jobIds = new Set<number>();
    const accountIds = new Set<number>();
    for (const r of rows) {
      if (!jobs.has(r[4])) jobIds.add(r[4]);
      if (!accounts.has(r[1])) accountIds.add(r[1]);
    }
    if (jobIds.size > 0) {
      for (const [id, jobId, height, prevhash, nbits, coinb1, coinb2, branch] of this.stmt.jobsById.all(JSON.stringify([...jobIds])) as JobTuple[]) {
        jobs.set(id, { jobId, height, prevhash, nbits, coinb1, coinb2, merkleBranch: branch === "" ? [] : branch.split(",") });
      }
    }
    if (accountIds.size > 0) {
      for (const [id, address] of this.stmt.accountsById.all(JSON.stringify([...accountIds])) as Array<[number, string]>) accounts.set(id, address);
    }
  }

  async *weightsNewestFirst(fromId: number, batch = 20_000): AsyncIterable<ShareWeightRow[]> {
    let next = fromId;
    for (;;) {
      const raw = this.stmt.weights.all(next, batch) as Array<[number, number, number, number]>;
      if (raw.length === 0) return;
      yield raw.map(([id, account, whole, frac]) => ({ id, account, whole, frac }));
      if (raw.length < batch) return;
      next = raw[raw.length - 1][0] - 1;
      await yieldToEventLoop();
    }
  }

  async accountAddresses(ids: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (let i = 0; i < ids.length; i += 50_000) {
      for (const [id, address] of this.stmt.accountsById.all(JSON.stringify(ids.slice(i, i + 50_000))) as Array<[number, string]>) out.set(id, address);
    }
    return out;
  }

  // ---- blocks -----------------------------------------------------------------------------------

  async blocks(filter: { status?: BlockStatus; unpaid?: boolean } = {}): Promise<BlockRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) {
      where.push("status = ?");
      args.push(filter.status);
    }
    if (filter.unpaid) where.push("epoch IS NULL");
    const sql = `SELECT * FROM blocks ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY height, id`;
    return (this.db.prepare(sql).all(...args) as Array<Record<string, unknown>>).map(toBlock);
  }

  async block(hash: string): Promise<BlockRecord | undefined> {
    const r = this.db.prepare(`SELECT * FROM blocks WHERE hash = ?`).get(String(hash).toLowerCase()) as Record<string, unknown> | undefined;
    return r ? toBlock(r) : undefined;
  }

  async updateBlock(hash: string, update: { status?: BlockStatus; confirmations?: number }): Promise<void> {
    checkBlockUpdate(update);
    const b = await this.block(hash);
    if (!b) throw new ShareStoreError(`unknown block ${hash}`);
    this.db
      .prepare(`UPDATE blocks SET status = COALESCE(?, status), confirmations = COALESCE(?, confirmations) WHERE hash = ?`)
      .run(update.status ?? null, update.confirmations ?? null, b.hash);
  }

  // ---- epochs and ledger ------------------------------------------------------------------------

  async epochs(): Promise<EpochRecord[]> {
    return (this.db.prepare(`SELECT * FROM epochs ORDER BY number`).all() as Array<Record<string, unknown>>).map(toEpoch);
  }

  async epoch(number: number): Promise<EpochRecord | undefined> {
    const r = this.db.prepare(`SELECT * FROM epochs WHERE number = ?`).get(number) as Record<string, unknown> | undefined;
    return r ? toEpoch(r) : undefined;
  }

  async latestEpoch(): Promise<EpochRecord | undefined> {
    const r = this.db.prepare(`SELECT * FROM epochs ORDER BY number DESC LIMIT 1`).get() as Record<string, unknown> | undefined;
    return r ? toEpoch(r) : undefined;
  }

  /**
   * recordEpoch without one long transaction (a million ledger rows held the event loop and every
   * share commit for seconds to a minute): the rows are written `RECORD_CHUNK` at a time, each chunk
   * its own transaction with the event loop free between them, every changed row keeping the value
   * it had at the latest recorded epoch (prev_cumulative, prev_epoch); a last small transaction
   * checks the epoch is still the next one, marks its blocks paid and adds the epoch row, which is
   * what makes the new values count (readers take a row's value as of the latest recorded epoch:
   * `ledger()`). What a crash or a failed check leaves half-written is rolled back by the next
   * record (`rollBackUnrecorded`); a revoked epoch's rows are read as their previous values at once.
   */
  recordEpoch(e: Omit<EpochRecord, "state" | "proposeTx" | "acceptTx" | "createdAt" | "updatedAt">, deltas: LedgerDeltaList): Promise<void> {
    return this.oneLedgerWrite(() => this.recordEpochNow(e, deltas));
  }

  /** Records and revocations one at a time: a second one's rollback would undo the first one's rows. */
  private oneLedgerWrite(fn: () => Promise<void>): Promise<void> {
    const run = this.ledgerWrites.then(fn, fn);
    this.ledgerWrites = run.catch(() => undefined);
    return run;
  }

  private ledgerWrites: Promise<unknown> = Promise.resolve();

  private async recordEpochNow(e: Omit<EpochRecord, "state" | "proposeTx" | "acceptTx" | "createdAt" | "updatedAt">, deltas: LedgerDeltaList): Promise<void> {
    checkEpochFields(e); // and each change in its chunk (checkDelta): a million regex tests at once held the loop
    const expectedNumber = () => {
      const latest = this.db.prepare(`SELECT number, state FROM epochs ORDER BY number DESC LIMIT 1`).get() as { number: number; state: string } | undefined;
      const expected = latest === undefined ? 1 : latest.state === "revoked" ? latest.number : latest.number + 1;
      if (e.number !== expected) throw new ShareStoreError(`epoch ${e.number} is not the next epoch (expected ${expected})`);
      return latest;
    };
    expectedNumber();
    const recorded = this.recordedEpoch();
    await this.rollBackUnrecorded(recorded);
    await this.writeLedgerChunks(e, deltas, recorded);
    await this.shareWriterIdle();
    const now = Date.now();
    this.db.transaction(() => {
      const latest = expectedNumber();
      if (this.recordedEpoch() !== recorded) throw new ShareStoreError(`epoch ${e.number}: the ledger changed while it was recorded`);
      if (latest?.state === "revoked") this.db.prepare(`DELETE FROM epochs WHERE number = ?`).run(e.number);
      for (const hash of e.blocks) {
        const r = this.db.prepare(`UPDATE blocks SET epoch = ? WHERE hash = ? AND epoch IS NULL`).run(e.number, hash);
        if (r.changes !== 1) throw new ShareStoreError(`block ${hash} is unknown or already paid`);
      }
      this.db
        .prepare(
          `INSERT INTO epochs (number, blocks, root, total_cumulative, reward, accounts, file_path, data_hash, share_log_path, share_log_digest, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'built', ?, ?)`,
        )
        .run(e.number, JSON.stringify(e.blocks), e.root, e.totalCumulative.toString(), e.reward.toString(), e.accounts, e.filePath, e.dataHash, e.shareLogPath, e.shareLogDigest, now, now);
    }).immediate();
  }

  /** The latest epoch whose ledger counts: recorded and not revoked (0: none). */
  private recordedEpoch(): number {
    return (this.db.prepare(`SELECT COALESCE(MAX(number), 0) FROM epochs WHERE state != 'revoked'`).pluck().get() as number) ?? 0;
  }

  /**
   * Runs one synchronous chunk of an epoch's record (or roll-back) with synchronous=NORMAL: its
   * rows count only once the record's last transaction commits, and that one (synchronous as
   * configured, FULL by default) syncs the whole WAL, their frames included, so they need no fsync
   * each (a thousand of them for a million accounts). Only for the chunk itself: share commits
   * run on this connection between chunks and keep the configured setting.
   */
  private withoutSync<T>(chunk: () => T): T {
    const synchronous = this.db.pragma("synchronous", { simple: true }) as number;
    this.db.pragma("synchronous = NORMAL");
    try {
      return chunk();
    } finally {
      this.db.pragma(`synchronous = ${synchronous}`);
    }
  }

  /** recordEpochNow's ledger rows, RECORD_CHUNK per transaction, the loop turning between. */
  private async writeLedgerChunks(e: Omit<EpochRecord, "state" | "proposeTx" | "acceptTx" | "createdAt" | "updatedAt">, deltas: LedgerDeltaList, recorded: number): Promise<void> {
    const current = this.db.prepare(`SELECT cumulative, epoch, prev_cumulative, prev_epoch FROM ledger WHERE address = ?`);
    const upsert = this.db.prepare(
      `INSERT INTO ledger (address, cumulative, epoch, prev_cumulative, prev_epoch) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (address) DO UPDATE SET cumulative = excluded.cumulative, epoch = excluded.epoch, prev_cumulative = excluded.prev_cumulative, prev_epoch = excluded.prev_epoch`,
    );
    // A plain insert: an address twice in one epoch is refused (the history's key), as one transaction refused it.
    const history = this.db.prepare(`INSERT INTO ledger_deltas (epoch, address, delta, cumulative) VALUES (?, ?, ?, ?)`);
    const writeChunk = this.db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const d = deltas.at(i)!;
        checkDelta(d);
        const row = current.get(d.address) as { cumulative: string; epoch: number; prev_cumulative: string | null; prev_epoch: number | null } | undefined;
        // The value as of the latest recorded epoch (rows of this epoch were rolled back above).
        const before = row === undefined ? undefined : row.epoch <= recorded ? { cumulative: row.cumulative, epoch: row.epoch } : row.prev_epoch !== null ? { cumulative: row.prev_cumulative!, epoch: row.prev_epoch } : undefined;
        if (BigInt(before?.cumulative ?? "0") + d.delta !== d.cumulative) {
          throw new ShareStoreError(`ledger mismatch for ${d.address}: ${before?.cumulative ?? 0} + ${d.delta} != ${d.cumulative}`);
        }
        upsert.run(d.address, d.cumulative.toString(), e.number, before?.cumulative ?? null, before?.epoch ?? null);
        history.run(e.number, d.address, d.delta.toString(), d.cumulative.toString());
      }
    });
    // The record writes hundreds of MB of WAL: checkpoint it in small steps while it runs (a 32 MiB
    // checkpoint, the share path's setting, holds the loop ~70 ms each time).
    const autocheckpoint = this.db.pragma("wal_autocheckpoint", { simple: true }) as number;
    this.db.pragma(`wal_autocheckpoint = ${RECORD_CHECKPOINT_PAGES}`);
    try {
      for (let from = 0; from < deltas.length; from += RECORD_CHUNK) {
        await this.shareWriterIdle();
        this.withoutSync(() => writeChunk(from, Math.min(deltas.length, from + RECORD_CHUNK)));
        if (from + RECORD_CHUNK < deltas.length) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
    }
  }

  /**
   * Puts back what an unfinished record (a crash, a failed check) or a revoked epoch left in the
   * ledger above epoch `recorded`: each such row's previous value, or no row; their history rows
   * removed. Chunked like the record itself; nothing to do in the usual case.
   */
  private async rollBackUnrecorded(recorded: number): Promise<void> {
    // Each row back to its latest change at or before `recorded`, from the history (any depth of
    // unrecorded epochs), with the change before that as its previous value (a later revoke reads it).
    const before = this.db.prepare(`SELECT cumulative, epoch FROM ledger_deltas WHERE address = ? AND epoch <= ? ORDER BY epoch DESC LIMIT 1`);
    const restore = this.db.transaction(() => {
      const rows = this.db.prepare(`SELECT address FROM ledger WHERE epoch > ? LIMIT ?`).pluck().all(recorded, RECORD_CHUNK) as string[];
      for (const address of rows) {
        const p = before.get(address, recorded) as { cumulative: string; epoch: number } | undefined;
        if (!p) {
          this.db.prepare(`DELETE FROM ledger WHERE address = ?`).run(address);
          continue;
        }
        const pp = before.get(address, p.epoch - 1) as { cumulative: string; epoch: number } | undefined;
        this.db.prepare(`UPDATE ledger SET cumulative = ?, epoch = ?, prev_cumulative = ?, prev_epoch = ? WHERE address = ?`).run(p.cumulative, p.epoch, pp?.cumulative ?? null, pp?.epoch ?? null, address);
      }
      return rows.length;
    });
    await this.shareWriterIdle();
    while (this.withoutSync(restore) > 0) {
      await new Promise((r) => setImmediate(r));
      await this.shareWriterIdle();
    }
    const drop = this.db.prepare(`DELETE FROM ledger_deltas WHERE rowid IN (SELECT rowid FROM ledger_deltas WHERE epoch > ? LIMIT ?)`);
    await this.shareWriterIdle();
    while (this.withoutSync(() => drop.run(recorded, RECORD_CHUNK).changes) > 0) {
      await new Promise((r) => setImmediate(r));
      await this.shareWriterIdle();
    }
  }

  async updateEpochState(number: number, update: { state: Exclude<EpochState, "built" | "revoked">; proposeTx?: string; acceptTx?: string }): Promise<void> {
    if (update.state !== "proposed" && update.state !== "accepted") throw new ShareStoreError(`invalid epoch state ${String(update.state)}`);
    const r = this.db
      .prepare(`UPDATE epochs SET state = ?, propose_tx = COALESCE(?, propose_tx), accept_tx = COALESCE(?, accept_tx), updated_at = ? WHERE number = ? AND state != 'revoked'`)
      .run(update.state, update.proposeTx ?? null, update.acceptTx ?? null, Date.now(), number);
    if (r.changes !== 1) throw new ShareStoreError(`epoch ${number} does not exist or is revoked`);
  }

  revokeEpoch(number: number): Promise<void> {
    return this.oneLedgerWrite(() => this.revokeEpochNow(number));
  }

  private async revokeEpochNow(number: number): Promise<void> {
    await this.shareWriterIdle();
    // IMMEDIATE (as every write beside the writer thread's): the lock first, never a late upgrade.
    this.db.transaction(() => {
      const latest = this.db.prepare(`SELECT * FROM epochs ORDER BY number DESC LIMIT 1`).get() as Record<string, unknown> | undefined;
      if (!latest || latest.number !== number) throw new ShareStoreError(`only the latest epoch can be revoked (asked ${number})`);
      if (latest.state === "revoked") return;
      // Once revoked, the epoch's ledger rows read as their previous values (ledger()); the rows
      // themselves are put back just after, in chunks.
      this.db.prepare(`UPDATE blocks SET epoch = NULL WHERE epoch = ?`).run(number);
      this.db.prepare(`INSERT INTO epoch_revocations (number, root, data_hash, file_path, revoked_at) VALUES (?, ?, ?, ?, ?)`).run(number, latest.root, latest.data_hash, latest.file_path, Date.now());
      this.db.prepare(`UPDATE epochs SET state = 'revoked', updated_at = ? WHERE number = ?`).run(Date.now(), number);
    }).immediate();
    await this.rollBackUnrecorded(this.recordedEpoch());
  }

  async ledger(): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const recorded = this.recordedEpoch();
    // Each row as of the latest recorded epoch: an epoch being recorded (or revoked) shows its previous value.
    const rows = this.db
      .prepare(`SELECT address, CASE WHEN epoch <= ? THEN cumulative ELSE prev_cumulative END FROM ledger WHERE epoch <= ? OR prev_epoch IS NOT NULL`)
      .raw()
      .iterate(recorded, recorded) as Iterable<[string, string]>;
    for (const [address, cumulative] of rows) out.set(address, BigInt(cumulative));
    return out;
  }

  async ledgerAt(number: number): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const rows = this.db
      .prepare(
        `SELECT d.address, d.cumulative FROM ledger_deltas d
         WHERE d.epoch = (SELECT MAX(epoch) FROM ledger_deltas x WHERE x.address = d.address AND x.epoch <= ?)`,
      )
      .raw()
      .iterate(Math.min(number, this.recordedEpoch())) as Iterable<[string, string]>;
    for (const [address, cumulative] of rows) out.set(address, BigInt(cumulative));
    return out;
  }

  async ledgerDeltas(number: number): Promise<LedgerDelta[]> {
    if (number > this.recordedEpoch()) return []; // an epoch being recorded, or revoked: none yet
    return (this.db.prepare(`SELECT address, delta, cumulative FROM ledger_deltas WHERE epoch = ? ORDER BY address`).all(number) as Array<Record<string, string>>).map((r) => ({
      address: r.address,
      delta: BigInt(r.delta),
      cumulative: BigInt(r.cumulative),
    }));
  }

  async ledgerHistory(address: string): Promise<Array<LedgerDelta & { epoch: number }>> {
    const rows = this.db.prepare(`SELECT epoch, address, delta, cumulative FROM ledger_deltas WHERE address = ? AND epoch <= ? ORDER BY epoch`).all(address.toLowerCase(), this.recordedEpoch()) as Array<Record<string, string | number>>;
    return rows.map((r) => ({ epoch: Number(r.epoch), address: String(r.address), delta: BigInt(r.delta), cumulative: BigInt(r.cumulative) }));
  }

  async schemaVersion(): Promise<number> {
    return currentVersion(this.db);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (this.db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck().get(key) as string | undefined) ?? undefined;
  }

  async setMetaOnce(key: string, value: string): Promise<string> {
    this.db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`).run(key, value);
    return (await this.getMeta(key))!;
  }

  /** Group-commit counters (transactions, items). */
  get commitStats(): { commits: number; items: number; commitMs: number } {
    return { commits: this.writer.commits, items: this.writer.items, commitMs: this.writer.commitMs };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writer.close();
    this.closed = true;
    await this.writerThread?.close();
    this.db.close();
  }
}

function prepareStatements(db: Database.Database) {
  return {
    lastId: db.prepare(`SELECT COALESCE(MAX(id), 0) FROM shares`).pluck(),
    count: db.prepare(`SELECT COUNT(*) FROM shares`).pluck(),
    range: db
      .prepare(
        `SELECT id, account, diff_whole, diff_frac, job, worker, extranonce1, extranonce2, version, ntime, nonce, hash, is_block, time
         FROM shares WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?`,
      )
      .raw(),
    jobsById: db.prepare(`SELECT id, job_id, height, prevhash, nbits, coinb1, coinb2, merkle_branch FROM jobs WHERE id IN (SELECT value FROM json_each(?))`).raw(),
    accountsById: db.prepare(`SELECT id, address FROM accounts WHERE id IN (SELECT value FROM json_each(?))`).raw(),
    weights: db.prepare(`SELECT id, account, diff_whole AS whole, diff_frac AS frac FROM shares WHERE id <= ? ORDER BY id DESC LIMIT ?`).raw(),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

function yieldToEventLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function currentVersion(db: Database.Database): number {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
  if (!exists) return 0;
  return db.prepare(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).pluck().get() as number;
}

function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  checkMigrationOrder(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const version = currentVersion(db);
  const latest = migrations.length;
  if (version > latest) throw new ShareStoreError(`database schema version ${version} is newer than this program knows (${latest}); refusing to open`);
  for (const m of migrations.slice(version)) {
    db.transaction(() => {
      for (const sql of m.sqlite) db.exec(sql);
      db.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`).run(m.version, m.name, Date.now());
      if (m.version === 1) db.prepare(`INSERT INTO meta (key, value) VALUES ('difficulty_decimals', ?)`).run(String(DIFFICULTY_DECIMALS));
    })();
  }
  const decimals = db.prepare(`SELECT value FROM meta WHERE key = 'difficulty_decimals'`).pluck().get();
  if (decimals !== String(DIFFICULTY_DECIMALS)) throw new ShareStoreError(`database uses ${String(decimals)} difficulty decimals, this program ${DIFFICULTY_DECIMALS}`);
}

type ShareTuple = [number, number, number, number, number, string, string, string, string, string, string, string, number, number];
type JobTuple = [number, string, number, string, string, string, string, string];

function tupleToShare(r: ShareTuple, jobs: Map<number, JobRow>, accounts: Map<number, string>): StoredShare {
  const [id, account, whole, frac, jobRef, worker, extranonce1, extranonce2, version, ntime, nonce, hash, isBlock, time] = r;
  const job = jobs.get(jobRef);
  const address = accounts.get(account);
  if (!job || address === undefined) throw new ShareStoreError(`share ${id} refers to a missing job or account`);
  return {
    id,
    address,
    worker,
    difficulty: formatDifficultyParts(whole, frac),
    jobId: job.jobId,
    height: job.height,
    prevhash: job.prevhash,
    coinb1: job.coinb1,
    coinb2: job.coinb2,
    extranonce1,
    extranonce2,
    merkleBranch: job.merkleBranch.slice(),
    version,
    nbits: job.nbits,
    ntime,
    nonce,
    hash,
    isBlock: isBlock === 1,
    time,
  };
}
