/**
 * Issue 16: one abusive connection must not slow anyone else down. Every test runs the real
 * server on 127.0.0.1 and real TCP clients; hostile clients bind other loopback addresses
 * (127.0.0.2, …) so that per-address rules can be told apart from the honest miner's.
 */
import { expect } from "chai";
import net from "node:net";
import { difficultyToTarget } from "../src/pow";
import { LineFramer } from "../src/stratum/framing";
import { connectionCap, descriptorBudget, TokenBucket } from "../src/stratum/limits";
import { resolveConfig } from "../src/stratum/config";
import { ConfigError, loadConfig } from "../src/config";
import { ADDR1, ADDR2, mine, sleep, startPool, until, type Notification, type Pool } from "./stratum.helpers";

/** A raw line client bound to a chosen local address: records every line, answers requests by id. */
class Conn {
  readonly socket: net.Socket;
  readonly lines: string[] = [];
  readonly notes: Notification[] = [];
  closed = false;
  private nextId = 1;
  private readonly waiting = new Map<number, (msg: { result: unknown; error: unknown }) => void>();
  private readonly framer = new LineFramer(1 << 20);

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) =>
      this.framer.push(chunk, {
        onLine: (line) => {
          this.lines.push(line);
          const msg = JSON.parse(line);
          if (typeof msg.method === "string") this.notes.push({ method: msg.method, params: msg.params });
          else if (typeof msg.id === "number") this.waiting.get(msg.id)?.(msg);
        },
      }),
    );
    socket.on("error", () => {});
    socket.on("close", () => (this.closed = true));
  }

  static open(port: number, localAddress = "127.0.0.1"): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port, localAddress, noDelay: true });
      s.once("connect", () => resolve(new Conn(s)));
      s.once("error", reject);
    });
  }

  request(method: string, params: unknown[], timeoutMs = 5000): Promise<{ result: unknown; error: unknown; ms: number }> {
    const id = this.nextId++;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no reply in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, (msg) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve({ ...msg, ms: performance.now() - t0 });
      });
      this.socket.write(JSON.stringify({ id, method, params }) + "\n");
    });
  }

  errors(): string[] {
    return this.lines.map((l) => JSON.parse(l)).filter((m) => Array.isArray(m.error)).map((m) => m.error[1] as string);
  }

  whenClosed(timeoutMs = 10_000): Promise<void> {
    return until(() => this.closed, timeoutMs, "the server to close the connection");
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Subscribes and authorizes; resolves with the connection, extranonce1 and the first job. */
async function handshakeFrom(port: number, localAddress: string, user: string) {
  const c = await Conn.open(port, localAddress);
  const sub = await c.request("mining.subscribe", ["abuse-test/1"]);
  const extranonce1 = (sub.result as [unknown, string])[1];
  const auth = await c.request("mining.authorize", [user, "x"]);
  if (auth.result !== true) throw new Error(`authorize: ${JSON.stringify(auth.error)}`);
  await until(() => c.notes.some((n) => n.method === "mining.notify"), 5000, "first job");
  return { c, extranonce1 };
}

/** Mines one real share on the connection's latest job and submits it; resolves with the reply. */
async function honestShare(h: { c: Conn; extranonce1: string }, user: string, n: number) {
  const notify = [...h.c.notes].reverse().find((x) => x.method === "mining.notify")!;
  const diff = String([...h.c.notes].reverse().find((x) => x.method === "mining.set_difficulty")!.params[0]);
  const target = difficultyToTarget(diff);
  const share = mine(user, notify, h.extranonce1, n.toString(16).padStart(8, "0"), (v) => v <= target);
  return h.c.request("mining.submit", share.params);
}

/** Writes `line` over and over as fast as the socket takes it, until closed or `ms` elapse; resolves with lines written. */
async function flood(c: Conn, line: string, ms: number): Promise<number> {
  const batch = Buffer.from(line.repeat(Math.max(1, Math.floor(65536 / line.length))));
  const perBatch = Math.max(1, Math.floor(65536 / line.length));
  const end = Date.now() + ms;
  let written = 0;
  while (!c.closed && Date.now() < end) {
    const ok = c.socket.write(batch);
    written += perBatch;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          c.socket.off("drain", done);
          c.socket.off("close", done);
          resolve();
        };
        const t = setTimeout(done, 50);
        c.socket.once("drain", done);
        c.socket.once("close", done);
      });
    } else if (written % (perBatch * 8) === 0) {
      await new Promise((r) => setImmediate(r));
    }
  }
  return written;
}

