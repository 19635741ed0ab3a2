import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import type { AcceptedShare, FoundBlock } from "../stratum/events";
import { DIFFICULTY_DECIMALS, formatDifficultyParts } from "./difficulty";
import { GroupCommit } from "./group-commit";
import { MIGRATIONS, checkMigrationOrder, type Migration } from "./migrations";
import { checkBlockUpdate, checkEpochInput, toBlock, toEpoch } from "./rows";
import {
  ShareStoreError,
  type BlockRecord,
  type BlockStatus,
  type EpochRecord,
  type EpochState,
  type LedgerDelta,
  type LedgerDeltaList,
  type PublishedFiles,
  type ShareStore,
  type ShareWeightRow,
  type StoredShare,
} from "./types";
import { JobCache, validateBlock, validateShare, type BlockRow, type JobRow, type ShareRow } from "./validate";

export interface PostgresStoreOptions {
  /** postgres://… URL; or the separate fields below (defaults: PG* environment variables). */
  connectionString?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** Schema holding the tables (created if missing). Default "public". */
  schema?: string;
  poolSize?: number;
  maxBatch?: number;
  delayMs?: number;
  migrations?: readonly Migration[];
}

type Item = { kind: "share"; row: ShareRow } | { kind: "block"; block: BlockRow; row: ShareRow };

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The share store on PostgreSQL, for pools that run several Stratum front ends against one
 * database. Same interface and behaviour as the SQLite store; durability is PostgreSQL's
 * (synchronous_commit=on: a COMMIT returns after the WAL is flushed).
 *
 * Share ids come from a sequence: with several writers they follow allocation order, which can
 * differ from commit order by the few milliseconds a batch is in flight. The epoch builder only
 * reads windows of blocks confirmed long after, when every such batch has committed.
 */
export class PostgresShareStore implements ShareStore {
  readonly kind = "postgres" as const;
  readonly schema: string;
  private readonly pool: pg.Pool;
  readonly files: PublishedFiles = new PostgresPublishedFiles((fn) => this.tx(fn), (sql, params) => this.pool.query(sql, params));
  private readonly writer: GroupCommit<Item, number>;
  private readonly jobCache = new JobCache();
  private readonly jobIds = new WeakMap<JobRow, number>();
  private readonly accountIds = new Map<string, number>();
  private closed = false;

  static async open(options: PostgresStoreOptions = {}): Promise<PostgresShareStore> {
    const store = new PostgresShareStore(options);
    try {
      await store.init(options.migrations ?? MIGRATIONS);
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private constructor(options: PostgresStoreOptions) {
    this.schema = options.schema ?? "public";
    if (!SCHEMA_NAME.test(this.schema)) throw new ShareStoreError(`invalid PostgreSQL schema name ${JSON.stringify(this.schema)} (lower-case letters, digits, _)`);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      host: options.host,
      port: options.port,
      database: options.database,
      user: options.user,
      password: options.password,
      max: options.poolSize ?? 4,
      options: `-c search_path=${this.schema}`,
    });
    this.pool.on("error", () => undefined); // an idle client's error surfaces on its next query
    this.writer = new GroupCommit<Item, number>((items) => this.commit(items), {
      maxBatch: options.maxBatch ?? 10_000,
      delayMs: options.delayMs ?? 0,
    });
  }

  private async init(migrations: readonly Migration[]): Promise<void> {
    checkMigrationOrder(migrations);
    const client = await this.pool.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query("BEGIN");
      // Several front ends may start at once: one migrates, the others wait and find it done.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`pplns-migrate:${this.schema}`]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const version = Number((await client.query(`SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations`)).rows[0].v);
      if (version > migrations.length) {
        throw new ShareStoreError(`database schema version ${version} is newer than this program knows (${migrations.length}); refusing to open`);
      }
      for (const m of migrations.slice(version)) {
        for (const sql of m.postgres) await client.query(sql);
        await client.query(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, Date.now()]);
        if (m.version === 1) await client.query(`INSERT INTO meta (key, value) VALUES ('difficulty_decimals', $1)`, [String(DIFFICULTY_DECIMALS)]);
      }
      const decimals = (await client.query(`SELECT value FROM meta WHERE key = 'difficulty_decimals'`)).rows[0]?.value;
      if (decimals !== String(DIFFICULTY_DECIMALS)) throw new ShareStoreError(`database uses ${String(decimals)} difficulty decimals, this program ${DIFFICULTY_DECIMALS}`);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
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

