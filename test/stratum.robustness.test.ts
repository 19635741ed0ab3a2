import { expect } from "chai";
import net from "node:net";
import { Writable } from "node:stream";
import fc from "fast-check";
import pino from "pino";
import { Miner } from "../src/miner/miner";
import { ADDR1, ADDR2, handshake, sleep, startPool, TestClient, until, type Pool } from "./stratum.helpers";

/** A pino logger that keeps error-level records (a handler that threw logs one). */
function errorCapture(): { logger: pino.Logger; errors: string[] } {
  const errors: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      errors.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: "error" }, stream), errors };
}

/** 200 generated bad inputs: random bytes, random JSON, real methods with wrong types, huge numbers, missing params. */
function badInputs(): (string | Buffer)[] {
  const methods = ["mining.submit", "mining.subscribe", "mining.authorize", "mining.configure", "mining.suggest_difficulty", "mining.extranonce.subscribe", "mining.get_transactions"];
  const junk = fc.oneof(
    fc.json(),
    fc.constantFrom("1e400", "-1e400", "123456789012345678901234567890", "NaN", "null", "true", "[]", "{}", '"x"', '{"__proto__":{"a":1}}'),
  );
  const gen = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.concat([Buffer.from(b), Buffer.from("\n")])),
    fc.json().map((j) => j + "\n"),
    fc.record({ id: junk, method: fc.constantFrom(...methods), params: fc.array(junk, { maxLength: 7 }) }).map(
      (r) => `{"id":${r.id},"method":"${r.method}","params":[${r.params.join(",")}]}\n`,
    ),
    fc.record({ id: fc.integer(), method: fc.constantFrom(...methods), params: junk }).map((r) => `{"id":${r.id},"method":"${r.method}","params":${r.params}}\n`),
    fc.constantFrom(
      `{"id":1,"method":"mining.submit"}\n`,
      `{"id":1,"method":42,"params":[]}\n`,
      `{"method":"mining.submit","params":["a","b","c","d","e","f","g"]}\n`,
      `{"id":1,"method":"mining.suggest_difficulty","params":[1e308]}\n`,
      `{"id":1,"method":"mining.suggest_difficulty","params":[-5]}\n`,
      `{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"zz","version-rolling.min-bit-count":1e99}]}\n`,
      `{"id":1,"method":"mining.configure","params":[["minimum-difficulty"],{"minimum-difficulty.value":-1}]}\n`,
      `{"id":1,"method":"mining.subscribe","params":[{"a":1},{"b":2}]}\n`,
      `{"id":{"x":1},"method":"mining.authorize","params":[["0x"],null]}\n`,
      `\r\n\r\n\n`,
      "x".repeat(20_000) + "\n",
    ),
  );
  return fc.sample(gen, { numRuns: 200, seed: 20240503 });
}

