/**
 * Group commit: items that arrive while a transaction is being prepared or committed are written
 * together in the next one, and every item's promise settles only after its transaction
 * committed (or failed). One transaction at a time, in arrival order.
 */

export interface GroupCommitOptions {
  /** Most items per transaction. */
  maxBatch: number;
  /** Extra wait before the first transaction of a burst, to gather more items (0 = next tick). */
  delayMs: number;
}

/** Writes a batch in one transaction and returns one result per item, in order. */
export type CommitFn<T, R> = (items: T[]) => R[] | Promise<R[]>;

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<T, R> {
  private queue: Pending<T, R>[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Transactions committed and items written, for metrics and benchmarks. */
  commits = 0;
  items = 0;
  /** Milliseconds spent inside transactions (writing and committing). */
  commitMs = 0;

  constructor(
    private readonly commit: CommitFn<T, R>,
    private readonly options: GroupCommitOptions,
  ) {
    if (!(options.maxBatch >= 1)) throw new RangeError("maxBatch must be at least 1");
  }

  push(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when no transaction is being committed (those queued may start right after). */
  whenIdle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Resolves when everything pushed so far has been committed or rejected. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running || this.scheduled) {
      if (this.running) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.running = this.flush().finally(() => {
        this.running = null;
        if (this.queue.length > 0) this.schedule();
      });
    };
    if (this.options.delayMs > 0) setTimeout(run, this.options.delayMs);
    else setImmediate(run);
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    const started = performance.now();
    try {
      const results = await this.commit(batch.map((p) => p.item));
      this.commitMs += performance.now() - started;
      this.commits++;
      this.items += batch.length;
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // One bad item must not fail its neighbours: retry each in its own transaction.
      for (const p of batch) {
        try {
          const [r] = await this.commit([p.item]);
          this.commits++;
          this.items++;
          p.resolve(r);
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }
}