  /** One group-commit transaction: accounts, new jobs, shares (one statement), blocks. */
  private async commit(items: Item[]): Promise<number[]> {
    const newAccounts = new Map<string, number>();
    const newJobs = new Map<JobRow, number>();
    const ids = await this.tx(async (c) => {
      const rows = items.map((i) => i.row);
      await this.resolveAccounts(c, rows, newAccounts);
      await this.insertJobs(c, rows, newJobs);
      const accountOf = (a: string) => (this.accountIds.get(a) ?? newAccounts.get(a)) as number;
      const jobOf = (j: JobRow) => (this.jobIds.get(j) ?? newJobs.get(j)) as number;

      const shareItems = items.filter((i) => i.kind === "share");
      const shareIds = await this.insertShares(c, shareItems.map((i) => i.row), accountOf, jobOf);
      const blockShareIds = new Map<string, number>();
      shareItems.forEach((i, k) => {
        if (i.row.isBlock) blockShareIds.set(i.row.hash, shareIds[k]);
      });

      const out: number[] = [];
      let k = 0;
      for (const item of items) {
        if (item.kind === "share") {
          out.push(shareIds[k++]);
          continue;
        }
        let shareId = blockShareIds.get(item.row.hash);
        if (shareId === undefined) {
          const found = await c.query(`SELECT id FROM shares WHERE hash = $1 AND is_block ORDER BY id LIMIT 1`, [item.row.hash]);
          shareId = found.rows.length ? Number(found.rows[0].id) : (await this.insertShares(c, [{ ...item.row, isBlock: true }], accountOf, jobOf))[0];
          blockShareIds.set(item.row.hash, shareId);
        }
        const b = item.block;
        await c.query(
          `INSERT INTO blocks (hash, height, reward, finder, worker, share_id, nbits, submitted, submit_error, time)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (hash) DO NOTHING`,
          [b.hash, b.height, b.reward.toString(), b.finder, b.worker, shareId, item.row.job.nbits, b.submitted, b.submitError, b.time],
        );
        out.push(shareId);
      }
      return out;
    });
    for (const [k, v] of newAccounts) this.accountIds.set(k, v);
    for (const [k, v] of newJobs) this.jobIds.set(k, v);
    return ids;
  }

  private async resolveAccounts(c: pg.PoolClient, rows: ShareRow[], out: Map<string, number>): Promise<void> {
    const missing = [...new Set(rows.map((r) => r.address).filter((a) => !this.accountIds.has(a)))];
    if (missing.length === 0) return;
    await c.query(`INSERT INTO accounts (address) SELECT unnest($1::text[]) ON CONFLICT (address) DO NOTHING`, [missing]);
    const r = await c.query(`SELECT id, address FROM accounts WHERE address = ANY($1::text[])`, [missing]);
    for (const row of r.rows) out.set(row.address, Number(row.id));
  }