describe("stratum: robustness", function () {
  let pool: Pool;
  afterEach(async () => {
    await pool?.close();
  });

  it("listen() on a port in use rejects with the system error instead of crashing", async () => {
    pool = await startPool();
    const other = await startPool({ port: pool.port }).then(
      () => null,
      (err: NodeJS.ErrnoException) => err,
    );
    expect(other?.code).to.equal("EADDRINUSE");
  });

  it("malformed JSON gets an error reply with id null, a strike, and the connection stays usable", async () => {
    pool = await startPool();
    const c = await TestClient.open(pool.port);
    c.writeRaw("{this is not json\n");
    await until(() => c.lines.length === 1, 2000, "reply");
    expect(JSON.parse(c.lines[0])).to.deep.equal({ id: null, result: null, error: [20, "malformed JSON", null] });
    expect((await c.request("mining.subscribe", [])).error).to.equal(null);
    expect(pool.server.stats().strikes).to.equal(1);
    c.close();
  });

  it("an over-long line gets an error and a disconnect", async () => {
    pool = await startPool({ maxLineBytes: 1024 });
    const c = await TestClient.open(pool.port);
    c.writeRaw("{" + "a".repeat(5000));
    await c.closedPromise();
    expect(JSON.parse(c.lines[0]).error[1]).to.match(/line longer than 1024 bytes/);
    expect(pool.server.stats().disconnects["line-too-long"]).to.equal(1);
  });

  it("200 generated bad inputs never crash the server nor stop another miner from mining meanwhile", async () => {
    const { logger, errors } = errorCapture();
    pool = await startPool({}, {}, logger);
    const miner = new Miner({ url: `stratum+tcp://127.0.0.1:${pool.port}`, user: `${ADDR2}.honest`, maxHashrate: 150_000 });
    await miner.start();
    try {
      await until(() => miner.accepted >= 1, 20_000, "first share");
      const before = miner.accepted;
      const inputs = badInputs();
      let fuzz = await TestClient.open(pool.port);
      let replies = 0;
      fuzz.on("line", () => replies++);
      let reconnects = 0;
      for (const [i, input] of inputs.entries()) {
        if (fuzz.closed) {
          fuzz = await TestClient.open(pool.port);
          fuzz.on("line", () => replies++);
          reconnects++;
        }
        // Half the inputs go to a connection that is already subscribed and authorized.
        if (i === 100) {
          fuzz.close();
          fuzz = (await handshake(pool.port, `${ADDR1}.fuzz`)).client;
          fuzz.on("line", () => replies++);
        }
        fuzz.writeRaw(input);
        if (i % 10 === 0) await sleep(20);
      }
      await sleep(300);
      expect(replies).to.be.greaterThan(100);
      expect(reconnects).to.be.greaterThan(0); // the over-long lines cost their connections
      await until(() => miner.accepted >= before + 2, 20_000, "the honest miner's shares during the fuzzing");
      expect(miner.rejected).to.equal(0);
      // The server still takes new miners.
      const late = await handshake(pool.port, `${ADDR1}.late`);
      late.client.close();
      fuzz.close();
    } finally {
      await miner.stop();
    }
    expect(errors.filter((e) => e.includes("handler failed")), errors.join("\n")).to.have.length(0);
  });

  it("bans an IP after too many strikes, for a limited time", async () => {
    // maxOffencesPerAddress 1: the first connection closed for strikes refuses its address (issue 16 defaults to 5).
    pool = await startPool({ bans: { enabled: true, maxStrikes: 5, maxOffencesPerAddress: 1, banMs: 500, windowMs: 10_000 } });
    const c = await TestClient.open(pool.port);
    for (let i = 0; i < 5; i++) c.writeRaw("not json\n");
    await c.closedPromise();
    expect(pool.server.stats().bans).to.equal(1);
    const refused = await TestClient.open(pool.port);
    await refused.closedPromise();
    await sleep(600);
    const ok = await TestClient.open(pool.port);
    expect((await ok.request("mining.subscribe", [])).error).to.equal(null);
    ok.close();
  });

  it("disconnects and bans a connection flooding invalid shares", async () => {
    pool = await startPool({ bans: { enabled: true, maxInvalidShares: 10, banMs: 200 } });
    const h = await handshake(pool.port, `${ADDR1}.flood`);
    for (let i = 0; i < 10; i++) h.client.writeRaw(`{"id":${i + 100},"method":"mining.submit","params":["${ADDR1}.flood","${h.notify.params[0]}","zz","00000000","00000000"]}\n`);
    await h.client.closedPromise();
    expect(pool.server.stats().disconnects.banned).to.equal(1);
    expect(pool.server.stats().rejected["bad-params"]).to.equal(10);
  });

  it("closes connections that do not authorize in time, and idle ones", async () => {
    pool = await startPool({ authTimeoutMs: 200, idleTimeoutMs: 600, sweepIntervalMs: 50 });
    const silent = await TestClient.open(pool.port);
    const h = await handshake(pool.port, `${ADDR1}.idle`);
    await silent.closedPromise();
    expect(h.client.closed).to.equal(false);
    await h.client.closedPromise();
    const d = pool.server.stats().disconnects;
    expect(d["auth-timeout"]).to.equal(1);
    expect(d["idle-timeout"]).to.equal(1);
  });

  it("stops reading from a client that does not read its replies, bounding what it buffers", async () => {
    // A message budget this client never exceeds: back-pressure alone must hold it (issue 16).
    pool = await startPool({ pauseWriteBufferBytes: 16 * 1024, maxWriteBufferBytes: 64 * 1024, limits: { messagesPerSecond: 1e9, messageBurst: 1e9 } });
    const sock = net.connect({ host: "127.0.0.1", port: pool.port });
    await new Promise((r) => sock.once("connect", r));
    sock.pause();
    const line = `{"id":1,"method":"mining.extranonce.subscribe","params":[]}\n`;
    const burst = line.repeat(20_000); // ~1.2 MB in, ~0.8 MB of replies
    for (let i = 0; i < 20; i++) sock.write(burst);
    await sleep(1000);
    const [session] = pool.server.sessions;
    expect(session.socket.isPaused()).to.equal(true);
    expect(session.socket.writableLength).to.be.at.most(64 * 1024 + 64 * 1024);
    // Another miner is unaffected.
    const h = await handshake(pool.port, `${ADDR1}.other`);
    expect(h.extranonce1).to.match(/^[0-9a-f]{8}$/);
    h.client.close();
    sock.destroy();
  });
});
