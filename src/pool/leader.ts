/**
 * One leader among several processes of a pool, elected through PostgreSQL (issue 15): whoever
 * holds a session-level advisory lock is the committer and payout relay; the others stand by
 * and try again every `retryMs`. The lock is PostgreSQL's own (`pg_try_advisory_lock`): held by
 * the leader's session, released by the server when it sees that session end — at once for a
 * clean stop, a crash or a kill -9 (the kernel closes the socket), after the server's TCP
 * keepalive for a dead machine or a cut network (docs/deployment.md) — and a standby takes over
 * within about `retryMs` of that. Needs a real session (no pooler in transaction mode).
 *
 * Emits "elected" when this process becomes the leader and "lost" when its connection fails while
 * it leads (it must stop acting at once: a standby may already hold the lock).
 */
import { EventEmitter } from "node:events";
import pg from "pg";
import { errorText, type ServiceLogger } from "../log";

/** The advisory lock's first key: this project's lock class (the second is the hashed name). */
const LOCK_CLASS = 0x504c4e53; // "PLNS"

export interface LeadershipOptions {
  connectionString: string;
  /** Names what is led (e.g. the committer of one contract on one chain): one leader per name. */
  name: string;
  /** How often a standby tries the lock, milliseconds. */
  retryMs: number;
  logger: ServiceLogger;
}

export class Leadership extends EventEmitter {
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private leading = false;
  private attempt?: Promise<void>;

  constructor(private readonly opts: LeadershipOptions) {
    super();
  }

  /** True while this process holds the lock. */
  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Gives the lock up (if held) and stops trying. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.attempt;
    const client = this.client;
    this.client = undefined;
    this.leading = false;
    if (client) await client.end().catch(() => undefined);
  }

  /** One retry timer at a time: a drop while a retry is pending must not start a second loop. */
  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      if (this.attempt) return; // the attempt in flight schedules the next one
      this.attempt = this.try().finally(() => (this.attempt = undefined));
    }, ms);
  }

  private async try(): Promise<void> {
    if (this.stopped || this.leading) return;
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.opts.connectionString, keepAlive: true, keepAliveInitialDelayMillis: 5_000 });
        client.on("error", (err) => this.dropped(client, err));
        client.on("end", () => this.dropped(client, new Error("connection ended")));
        await client.connect();
        this.client = client;
      }
      const client = this.client;
      const r = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked", [LOCK_CLASS, this.opts.name]);
      if (r.rows[0]?.locked && (this.stopped || client !== this.client)) {
        // Stopped, or the connection was replaced meanwhile: this lock must not be held by nobody.
        await client.end().catch(() => undefined);
        return;
      }
      if (r.rows[0]?.locked) {
        this.leading = true;
        this.opts.logger.info({ lock: this.opts.name }, "elected: this process is the leader");
        this.emit("elected");
        return; // held until the connection ends
      }
    } catch (err) {
      this.opts.logger.warn({ err: errorText(err) }, "leader election: PostgreSQL did not answer; trying again");
      const client = this.client;
      this.client = undefined;
      await client?.end().catch(() => undefined);
    }
    this.schedule(this.opts.retryMs);
  }

  private dropped(client: pg.Client, err: Error): void {
    if (client !== this.client) return;
    this.client = undefined;
    const was = this.leading;
    this.leading = false;
    if (this.stopped) return;
    if (was) {
      this.opts.logger.error({ err: errorText(err) }, "leader election: lost the connection that held the lock; standing by");
      this.emit("lost");
    }
    this.schedule(this.opts.retryMs);
  }
}

/**
 * Takes the advisory lock `name` once, on a connection of its own held until `release()`:
 * undefined when another session holds it (say, a second process claiming what only one may run).
 */
export async function holdExclusive(connectionString: string, name: string): Promise<{ release(): Promise<void> } | undefined> {
  const client = new pg.Client({ connectionString, keepAlive: true });
  client.on("error", () => undefined); // the lock goes with the connection; nothing to do here
  await client.connect();
  try {
    const r = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked", [LOCK_CLASS, name]);
    if (!r.rows[0]?.locked) {
      await client.end();
      return undefined;
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return { release: () => client.end() };
}