  private async insertJobs(c: pg.PoolClient, rows: ShareRow[], out: Map<JobRow, number>): Promise<void> {
    const jobs = [...new Set(rows.map((r) => r.job).filter((j) => !this.jobIds.has(j)))];
    if (jobs.length === 0) return;
    const ids = await this.allocateIds(c, "jobs_id_seq", jobs.length);
    await c.query(
      `INSERT INTO jobs (id, job_id, height, prevhash, nbits, coinb1, coinb2, merkle_branch)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
      [
        ids,
        jobs.map((j) => j.jobId),
        jobs.map((j) => j.height),
        jobs.map((j) => j.prevhash),
        jobs.map((j) => j.nbits),
        jobs.map((j) => j.coinb1),
        jobs.map((j) => j.coinb2),
        jobs.map((j) => j.merkleBranch.join(",")),
      ],
    );
    jobs.forEach((j, i) => out.set(j, ids[i]));
  }

  /** `count` fresh ids of a sequence, ascending (so that ids follow arrival order in a batch). */
  private async allocateIds(c: pg.PoolClient, sequence: string, count: number): Promise<number[]> {
    const r = await c.query({ text: `SELECT nextval('${sequence}') FROM generate_series(1, $1::int)`, values: [count], rowMode: "array" });
    return (r.rows as Array<[string]>).map((x) => Number(x[0])).sort((a, b) => a - b);
  }

  private async insertShares(c: pg.PoolClient, rows: ShareRow[], accountOf: (a: string) => number, jobOf: (j: JobRow) => number): Promise<number[]> {
    if (rows.length === 0) return [];
    const ids = await this.allocateIds(c, "shares_id_seq", rows.length);
    await c.query(
      `INSERT INTO shares (id, account, diff_whole, diff_frac, job, worker, extranonce1, extranonce2, version, ntime, nonce, hash, is_block, time)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::text[], $12::text[], $13::boolean[], $14::bigint[])`,
      [
        ids,
        rows.map((r) => accountOf(r.address)),
        rows.map((r) => r.whole),
        rows.map((r) => r.frac),
        rows.map((r) => jobOf(r.job)),
        rows.map((r) => r.worker),
        rows.map((r) => r.extranonce1),
        rows.map((r) => r.extranonce2),
        rows.map((r) => r.version),
        rows.map((r) => r.ntime),
        rows.map((r) => r.nonce),
        rows.map((r) => r.hash),
        rows.map((r) => r.isBlock),
        rows.map((r) => r.time),
      ],
    );
    return ids;
  }

  // ---- shares -----------------------------------------------------------------------------------

  async lastShareId(): Promise<number> {
    return Number((await this.pool.query(`SELECT COALESCE(MAX(id), 0) AS v FROM shares`)).rows[0].v);
  }

  async shareCount(): Promise<number> {
    return Number((await this.pool.query(`SELECT COUNT(*) AS v FROM shares`)).rows[0].v);
  }

  async *sharesInRange(fromId: number, toId: number, batch = 5000): AsyncIterable<StoredShare> {
    const jobs = new Map<number, JobRow>();
    const accounts = new Map<number, string>();
    let next = fromId;
    for (;;) {
      const r = await this.pool.query({
        text: `SELECT id, account, diff_whole, diff_frac, job, worker, extranonce1, extranonce2, version, ntime, nonce, hash, is_block, time
               FROM shares WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT $3`,
        values: [next, toId, batch],
        rowMode: "array",
      });
      const rows = r.rows as unknown[][];
      await this.loadMissing(rows, jobs, accounts);
      for (const row of rows) yield rowToShare(row, jobs, accounts);
      if (rows.length < batch) return;
      next = Number(rows[rows.length - 1][0]) + 1;
      if (jobs.size > 50_000) jobs.clear();
    }
  }

  private async loadMissing(rows: unknown[][], jobs: Map<number, JobRow>, accounts: Map<number, string>): Promise<void> {
    const jobIds = new Set<number>();
    const accountIds = new Set<number>();
    for (const r of rows) {
      const job = Number(r[4]);
      const account = Number(r[1]);
      if (!jobs.has(job)) jobIds.add(job);
      if (!accounts.has(account)) accountIds.add(account);
    }
    if (jobIds.size > 0) {
      const r = await this.pool.query(`SELECT id, job_id, height, prevhash, nbits, coinb1, coinb2, merkle_branch FROM jobs WHERE id = ANY($1::bigint[])`, [[...jobIds]]);
      for (const j of r.rows) {
        jobs.set(Number(j.id), {
          jobId: j.job_id,
          height: Number(j.height),
          prevhash: j.prevhash,
          nbits: j.nbits,
          coinb1: j.coinb1,
          coinb2: j.coinb2,
          merkleBranch: j.merkle_branch === "" ? [] : j.merkle_branch.split(","),
        });
      }
    }
    if (accountIds.size > 0) {
      for (const [id, address] of await this.accountsById([...accountIds])) accounts.set(id, address);
    }
  }

  async *weightsNewestFirst(fromId: number, batch = 20_000): AsyncIterable<ShareWeightRow[]> {
    let next = fromId;
    for (;;) {
      const r = await this.pool.query({
        text: `SELECT id, account, diff_whole, diff_frac FROM shares WHERE id <= $1 ORDER BY id DESC LIMIT $2`,
        values: [next, batch],
        rowMode: "array",
      });
      const rows = r.rows as Array<[string, string, string, string]>;
      if (rows.length === 0) return;
      yield rows.map(([id, account, whole, frac]) => ({ id: Number(id), account: Number(account), whole: Number(whole), frac: Number(frac) }));
      if (rows.length < batch) return;
      next = Number(rows[rows.length - 1][0]) - 1;
    }
  }

  private async accountsById(ids: number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (let i = 0; i < ids.length; i += 50_000) {
      const r = await this.pool.query(`SELECT id, address FROM accounts WHERE id = ANY($1::bigint[])`, [ids.slice(i, i + 50_000)]);
      for (const row of r.rows) out.set(Number(row.id), row.address);
    }
    return out;
  }

  async accountAddresses(ids: readonly number[]): Promise<Map<number, string>> {
    return this.accountsById([...ids]);
  }

  // ---- blocks -----------------------------------------------------------------------------------

  async blocks(filter: { status?: BlockStatus; unpaid?: boolean } = {}): Promise<BlockRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) {
      args.push(filter.status);
      where.push(`status = $${args.length}`);
    }
    if (filter.unpaid) where.push("epoch IS NULL");
    const r = await this.pool.query(`SELECT * FROM blocks ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY height, id`, args);
    return r.rows.map(toBlock);
  }

  async block(hash: string): Promise<BlockRecord | undefined> {
    const r = await this.pool.query(`SELECT * FROM blocks WHERE hash = $1`, [String(hash).toLowerCase()]);
    return r.rows.length ? toBlock(r.rows[0]) : undefined;
  }

  async updateBlock(hash: string, update: { status?: BlockStatus; confirmations?: number }): Promise<void> {
    checkBlockUpdate(update);
    const r = await this.pool.query(`UPDATE blocks SET status = COALESCE($1, status), confirmations = COALESCE($2, confirmations) WHERE hash = $3`, [
      update.status ?? null,
      update.confirmations ?? null,
      String(hash).toLowerCase(),
    ]);
    if (r.rowCount !== 1) throw new ShareStoreError(`unknown block ${hash}`);
  }

  // ---- epochs and ledger ------------------------------------------------------------------------

  async epochs(): Promise<EpochRecord[]> {
    return (await this.pool.query(`SELECT * FROM epochs ORDER BY number`)).rows.map(toEpoch);
  }

  async epoch(number: number): Promise<EpochRecord | undefined> {
    const r = await this.pool.query(`SELECT * FROM epochs WHERE number = $1`, [number]);
    return r.rows.length ? toEpoch(r.rows[0]) : undefined;
  }

  async latestEpoch(): Promise<EpochRecord | undefined> {
    const r = await this.pool.query(`SELECT * FROM epochs ORDER BY number DESC LIMIT 1`);
    return r.rows.length ? toEpoch(r.rows[0]) : undefined;
  }

  async recordEpoch(e: Omit<EpochRecord, "state" | "proposeTx" | "acceptTx" | "createdAt" | "updatedAt">, deltas: LedgerDeltaList): Promise<void> {
    checkEpochInput(e, deltas);
    const now = Date.now();
    await this.tx(async (c) => {
      await c.query(`LOCK TABLE epochs IN EXCLUSIVE MODE`);
      const latest = (await c.query(`SELECT number, state FROM epochs ORDER BY number DESC LIMIT 1`)).rows[0] as { number: number; state: string } | undefined;
      const expected = latest === undefined ? 1 : latest.state === "revoked" ? latest.number : latest.number + 1;
      if (e.number !== expected) throw new ShareStoreError(`epoch ${e.number} is not the next epoch (expected ${expected})`);
      if (latest?.state === "revoked") await c.query(`DELETE FROM epochs WHERE number = $1`, [e.number]);
      for (const hash of e.blocks) {
        const r = await c.query(`UPDATE blocks SET epoch = $1 WHERE hash = $2 AND epoch IS NULL`, [e.number, hash]);
        if (r.rowCount !== 1) throw new ShareStoreError(`block ${hash} is unknown or already paid`);
      }
      await c.query(
        `INSERT INTO epochs (number, blocks, root, total_cumulative, reward, accounts, file_path, data_hash, share_log_path, share_log_digest, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'built', $11, $11)`,
        [e.number, JSON.stringify(e.blocks), e.root, e.totalCumulative.toString(), e.reward.toString(), e.accounts, e.filePath, e.dataHash, e.shareLogPath, e.shareLogDigest, now],
      );
      for (let i = 0; i < deltas.length; i += 10_000) {
        const chunk: LedgerDelta[] = [];
        for (let k = i; k < Math.min(deltas.length, i + 10_000); k++) chunk.push(deltas.at(k)!);
        const addresses = chunk.map((d) => d.address);
        const before = new Map<string, bigint>();
        for (const r of (await c.query(`SELECT address, cumulative FROM ledger WHERE address = ANY($1::text[])`, [addresses])).rows) before.set(r.address, BigInt(r.cumulative));
        for (const d of chunk) {
          const b = before.get(d.address) ?? 0n;
          if (b + d.delta !== d.cumulative) throw new ShareStoreError(`ledger mismatch for ${d.address}: ${b} + ${d.delta} != ${d.cumulative}`);
        }
        const cumulative = chunk.map((d) => d.cumulative.toString());
        await c.query(
          `INSERT INTO ledger (address, cumulative, epoch) SELECT a, c, $3 FROM unnest($1::text[], $2::text[]) AS t(a, c)
           ON CONFLICT (address) DO UPDATE SET cumulative = excluded.cumulative, epoch = excluded.epoch`,
          [addresses, cumulative, e.number],
        );
        await c.query(`INSERT INTO ledger_deltas (epoch, address, delta, cumulative) SELECT $4, a, d, c FROM unnest($1::text[], $2::text[], $3::text[]) AS t(a, d, c)`, [
          addresses,
          chunk.map((d) => d.delta.toString()),
          cumulative,
          e.number,
        ]);
      }
    });
  }

  async updateEpochState(number: number, update: { state: Exclude<EpochState, "built" | "revoked">; proposeTx?: string; acceptTx?: string }): Promise<void> {
    if (update.state !== "proposed" && update.state !== "accepted") throw new ShareStoreError(`invalid epoch state ${String(update.state)}`);
    const r = await this.pool.query(
      `UPDATE epochs SET state = $1, propose_tx = COALESCE($2, propose_tx), accept_tx = COALESCE($3, accept_tx), updated_at = $4 WHERE number = $5 AND state != 'revoked'`,
      [update.state, update.proposeTx ?? null, update.acceptTx ?? null, Date.now(), number],
    );
    if (r.rowCount !== 1) throw new ShareStoreError(`epoch ${number} does not exist or is revoked`);
  }

  async revokeEpoch(number: number): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`LOCK TABLE epochs IN EXCLUSIVE MODE`);
      const latest = (await c.query(`SELECT * FROM epochs ORDER BY number DESC LIMIT 1`)).rows[0];
      if (!latest || Number(latest.number) !== number) throw new ShareStoreError(`only the latest epoch can be revoked (asked ${number})`);
      if (latest.state === "revoked") return;
      await c.query(
        `UPDATE ledger l SET cumulative = p.cumulative, epoch = p.epoch
         FROM (SELECT DISTINCT ON (d.address) d.address, d.cumulative, d.epoch FROM ledger_deltas d
               WHERE d.epoch < $1 AND d.address IN (SELECT address FROM ledger_deltas WHERE epoch = $1)
               ORDER BY d.address, d.epoch DESC) p
         WHERE l.address = p.address`,
        [number],
      );
      await c.query(
        `DELETE FROM ledger WHERE address IN (SELECT address FROM ledger_deltas WHERE epoch = $1)
           AND NOT EXISTS (SELECT 1 FROM ledger_deltas d WHERE d.address = ledger.address AND d.epoch < $1)`,
        [number],
      );
      await c.query(`DELETE FROM ledger_deltas WHERE epoch = $1`, [number]);
      await c.query(`UPDATE blocks SET epoch = NULL WHERE epoch = $1`, [number]);
      await c.query(`INSERT INTO epoch_revocations (number, root, data_hash, file_path, revoked_at) VALUES ($1, $2, $3, $4, $5)`, [
        number,
        latest.root,
        latest.data_hash,
        latest.file_path,
        Date.now(),
      ]);
      await c.query(`UPDATE epochs SET state = 'revoked', updated_at = $1 WHERE number = $2`, [Date.now(), number]);
    });
  }

  async ledger(): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const r = await this.pool.query({ text: `SELECT address, cumulative FROM ledger`, rowMode: "array" });
    for (const [address, cumulative] of r.rows as Array<[string, string]>) out.set(address, BigInt(cumulative));
    return out;
  }

  async ledgerAt(number: number): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const r = await this.pool.query({
      text: `SELECT DISTINCT ON (address) address, cumulative FROM ledger_deltas WHERE epoch <= $1 ORDER BY address, epoch DESC`,
      values: [number],
      rowMode: "array",
    });
    for (const [address, cumulative] of r.rows as Array<[string, string]>) out.set(address, BigInt(cumulative));
    return out;
  }

  async ledgerDeltas(number: number): Promise<LedgerDelta[]> {
    const r = await this.pool.query(`SELECT address, delta, cumulative FROM ledger_deltas WHERE epoch = $1 ORDER BY address`, [number]);
    return r.rows.map((x) => ({ address: x.address, delta: BigInt(x.delta), cumulative: BigInt(x.cumulative) }));
  }

  async ledgerHistory(address: string): Promise<Array<LedgerDelta & { epoch: number }>> {
    const r = await this.pool.query(`SELECT epoch, address, delta, cumulative FROM ledger_deltas WHERE address = $1 ORDER BY epoch`, [address.toLowerCase()]);
    return r.rows.map((x) => ({ epoch: Number(x.epoch), address: x.address, delta: BigInt(x.delta), cumulative: BigInt(x.cumulative) }));
  }

  async schemaVersion(): Promise<number> {
    return Number((await this.pool.query(`SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations`)).rows[0].v);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.pool.query(`SELECT value FROM meta WHERE key = $1`, [key])).rows[0]?.value ?? undefined;
  }

  async setMetaOnce(key: string, value: string): Promise<string> {
    await this.pool.query(`INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [key, value]);
    return (await this.getMeta(key))!;
  }

  get commitStats(): { commits: number; items: number; commitMs: number } {
    return { commits: this.writer.commits, items: this.writer.items, commitMs: this.writer.commitMs };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writer.close();
    this.closed = true;
    await this.pool.end();
  }
}