/** Pings every `everyMs` until stopped; returns the round trips (ms) and how many went unanswered. */
function probe(c: Conn, everyMs = 20) {
  const rtts: number[] = [];
  let failures = 0;
  let stop = false;
  const done = (async () => {
    while (!stop) {
      try {
        rtts.push((await c.request("mining.ping", [], 3000)).ms);
      } catch {
        failures++;
      }
      await sleep(everyMs);
    }
  })();
  return {
    rtts,
    async stop() {
      stop = true;
      await done;
      return { rtts, failures, p99: percentile(rtts, 99), max: Math.max(...rtts) };
    },
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const EASY = { startDifficulty: "0.0000001", minDifficulty: "0.0000001" };

describe("stratum: abuse (issue 16)", function () {
  this.timeout(120_000);
  let pool: Pool | undefined;
  const conns: Conn[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) c.destroy();
    await pool?.close();
    pool = undefined;
  });

  describe("budgets (units)", () => {
    it("a token bucket refills at its rate, caps at its capacity, and a charge can run it into debt", () => {
      const b = new TokenBucket(100, 10, 0);
      for (let i = 0; i < 10; i++) expect(b.take(1, 0)).to.equal(true);
      expect(b.take(1, 0)).to.equal(false);
      expect(b.take(1, 10)).to.equal(true); // 10 ms at 100/s = 1 token
      expect(b.available(10_000)).to.equal(10); // never above capacity
      b.charge(25, 10_000);
      expect(b.available(10_000)).to.equal(-10); // debt bounded by the capacity
      expect(b.take(1, 10_100)).to.equal(false); // 100 ms refills 10: back to 0, still nothing to take
    });

    it("rejects limit settings that would disable a budget, naming the setting", () => {
      expect(() => resolveConfig({ limits: { messagesPerSecond: 0 } })).to.throw(/stratum\.limits\.messagesPerSecond/);
      expect(() => resolveConfig({ limits: { maxConnectionsPerAddress: 0.5 } })).to.throw(/stratum\.limits\.maxConnectionsPerAddress/);
      expect(() => resolveConfig({ limits: { messageBurst: 3, rejectCost: 4 } })).to.throw(/messageBurst must be at least 1 \+ rejectCost/);
      expect(() => resolveConfig({ bans: { banMs: -1 } })).to.throw(/stratum\.bans\.banMs/);
      expect(() => resolveConfig({ maxConnections: 0 })).to.throw(/stratum\.maxConnections/);
    });

    it("the pool's config takes the limits, from the file or the environment, and names a bad one", () => {
      const c = loadConfig({ env: { POOL_STRATUM_MAX_PER_ADDRESS: "64", POOL_STRATUM_MAX_CONNECTIONS: "1000" }, overrides: { stratum: { limits: { messagesPerSecond: 20 } } } });
      expect(c.stratum.maxConnections).to.equal(1000);
      expect(c.stratum.limits).to.deep.equal({ maxConnectionsPerAddress: 64, connectsPerSecondPerAddress: 100, messagesPerSecond: 20, messageBurst: 500, fdReserve: 256 });
      expect(() => loadConfig({ env: {}, overrides: { stratum: { limits: { messageBurst: 2 } } } })).to.throw(ConfigError, "stratum.limits.messageBurst");
      expect(() => loadConfig({ env: { POOL_STRATUM_MAX_CONNECTIONS: "-5" } })).to.throw(ConfigError, "stratum.maxConnections");
      expect(() => loadConfig({ env: {}, overrides: { stratum: { limits: { banana: 1 } } } })).to.throw(ConfigError, "stratum.limits.banana: unknown setting");
    });

    it("the connection cap leaves fdReserve descriptors free below the process's real RLIMIT_NOFILE", () => {
      const budget = descriptorBudget();
      expect(budget, "/proc/self/limits is readable on Linux").to.not.equal(null);
      expect(budget!.open).to.be.greaterThan(2);
      expect(connectionCap(1_000_000, 256, budget)).to.equal(Math.max(0, budget!.limit - budget!.open - 256));
      expect(connectionCap(10, 256, budget)).to.equal(Math.min(10, Math.max(0, budget!.limit - budget!.open - 256)));
      expect(connectionCap(10, 256, null)).to.equal(10);
    });
  });

  describe("a connection flooding at its maximum rate is throttled, then closed, while an honest miner keeps its replies", () => {
    const floods: [string, (jobId: string) => string][] = [
      ["mining.submit with unknown job ids", () => `{"id":7,"method":"mining.submit","params":["${ADDR2}.flood","ffffffff","00000000","65000000","00000000"]}\n`],
      ["mining.submit with malformed params", (jobId) => `{"id":7,"method":"mining.submit","params":["${ADDR2}.flood","${jobId}","zz","65000000","00000000"]}\n`],
      ["mining.ping", () => `{"id":7,"method":"mining.ping","params":[]}\n`],
      ["unknown methods", () => `{"id":7,"method":"mining.frobnicate","params":[1,2,3]}\n`],
      // Empty lines are never answered, but each is a message for the budgets.
      ["empty lines", () => "\n"],
    ];
    for (const [name, lineFor] of floods) {
      it(name, async () => {
        pool = await startPool({ ...EASY, bans: { enabled: true } });
        const honest = await handshakeFrom(pool.port, "127.0.0.1", `${ADDR1}.honest`);
        conns.push(honest.c);
        const quiet = probe(honest.c);
        await sleep(300);
        const before = await quiet.stop();

        const flooder = await handshakeFrom(pool.port, "127.0.0.2", `${ADDR2}.flood`);
        conns.push(flooder.c);
        const jobId = String(flooder.c.notes.find((n) => n.method === "mining.notify")!.params[0]);
        const p = probe(honest.c);
        const t0 = Date.now();
        const written = await flood(flooder.c, lineFor(jobId), 15_000);
        await flooder.c.whenClosed();
        const closedAfterMs = Date.now() - t0;
        await sleep(200);
        const during = await p.stop();

        const st = pool.server.stats();
        // Closed for its message rate (or, for invalid shares, for those: whichever budget ran out first).
        expect((st.disconnects["rate-limit"] ?? 0) + (st.disconnects.banned ?? 0), "closed for abuse").to.equal(1);
        expect(closedAfterMs, "closed within seconds of starting").to.be.below(10_000);
        expect(flooder.c.errors()).to.include("rate limit: more than 100 messages/s; messages are being dropped");
        expect(flooder.c.errors().filter((e) => e.startsWith("disconnected: "))).to.have.length(1);
        // It got at most its burst (plus a little refill) answered, out of everything it sent.
        expect(flooder.c.lines.length).to.be.below(800);
        expect(written).to.be.greaterThan(st.droppedMessages);
        expect(st.droppedMessages).to.be.at.least(500);
        // The honest miner: every ping answered, a tail that stays in milliseconds.
        expect(during.failures).to.equal(0);
        expect(during.rtts.length).to.be.at.least(5);
        expect(during.max, `honest round trips during the flood (quiet p99 ${before.p99.toFixed(1)} ms)`).to.be.below(250);
        const share = await honestShare(honest, `${ADDR1}.honest`, 1);
        expect(share.error).to.equal(null);
        expect(share.result).to.equal(true);
        // One offence against 127.0.0.2 is not enough to refuse the address.
        expect(st.addressBans).to.equal(0);
      });
    }

    it("an honest miner's answers that reject (unknown jobs after a reconnect) cost tokens but never close it", async () => {
      pool = await startPool({ ...EASY, bans: { enabled: true }, limits: { messagesPerSecond: 5, messageBurst: 50, rejectCost: 4 } });
      const h = await handshakeFrom(pool.port, "127.0.0.1", `${ADDR1}.stale`);
      conns.push(h.c);
      const jobId = String(h.c.notes.find((n) => n.method === "mining.notify")!.params[0]);
      // Ten answers that reject (5 tokens each) empty the 50-token burst but drop nothing.
      for (let i = 0; i < 10; i++) {
        const r = await h.c.request("mining.submit", [`${ADDR1}.stale`, "beef", "00000000", "65000000", i.toString(16).padStart(8, "0")]);
        expect((r.error as unknown[])[0]).to.equal(21);
      }
      await sleep(1100); // 5 tokens back
      const ok = await h.c.request("mining.submit", [`${ADDR1}.stale`, jobId, "zz", "65000000", "00000000"]);
      expect((ok.error as unknown[])[0]).to.equal(20); // answered (bad params), not dropped
      expect(pool.server.stats().droppedMessages).to.equal(0);
      expect(h.c.closed).to.equal(false);
    });

    it("one connection's pipelined burst is handled in slices: others are answered between them", async () => {
      pool = await startPool({ ...EASY, limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000, maxLinesPerTurn: 32 } });
      const honest = await handshakeFrom(pool.port, "127.0.0.1", `${ADDR1}.honest`);
      const burst = await Conn.open(pool.port, "127.0.0.3");
      conns.push(honest.c, burst);
      // 20 000 pings in one write: without slicing the server answers them all before anyone else.
      const order: string[] = [];
      burst.socket.on("data", () => order.push("burst"));
      burst.socket.write(`{"id":1,"method":"mining.ping","params":[]}\n`.repeat(20_000));
      await until(() => order.length > 0, 5000, "first burst replies");
      const r = await honest.c.request("mining.ping", []);
      order.push("honest");
      expect(r.result).to.equal("pong");
      await until(() => burst.lines.length === 20_000, 20_000, "every burst ping answered");
      // The honest reply arrived while the burst was still being answered.
      expect(order.lastIndexOf("burst")).to.be.greaterThan(order.indexOf("honest"));
      expect(r.ms).to.be.below(250);
    });
  });

  describe("a client that does not read its replies", () => {
    it("stops being read at the output bound, is closed when it stays there, and the server keeps none of what it refused", async () => {
      pool = await startPool({
        ...EASY,
        pauseWriteBufferBytes: 16 * 1024,
        maxWriteBufferBytes: 1024 * 1024,
        sweepIntervalMs: 100,
        // A budget this client never exceeds: back-pressure alone must stop it.
        limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000, slowReaderTimeoutMs: 1500 },
      });
      const honest = await handshakeFrom(pool.port, "127.0.0.1", `${ADDR1}.honest`);
      const c = await Conn.open(pool.port, "127.0.0.4");
      conns.push(honest.c, c);
      c.socket.pause(); // never reads
      const p = probe(honest.c);
      const ping = `{"id":1,"method":"mining.ping","params":[]}\n`;
      const writer = flood(c, ping, 20_000);
      await until(() => [...pool!.server.sessions].some((s) => s.ip === "127.0.0.4" && s.outputPausedAt !== 0), 15_000, "the server to stop reading");
      const session = [...pool.server.sessions].find((s) => s.ip === "127.0.0.4")!;
      const readAtPause = session.socket.bytesRead;
      const pendingAtPause = session.socket.writableLength;
      await sleep(800);
      // Not one more byte read from it while its output is not read; output stays bounded.
      expect(session.socket.bytesRead).to.equal(readAtPause);
      expect(session.socket.writableLength).to.equal(pendingAtPause);
      expect(pendingAtPause).to.be.at.most(16 * 1024 + 1024);
      await c.whenClosed(10_000);
      const written = await writer;
      const during = await p.stop();
      expect(pool.server.stats().disconnects["slow-reader"]).to.equal(1);
      expect(session.socket.destroyed).to.equal(true);
      // What it sent beyond what the server read stayed in the kernel, not in the server.
      expect(written * ping.length).to.be.greaterThan(readAtPause);
      expect(during.failures).to.equal(0);
      expect(during.max).to.be.below(250);
    });

    it("20 non-readers sending pings at the default limits are all closed and the honest miner keeps mining", async () => {
      pool = await startPool({ ...EASY, bans: { enabled: true }, sweepIntervalMs: 100 });
      const honest = await handshakeFrom(pool.port, "127.0.0.1", `${ADDR1}.honest`);
      conns.push(honest.c);
      const readers = await Promise.all(Array.from({ length: 20 }, (_, i) => Conn.open(pool!.port, `127.0.1.${i + 1}`)));
      conns.push(...readers);
      for (const r of readers) r.socket.pause();
      const p = probe(honest.c);
      const floods = readers.map((r) => flood(r, `{"id":1,"method":"mining.ping","params":[]}\n`, 15_000));
      await Promise.all(readers.map((r) => r.whenClosed(15_000)));
      await Promise.all(floods);
      const during = await p.stop();
      const d = pool.server.stats().disconnects;
      expect((d["rate-limit"] ?? 0) + (d["slow-reader"] ?? 0)).to.equal(20);
      expect(pool.server.sessions.size).to.equal(1);
      expect(during.failures).to.equal(0);
      expect((await honestShare(honest, `${ADDR1}.honest`, 2)).result).to.equal(true);
    });
  });

  describe("slow senders", () => {
    it("a connection that sends one byte at a time after authorizing is closed when its line stays incomplete", async () => {
      pool = await startPool({ ...EASY, sweepIntervalMs: 50, limits: { lineTimeoutMs: 600 } });
      const h = await handshakeFrom(pool.port, "127.0.0.5", `${ADDR1}.loris`);
      conns.push(h.c);
      const line = `{"id":9,"method":"mining.ping","params":[]}`;
      const t0 = Date.now();
      for (let i = 0; i < line.length && !h.c.closed; i++) {
        h.c.socket.write(line[i]);
        await sleep(50);
      }
      await h.c.whenClosed(3000);
      expect(Date.now() - t0).to.be.below(1500);
      expect(h.c.errors()).to.include("incomplete line: no newline within 600 ms");
      expect(pool.server.stats().disconnects["line-timeout"]).to.equal(1);
    });

    it("complete lines, however slowly they come, never trip the incomplete-line timeout", async () => {
      pool = await startPool({ ...EASY, sweepIntervalMs: 50, limits: { lineTimeoutMs: 600 } });
      const h = await handshakeFrom(pool.port, "127.0.0.5", `${ADDR1}.slowbutok`);
      conns.push(h.c);
      for (let i = 0; i < 4; i++) {
        expect((await h.c.request("mining.ping", [])).result).to.equal("pong");
        await sleep(400);
      }
      expect(h.c.closed).to.equal(false);
    });
  });

  describe("connection caps", () => {
    it("per address: the connection over maxConnectionsPerAddress is refused with the reason, other addresses are not", async () => {
      pool = await startPool({ ...EASY, limits: { maxConnectionsPerAddress: 5 } });
      const five = await Promise.all(Array.from({ length: 5 }, () => Conn.open(pool!.port, "127.0.0.6")));
      conns.push(...five);
      for (const c of five) expect((await c.request("mining.ping", [])).result).to.equal("pong");
      const sixth = await Conn.open(pool.port, "127.0.0.6");
      conns.push(sixth);
      await sixth.whenClosed(3000);
      expect(sixth.errors()).to.deep.equal(["too many connections from your address (limit 5)"]);
      const other = await Conn.open(pool.port, "127.0.0.7");
      conns.push(other);
      expect((await other.request("mining.ping", [])).result).to.equal("pong");
      // A slot freed is a slot available.
      five[0].destroy();
      await until(() => pool!.server.limiter.openFrom("127.0.0.6") === 4, 3000, "release");
      const again = await Conn.open(pool.port, "127.0.0.6");
      conns.push(again);
      expect((await again.request("mining.ping", [])).result).to.equal("pong");
      expect(pool.server.stats().refused["too-many-from-address"]).to.equal(1);
    });

    it("total: maxConnections holds whatever the addresses", async () => {
      pool = await startPool({ ...EASY, maxConnections: 8 });
      const held = await Promise.all(Array.from({ length: 8 }, (_, i) => Conn.open(pool!.port, `127.0.2.${i + 1}`)));
      conns.push(...held);
      await until(() => pool!.server.sessions.size === 8, 3000, "8 sessions");
      const ninth = await Conn.open(pool.port, "127.0.2.100");
      conns.push(ninth);
      await ninth.whenClosed(3000);
      expect(ninth.errors()[0]).to.match(/^server full \(8 connections\)/);
      expect(pool.server.sessions.size).to.equal(8);
      expect(pool.server.stats().connectionCap).to.equal(8);
    });

    it("a connection flood from one address is limited to its connect rate", async () => {
      pool = await startPool({ ...EASY, limits: { connectsPerSecondPerAddress: 20, connectBurstPerAddress: 30 } });
      const t0 = Date.now();
      const all = await Promise.all(Array.from({ length: 150 }, () => Conn.open(pool!.port, "127.0.0.8")));
      conns.push(...all);
      const elapsed = (Date.now() - t0) / 1000;
      const refusedNow = () => all.filter((c) => c.errors().some((e) => e.startsWith("too many new connections from your address")));
      await until(() => refusedNow().length + pool!.server.stats().totalConnections === 150, 5000, "every connection admitted or refused");
      const accepted = pool.server.stats().totalConnections;
      expect(accepted).to.be.at.least(30);
      expect(accepted).to.be.at.most(30 + Math.ceil(20 * (elapsed + 0.5)) + 1);
      expect(pool.server.stats().refused["connect-rate"]).to.equal(150 - accepted);
      // The refused ones were closed by the server, the admitted ones are open.
      await until(() => refusedNow().every((c) => c.closed), 3000, "refused connections closed");
      // Another address still connects at once.
      const other = await Conn.open(pool.port, "127.0.0.9");
      conns.push(other);
      expect((await other.request("mining.ping", [])).result).to.equal("pong");
    });
  });

  describe("bans hit the offender, not its neighbours", () => {
    it("an honest miner behind the same address as a repeat offender keeps mining; new connections are refused briefly, with the reason", async () => {
      pool = await startPool({
        ...EASY,
        bans: { enabled: true, maxOffencesPerAddress: 3, banMs: 1500, windowMs: 60_000 },
        limits: { maxDroppedMessages: 50 },
      });
      const nat = "127.0.0.10";
      const honest = await handshakeFrom(pool.port, nat, `${ADDR1}.farm1`);
      conns.push(honest.c);
      expect((await honestShare(honest, `${ADDR1}.farm1`, 1)).result).to.equal(true);
      for (let i = 0; i < 3; i++) {
        const bad = await Conn.open(pool.port, nat);
        conns.push(bad);
        await flood(bad, `{"id":1,"method":"mining.frobnicate","params":[]}\n`, 10_000);
        await bad.whenClosed();
        expect(bad.errors()).to.include("disconnected: message rate limit exceeded (100/s, burst 500)");
      }
      const st = pool.server.stats();
      expect(st.bans).to.equal(3);
      expect(st.addressBans).to.equal(1);
      // The honest connection from the banned address was never touched.
      expect(honest.c.closed).to.equal(false);
      const share = await honestShare(honest, `${ADDR1}.farm1`, 2);
      expect(share.error).to.equal(null);
      expect(share.result).to.equal(true);
      // A new connection from the address is told why, and for how long.
      const refused = await Conn.open(pool.port, nat);
      conns.push(refused);
      await refused.whenClosed(3000);
      expect(refused.errors()[0]).to.match(/^address refused for [12] s after repeated abuse \(message rate limit exceeded/);
      // Short: after banMs the address is welcome again.
      await sleep(1600);
      const back = await handshakeFrom(pool.port, nat, `${ADDR1}.farm2`);
      conns.push(back.c);
      expect((await honestShare(back, `${ADDR1}.farm2`, 3)).result).to.equal(true);
    });

    it("a refused connection from a banned address gets the reason, is not read, and is held open up to refusalHoldMs (at most maxHeldRefusals at once)", async () => {
      pool = await startPool({
        ...EASY,
        bans: { enabled: true, maxOffencesPerAddress: 1, banMs: 60_000, windowMs: 60_000 },
        limits: { maxDroppedMessages: 50, refusalHoldMs: 600, maxHeldRefusals: 2 },
      });
      const nat = "127.0.0.12";
      const bad = await Conn.open(pool.port, nat);
      conns.push(bad);
      await flood(bad, `{"id":1,"method":"mining.frobnicate","params":[]}\n`, 10_000);
      await bad.whenClosed();
      expect(pool.server.stats().addressBans).to.equal(1);
      const opened = Date.now();
      const held = [await Conn.open(pool.port, nat), await Conn.open(pool.port, nat)];
      conns.push(...held);
      // A third one finds the two slots taken: it is closed at once, with the same reason.
      const third = await Conn.open(pool.port, nat);
      conns.push(third);
      await third.whenClosed(3000);
      expect(third.errors()[0]).to.match(/^address refused for \d+ s after repeated abuse/);
      expect(held.every((c) => !c.closed), "both held connections still open").to.equal(true);
      for (const c of held) {
        await until(() => c.errors().length > 0, 2000, "the reason");
        expect(c.errors()[0]).to.match(/^address refused for \d+ s after repeated abuse/);
      }
      // What a held connection sends is never read, let alone answered.
      held[0].socket.write(`{"id":9,"method":"mining.ping","params":[]}\n`);
      for (const c of held) await c.whenClosed(3000);
      expect(Date.now() - opened).to.be.at.least(550);
      expect(held[0].lines.some((l) => JSON.parse(l).id === 9)).to.equal(false);
      expect(pool.server.stats().refused.banned).to.equal(3);
    });

    it("protocol strikes close only the striking connection, with the reason", async () => {
      pool = await startPool({ ...EASY, bans: { enabled: true, maxStrikes: 3 } });
      const nat = "127.0.0.11";
      const honest = await handshakeFrom(pool.port, nat, `${ADDR1}.farm`);
      const bad = await Conn.open(pool.port, nat);
      conns.push(honest.c, bad);
      for (let i = 0; i < 3; i++) bad.socket.write("not json\n");
      await bad.whenClosed();
      expect(bad.errors()).to.include("disconnected: too many protocol errors (last: malformed)");
      expect(pool.server.stats().addressBans).to.equal(0);
      expect((await honest.c.request("mining.ping", [])).result).to.equal("pong");
      const next = await Conn.open(pool.port, nat);
      conns.push(next);
      expect((await next.request("mining.ping", [])).result).to.equal("pong");
    });
  });
});
