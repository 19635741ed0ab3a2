/**
 * Writing accepted shares and found blocks into the SQLite store, in one of two places:
 *
 * - `ShareWriter`: the inserts of one group-commit transaction on a connection (accounts and jobs
 *   created on first use, their ids kept once the transaction commits).
 * - `ShareWriterThread` (issue 15): the same, on a worker thread with its own connection. The
 *   inserts, the commit and its fsync (synchronous=FULL) then never hold the event loop: measured,
 *   a commit's fsync behind a large epoch's file writes took hundreds of milliseconds, every
 *   Stratum answer waiting meanwhile. A share still counts as stored only when the thread says
 *   its transaction committed.
 */
import path from "node:path";
import { isMainThread, parentPort, workerData, type Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { BlockRow, JobRow, ShareRow } from "./validate";

export type WriteItem = { kind: "share"; row: ShareRow } | { kind: "block"; block: BlockRow; row: ShareRow };

/** The meta row holding the writer thread's last committed batch: {"seq": n, "ids": [...]}. */
const LAST_BATCH_KEY = "share_writer_last_batch";

/** The ids of writer-thread batch `seq` if it committed (read on the store's own connection), else undefined. */
export function committedBatch(db: Database.Database, seq: number): number[] | undefined {
  const row = db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck().get(LAST_BATCH_KEY) as string | undefined;
  if (row === undefined) return undefined;
  const last = JSON.parse(row) as { seq: number; ids: number[] };
  return last.seq === seq ? last.ids : undefined;
}

/** Most jobs whose ids are remembered; the map starts again beyond (the rows are looked up again). */
const JOB_CACHE_LIMIT = 100_000;

/** Connection settings both writers use (the main connection sets the same in sqlite.ts). */
export function applyWriterPragmas(db: Database.Database, synchronous: "full" | "normal"): void {
  db.pragma(`synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`);
  db.pragma("foreign_keys = OFF");
  db.pragma("cache_size = -65536"); // 64 MiB
  // Checkpoint every ~32 MiB of WAL instead of 4 MiB: a 10 000-share commit is ~2 MiB, and each
  // checkpoint copies pages into the database and fsyncs it.
  db.pragma("wal_autocheckpoint = 8192");
}

function jobKey(j: JobRow): string {
  return `${j.jobId}\n${j.height}\n${j.prevhash}\n${j.nbits}\n${j.coinb1}\n${j.coinb2}\n${j.merkleBranch.join(",")}`;
}

/** Rows one transaction created, by address, job key and job row: real only once it commits. */
interface Pending {
  accounts: Map<string, number>;
  jobs: Map<string, number>;
  jobRows: Map<JobRow, number>;
}

/** The inserts of the group commit on one connection; `write` runs one transaction. */
export class ShareWriter {
  private readonly accountIds = new Map<string, number>();
  private readonly jobIds = new Map<string, number>();
  /** The same by row object: the store's JobCache hands every share of a job the same one, so a
   * share costs one WeakMap lookup, not a key of every job field (built once per job object). */
  private readonly jobIdsByRow = new WeakMap<JobRow, number>();
  private readonly stmt;
  private readonly transaction: (items: WriteItem[], pending: Pending, marker: number | undefined) => number[];

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insertShare: db.prepare(
        `INSERT INTO shares (account, diff_whole, diff_frac, job, worker, extranonce1, extranonce2, version, ntime, nonce, hash, is_block, time)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertAccount: db.prepare(`INSERT INTO accounts (address) VALUES (?) ON CONFLICT (address) DO NOTHING`),
      accountId: db.prepare(`SELECT id FROM accounts WHERE address = ?`).pluck(),
      insertJob: db.prepare(`INSERT INTO jobs (job_id, height, prevhash, nbits, coinb1, coinb2, merkle_branch) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      blockShare: db.prepare(`SELECT id FROM shares WHERE hash = ? AND is_block = 1 ORDER BY id LIMIT 1`).pluck(),
      insertBlock: db.prepare(
        `INSERT INTO blocks (hash, height, reward, finder, worker, share_id, nbits, submitted, submit_error, time)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
      ),
      marker: db.prepare(`INSERT INTO meta (key, value) VALUES ('${LAST_BATCH_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    };
    this.transaction = db.transaction((items: WriteItem[], pending: Pending, marker: number | undefined) => {
      const ids: number[] = [];
      for (const item of items) {
        if (item.kind === "share") {
          ids.push(this.insertShare(item.row, pending));
        } else {
          const found = this.stmt.blockShare.get(item.row.hash) as number | undefined;
          const shareId = found ?? this.insertShare({ ...item.row, isBlock: true }, pending);
          const b = item.block;
          this.stmt.insertBlock.run(b.hash, b.height, b.reward.toString(), b.finder, b.worker, shareId, item.row.job.nbits, b.submitted ? 1 : 0, b.submitError, b.time);
          ids.push(shareId);
        }
      }
      // The writer thread's batch number and ids, committed with the rows: if the thread dies
      // after its commit but before its answer, the store finds them here instead of writing the
      // batch again (a second copy of every share in it).
      if (marker !== undefined) this.stmt.marker.run(JSON.stringify({ seq: marker, ids }));
      return ids;
    });
  }

  /**
   * Writes `items` in one transaction; the share row ids, in order. Throws (nothing written) on
   * failure. `marker`: the writer thread's batch number, kept with the ids (lastBatch).
   */
  write(items: WriteItem[], marker?: number): number[] {
    const pending: Pending = { accounts: new Map(), jobs: new Map(), jobRows: new Map() };
    // IMMEDIATE: the write lock first (waiting on the busy timeout), never a read upgraded late,
    // which fails at once when another connection wrote meanwhile.
    const ids = (this.transaction as unknown as { immediate: ShareWriter["transaction"] }).immediate(items, pending, marker);
    // Ids of rows created in the transaction are only real once it committed.
    for (const [k, v] of pending.accounts) this.accountIds.set(k, v);
    if (this.jobIds.size + pending.jobs.size > JOB_CACHE_LIMIT) this.jobIds.clear();
    for (const [k, v] of pending.jobs) this.jobIds.set(k, v);
    for (const [row, v] of pending.jobRows) this.jobIdsByRow.set(row, v);
    return ids;
  }

  private insertShare(r: ShareRow, pending: Pending): number {
    const info = this.stmt.insertShare.run(this.account(r.address, pending.accounts), r.whole, r.frac, this.job(r.job, pending), r.worker, r.extranonce1, r.extranonce2, r.version, r.ntime, r.nonce, r.hash, r.isBlock ? 1 : 0, r.time);
    return Number(info.lastInsertRowid);
  }

  private account(address: string, pending: Map<string, number>): number {
    const cached = this.accountIds.get(address) ?? pending.get(address);
    if (cached !== undefined) return cached;
    this.stmt.insertAccount.run(address);
    const id = this.stmt.accountId.get(address) as number;
    pending.set(address, id);
    return id;
  }

  private job(job: JobRow, pending: Pending): number {
    const byRow = this.jobIdsByRow.get(job) ?? pending.jobRows.get(job);
    if (byRow !== undefined) return byRow;
    const key = jobKey(job);
    const committed = this.jobIds.get(key);
    if (committed !== undefined) {
      this.jobIdsByRow.set(job, committed);
      return committed;
    }
    let id = pending.jobs.get(key);
    if (id === undefined) {
      const info = this.stmt.insertJob.run(job.jobId, job.height, job.prevhash, job.nbits, job.coinb1, job.coinb2, job.merkleBranch.join(","));
      id = Number(info.lastInsertRowid);
      pending.jobs.set(key, id);
    }
    pending.jobRows.set(job, id);
    return id;
  }
}

// ---- the thread -------------------------------------------------------------------------------

const WRITER_MARK = "pplns-sqlite-share-writer";
/** Fields of a share row after its job's index, in this order. */
const ROW_FIELDS = ["address", "whole", "frac", "worker", "extranonce1", "extranonce2", "version", "ntime", "nonce", "hash", "isBlock", "time"] as const;
const STRIDE = 1 + ROW_FIELDS.length;

/** Items in transit to the thread: each job once, a flat row per item, blocks beside (null for shares). */
interface Batch {
  jobs: JobRow[];
  rows: unknown[];
  blocks: (BlockRow | null)[];
}

export function encodeItems(items: WriteItem[]): Batch {
  const jobs: JobRow[] = [];
  const index = new Map<JobRow, number>();
  const rows: unknown[] = [];
  const blocks: (BlockRow | null)[] = [];
  for (const item of items) {
    const r = item.row;
    let j = index.get(r.job);
    if (j === undefined) {
      j = jobs.length;
      index.set(r.job, j);
      jobs.push(r.job);
    }
    rows.push(j);
    for (const f of ROW_FIELDS) rows.push(r[f]);
    blocks.push(item.kind === "block" ? item.block : null);
  }
  return { jobs, rows, blocks };
}

export function decodeItems(b: Batch): WriteItem[] {
  const out: WriteItem[] = [];
  for (let i = 0, k = 0; i < b.rows.length; i += STRIDE, k++) {
    const row = { job: b.jobs[b.rows[i] as number] } as Record<string, unknown>;
    for (let f = 0; f < ROW_FIELDS.length; f++) row[ROW_FIELDS[f]] = b.rows[i + 1 + f];
    const block = b.blocks[k];
    out.push(block === null ? { kind: "share", row: row as unknown as ShareRow } : { kind: "block", block, row: row as unknown as ShareRow });
  }
  return out;
}

type ThreadReply = { seq: number; ids: number[] } | { seq: number; error: string } | { ready: true } | { closed: true };

/**
 * The writer on its own thread and connection to `file` (migrated already by the main connection).
 * `write` resolves with the row ids once the thread's transaction committed, rejects with its
 * error otherwise; a thread that dies fails what it had and is started again for the next batch.
 */
export class ShareWriterThread {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (ids: number[]) => void; reject: (e: Error) => void }>();

  /**
   * `committed(seq)`: the ids of batch `seq` if it committed (committedBatch on the store's
   * connection), asked when the thread ends with a batch unanswered.
   */
  constructor(
    private readonly file: string,
    private readonly synchronous: "full" | "normal",
    private readonly committed: (seq: number) => number[] | undefined,
  ) {}

  /** Starts the thread (also done by the first write). */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    // Required lazily: thread.ts is only needed where a thread is started.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startModuleWorker } = require("../epochs/thread") as typeof import("../epochs/thread");
    const worker = startModuleWorker(__filename, { mark: WRITER_MARK, file: this.file, synchronous: this.synchronous });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (m: ThreadReply) => {
        if ("ready" in m) return resolve();
        if ("closed" in m) return;
        const w = this.waiting.get(m.seq);
        if (!w) return;
        this.waiting.delete(m.seq);
        if (this.waiting.size === 0) worker.unref();
        if ("ids" in m) w.resolve(m.ids);
        else w.reject(new Error(m.error));
      });
      const fail = (err: Error) => {
        reject(err);
        if (this.worker === worker) {
          this.worker = null;
          this.ready = null;
        }
        // A batch the thread committed but did not answer is answered from its marker; one it did
        // not commit fails (and may be written again).
        for (const [seq, w] of this.waiting) {
          let ids: number[] | undefined;
          try {
            ids = this.committed(seq);
          } catch {
            ids = undefined;
          }
          if (ids !== undefined) w.resolve(ids);
          else w.reject(err);
        }
        this.waiting.clear();
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`share writer thread ended (code ${code})`)));
    });
    return this.ready;
  }

  async write(items: WriteItem[]): Promise<number[]> {
    await this.start();
    const seq = ++this.seq;
    const batch = encodeItems(items);
    return new Promise<number[]>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      // Kept alive while a batch is unanswered (the thread is unref'd otherwise).
      this.worker!.ref();
      this.worker!.postMessage({ seq, batch });
    });
  }

  /** Closes the thread's connection and ends it (after the caller drained its writes). */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    this.ready = null;
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.once("exit", () => resolve());
      worker.postMessage({ close: true });
    });
  }
}

function serveThread(): void {
  const { file, synchronous } = workerData as { file: string; synchronous: "full" | "normal" };
  const db = new Database(path.resolve(file));
  // Waits for the main connection's write transactions (an epoch's ledger chunks) instead of failing.
  db.pragma("busy_timeout = 60000");
  applyWriterPragmas(db, synchronous);
  const writer = new ShareWriter(db);
  parentPort!.on("message", (m: { seq: number; batch: Batch } | { close: true }) => {
    if ("close" in m) {
      db.close();
      parentPort!.postMessage({ closed: true });
      process.exit(0);
    }
    try {
      parentPort!.postMessage({ seq: m.seq, ids: writer.write(decodeItems(m.batch), m.seq) });
    } catch (err) {
      parentPort!.postMessage({ seq: m.seq, error: (err as Error).message });
    }
  });
  parentPort!.postMessage({ ready: true });
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === WRITER_MARK) serveThread();