function rowToShare(r: unknown[], jobs: Map<number, JobRow>, accounts: Map<number, string>): StoredShare {
  const id = Number(r[0]);
  const job = jobs.get(Number(r[4]));
  const address = accounts.get(Number(r[1]));
  if (!job || address === undefined) throw new ShareStoreError(`share ${id} refers to a missing job or account`);
  return {
    id,
    address,
    worker: r[5] as string,
    difficulty: formatDifficultyParts(Number(r[2]), Number(r[3])),
    jobId: job.jobId,
    height: job.height,
    prevhash: job.prevhash,
    coinb1: job.coinb1,
    coinb2: job.coinb2,
    extranonce1: r[6] as string,
    extranonce2: r[7] as string,
    merkleBranch: job.merkleBranch.slice(),
    version: r[8] as string,
    nbits: job.nbits,
    ntime: r[9] as string,
    nonce: r[10] as string,
    hash: r[11] as string,
    isBlock: r[12] === true,
    time: Number(r[13]),
  };
}

/** Chunks of a published file, one row each (8 MiB: well under PostgreSQL's 1 GB bytea limit). */
export const PUBLISHED_CHUNK_BYTES = 8 << 20;

/** PublishedFiles in two tables (migration 2): a row per file, a row per chunk. */
class PostgresPublishedFiles implements PublishedFiles {
  constructor(
    private readonly tx: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>,
    private readonly query: (sql: string, params: unknown[]) => Promise<pg.QueryResult>,
    private readonly chunkBytes = PUBLISHED_CHUNK_BYTES,
  ) {}

  async put(name: string, filePath: string): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`DELETE FROM published_file_chunks WHERE name = $1`, [name]);
      await c.query(`DELETE FROM published_files WHERE name = $1`, [name]);
      const hash = crypto.createHash("sha256");
      let size = 0;
      let seq = 0;
      const fd = fs.openSync(filePath, "r");
      try {
        const buf = Buffer.allocUnsafe(this.chunkBytes);
        for (;;) {
          const n = fs.readSync(fd, buf, 0, buf.length, null);
          if (n === 0) break;
          const chunk = buf.subarray(0, n);
          hash.update(chunk);
          await c.query(`INSERT INTO published_file_chunks (name, seq, bytes) VALUES ($1, $2, $3)`, [name, seq++, chunk]);
          size += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      await c.query(`INSERT INTO published_files (name, size, chunks, sha256, stored_at) VALUES ($1, $2, $3, $4, $5)`, [name, size, seq, hash.digest("hex"), Date.now()]);
    });
  }

  async info(name: string): Promise<{ size: number; sha256: string } | undefined> {
    const row = (await this.query(`SELECT size, sha256 FROM published_files WHERE name = $1`, [name])).rows[0] as { size: string; sha256: string } | undefined;
    return row ? { size: Number(row.size), sha256: row.sha256 } : undefined;
  }

  async restore(name: string, filePath: string): Promise<boolean> {
    const row = (await this.query(`SELECT size, chunks, sha256 FROM published_files WHERE name = $1`, [name])).rows[0] as { size: string; chunks: number; sha256: string } | undefined;
    if (!row) return false;
    // Its own temporary file per call: two restores of one file at once must not write into one.
    const tmp = path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.${crypto.randomBytes(6).toString("hex")}.restoring`);
    const hash = crypto.createHash("sha256");
    let size = 0;
    const fd = fs.openSync(tmp, "w");
    try {
      for (let seq = 0; seq < row.chunks; seq++) {
        const chunk = (await this.query(`SELECT bytes FROM published_file_chunks WHERE name = $1 AND seq = $2`, [name, seq])).rows[0]?.bytes as Buffer | undefined;
        if (!chunk) throw new ShareStoreError(`published file ${name}: chunk ${seq} of ${row.chunks} is missing`);
        hash.update(chunk);
        fs.writeSync(fd, chunk);
        size += chunk.length;
      }
      fs.fsyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    const digest = hash.digest("hex");
    if (size !== Number(row.size) || digest !== row.sha256) {
      fs.rmSync(tmp, { force: true });
      throw new ShareStoreError(`published file ${name}: read back ${size} bytes with SHA-256 ${digest}, stored as ${row.size} bytes with ${row.sha256}`);
    }
    fs.renameSync(tmp, filePath);
    return true;
  }
}
