/**
 * Issue 16, item 3: descriptors and durability. A failed write of the embedded chain never leaves
 * a block acknowledged (and later paid) that the chain forgets; at start the chain and the store
 * are reconciled or the pool refuses to start; at the connection cap the API, the EVM RPC and the
 * committer keep working. Real files, a real SQLite store, real RLIMIT_FSIZE / RLIMIT_NOFILE
 * limits set on this process with prlimit(1), real TCP.
 */
import { expect } from "chai";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { EmbeddedChain } from "../src/chain";
import { Miner } from "../src/miner";
import { bitsToTarget } from "../src/pow";
import { startPool as startFullPool, type RunningPool } from "../src/pool";
import { ChainStoreMismatchError, reconcileEmbeddedChain } from "../src/pool/reconcile";
import { openShareStore } from "../src/shares";
import { getJson, waitFor } from "./pool.helpers";
import { ADDR1, handshake, mine, startPool, until, type Pool } from "./stratum.helpers";

const EASY_BITS = "207fffff"; // regtest: about every other hash is a block
const CHAIN_FILE = "embedded-chain.jsonl";

function setLimit(resource: "fsize" | "nofile", soft: number | "unlimited"): void {
  const hard = resource === "fsize" ? "unlimited" : String(Number(fs.readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+\d+\s+(\d+)/m)![1]));
  execFileSync("prlimit", ["--pid", String(process.pid), `--${resource}=${soft}:${hard}`]);
}

function softNofile(): number {
  return Number(fs.readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+(\d+)/m)![1]);
}

/** error-level log lines of a pino logger (to check nothing failed with "too many open files"). */
function errorLog(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: "warn" }, stream), lines };
}

describe("pool: descriptors and chain/store durability (issue 16)", function () {
  this.timeout(300_000);

  describe("a chain write that fails", () => {
    let pool: Pool | undefined;
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-durability-"));
    });
    after(async () => {
      setLimit("fsize", "unlimited");
      await pool?.close();
    });

    it("refuses the block (never acknowledged, never confirmed), leaves the file whole, and at restart the store's record of it is orphaned", async () => {
      pool = await startPool({ startDifficulty: "0.0000001", minDifficulty: "0.0000001" }, { dataDir: dir, bits: EASY_BITS });
      const file = path.join(dir, CHAIN_FILE);
      const h = await handshake(pool.port, `${ADDR1}.rig`);
      const networkTarget = bitsToTarget(EASY_BITS);
      const first = mine(`${ADDR1}.rig`, h.notify, h.extranonce1, "00000001", (v) => v <= networkTarget);
      const sizeBefore = fs.statSync(file).size;
      // The file may grow by 100 bytes: a block record (~600 bytes) is cut short, then EFBIG.
      setLimit("fsize", sizeBefore + 100);
      let reply;
      try {
        reply = await h.client.request("mining.submit", first.params);
      } finally {
        setLimit("fsize", "unlimited");
      }
      expect(reply.result, "the share itself is valid and credited").to.equal(true);
      await until(() => pool!.sink.blocks.length === 1, 5000, "the found block's record");
      const failed = pool.sink.blocks[0];
      expect(failed.submitted).to.equal(false);
      expect(failed.submitError).to.match(/^chain-write-failed: .*(EFBIG|too large)/i);
      expect(pool.server.stats().blocksSubmitFailed).to.equal(1);
      expect(pool.chain.tip().height, "not in the chain's memory either").to.equal(0);
      expect(await pool.chain.confirmations(failed.hash)).to.equal(0);
      expect(fs.statSync(file).size, "the torn record was cut off").to.equal(sizeBefore);

      // The next block is written and kept, right after the failed one.
      const second = mine(`${ADDR1}.rig`, h.notify, h.extranonce1, "00000002", (v) => v <= networkTarget);
      expect((await h.client.request("mining.submit", second.params)).result).to.equal(true);
      await until(() => pool!.sink.blocks.length === 2, 5000, "the second block's record");
      const saved = pool.sink.blocks[1];
      expect(saved.submitted).to.equal(true);
      expect(pool.chain.tip().height).to.equal(1);
      const sharesSeen = pool.sink.shares;
      h.client.close();
      await pool.close();
      pool = undefined;

      // Restart: the chain has exactly the saved block.
      const chain = new EmbeddedChain({ dataDir: dir, bits: EASY_BITS });
      await chain.start();
      try {
        expect(chain.tip().height).to.equal(1);
        expect(chain.tip().hash).to.equal(saved.hash);
        expect(chain.block(failed.hash)).to.equal(undefined);
        // A store that recorded both (as the pool's store does) is reconciled: the refused block
        // can never be confirmed nor paid.
        const store = await openShareStore({ kind: "sqlite", dataDir: dir });
        try {
          const shareOf = (hash: string) => sharesSeen.find((s) => s.hash === hash)!;
          await store.recordBlock(failed, shareOf(failed.hash));
          await store.recordBlock(saved, shareOf(saved.hash));
          const report = await reconcileEmbeddedChain(chain, store, pino({ level: "silent" }));
          expect(report.orphaned).to.deep.equal([failed.hash]);
          expect(report.unknownToStore).to.deep.equal([]);
          expect((await store.block(failed.hash))!.status).to.equal("orphaned");
          expect((await store.block(saved.hash))!.status).to.equal("pending");
        } finally {
          await store.close();
        }
      } finally {
        await chain.stop();
      }
    });
  });

  describe("a whole pool at its connection cap", () => {
    let pool: RunningPool | undefined;
    let holder: ChildProcess | undefined;
    let miner: Miner | undefined;
    let dir: string;
    let softBefore: number;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-cap-"));
      softBefore = softNofile();
    });
    after(async () => {
      await miner?.stop();
      holder?.kill();
      await pool?.stop();
      setLimit("nofile", softBefore);
    });

    it("refuses miners over the descriptor budget while the API, the EVM RPC and the committer keep working; a restart after the chain file lost a paid block refuses to start", async () => {
      // A separate process holds the hostile connections (its descriptors are not ours).
      holder = spawn(process.execPath, ["-e", HOLDER_SCRIPT], { stdio: ["pipe", "pipe", "inherit"] });
      const { logger, lines } = errorLog();
      // This process gets 700 descriptors more than it has open now; the pool keeps 256 in reserve.
      const openNow = fs.readdirSync("/proc/self/fd").length;
      setLimit("nofile", openNow + 700);
      pool = await startFullPool({
        env: {},
        logger,
        overrides: {
          dataDir: dir,
          stratum: { port: 0, startDifficulty: "0.00002", minDifficulty: "0.00001", targetShareSeconds: 2 },
          api: { port: 0 },
          evm: { embeddedPort: 0, challengeWindow: 1 },
          chain: { networkDifficulty: "0.0002", syntheticTxs: 1 },
          committer: { pollSeconds: 0.25 },
        },
      });
      const cap = pool.stratum!.stats().connectionCap;
      expect(cap).to.be.greaterThan(50);
      expect(cap).to.be.below(700 - 256);
      miner = new Miner({ url: pool.stratumUrl, user: `${ADDR1}.honest`, maxHashrate: 300_000 });
      await miner.start();

      // 1.5 × the cap, from 30 addresses.
      const want = Math.ceil(cap * 1.5);
      holder.stdin!.write(JSON.stringify({ port: pool.stratumPort, count: want }) + "\n");
      const held = await new Promise<{ open: number; refused: number }>((resolve) => {
        let buf = "";
        holder!.stdout!.on("data", (d) => {
          buf += d;
          const nl = buf.indexOf("\n");
          if (nl !== -1) resolve(JSON.parse(buf.slice(0, nl)));
        });
      });
      expect(held.open + held.refused).to.equal(want);
      // The kernel completed every handshake; the server accepts them from its backlog.
      await until(() => pool!.stratum!.stats().connections + (pool!.stratum!.stats().refused["too-many-connections"] ?? 0) >= want + 1, 60_000, "every connection accepted or refused");
      const st = pool.stratum!.stats();
      expect(st.connections, "held at the cap (the honest miner included)").to.equal(cap);
      // Every connection over the cap refused. (A loaded machine can make the honest miner time out
      // and reconnect while the pool is full: each such attempt is one more refusal, seen once in CI.)
      const overCap = st.refused["too-many-connections"] ?? 0;
      expect(overCap).to.be.at.least(want + 1 - cap);
      expect(overCap).to.be.at.most(want + 1 - cap + 3);
      const metrics = await (await fetch(`${pool.apiUrl}/metrics`)).text();
      const counted = /pool_stratum_refused_connections_total\{reason="too-many-connections"\} (\d+)/.exec(metrics);
      expect(Number(counted?.[1]), "the metric counts the refusals").to.be.at.least(overCap);
      expect(metrics).to.include("pool_stratum_address_bans_total 0");

      // At the cap: the API answers, the RPC answers, the committer pays a block found now.
      expect((await getJson(`${pool.apiUrl}/api/stats`)).contract).to.not.equal(undefined);
      const rpc = await fetch(pool.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }) });
      expect(rpc.status).to.equal(200);
      expect(((await rpc.json()) as { result: string }).result).to.match(/^0x[0-9a-f]+$/);
      // The committer builds the epoch (files written: the epoch file and its share log) and
      // proposes its root on the EVM; the store then holds the block as paid in that epoch.
      await waitFor("a block paid in a proposed epoch", 240_000, async () => {
        const blocks = await pool!.store.blocks();
        const epochs = await pool!.store.epochs();
        return blocks.some((b) => b.epoch !== null) && epochs.some((e) => e.state === "proposed" || e.state === "accepted");
      });
      const epoch1 = (await pool.store.epoch(1))!;
      expect(fs.existsSync(epoch1.filePath) && fs.existsSync(epoch1.shareLogPath)).to.equal(true);
      expect(epoch1.proposeTx).to.match(/^0x[0-9a-f]{64}$/);
      expect((await getJson(`${pool.apiUrl}/api/epochs`)).length).to.be.at.least(1);
      expect(pool.stratum!.stats().connections).to.be.at.most(cap);
      expect(lines.filter((l) => /EMFILE|too many open files/i.test(l)), lines.join("\n")).to.deep.equal([]);

      await miner.stop();
      miner = undefined;
      holder.kill();
      holder = undefined;
      await pool.stop();
      pool = undefined;
      setLimit("nofile", softBefore);

      // Every paid block is in the chain file (height ≥ 1 after restart, same hashes)...
      const chain = new EmbeddedChain({ dataDir: dir, networkDifficulty: "0.0002" });
      await chain.start();
      const store = await openShareStore({ kind: "sqlite", dataDir: dir });
      const paid = (await store.blocks()).filter((b) => b.epoch !== null);
      for (const b of paid) expect(chain.block(b.hash), `paid block ${b.height} in the chain file`).to.not.equal(undefined);
      await chain.stop();
      await store.close();

      // ...and a chain file that lost them (the failure of the issue) stops the pool at start, saying why.
      const file = path.join(dir, CHAIN_FILE);
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").split("\n")[0] + "\n"); // genesis only
      const refused = await startFullPool({
        env: {},
        logger: pino({ level: "silent" }),
        overrides: { dataDir: dir, stratum: { port: 0 }, api: { port: 0 }, evm: { embeddedPort: 0, challengeWindow: 1 }, chain: { networkDifficulty: "0.0002", syntheticTxs: 1 } },
      }).then(
        (p) => p,
        (err: Error) => err,
      );
      if (!(refused instanceof Error)) await refused.stop();
      expect(refused).to.be.instanceOf(ChainStoreMismatchError);
      expect((refused as Error).message).to.match(/holds \d+ paid block\(s\) that the embedded chain file .*embedded-chain\.jsonl does not have: height 1 [0-9a-f]{64} \(paid in epoch 1\)/);
    });
  });
});

/** Child process: opens `count` connections (from 127.0.4.1-30) and reports how many stay open and how many the server refused. */
const HOLDER_SCRIPT = `
const net = require("node:net");
process.stdin.once("data", async (d) => {
  const { port, count } = JSON.parse(String(d));
  const socks = [];
  let refused = 0;
  await Promise.all(Array.from({ length: count }, (_, i) => new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.4." + (1 + (i % 30)) });
    s.on("error", () => {});
    s.on("data", (b) => { if (String(b).includes("server full")) refused++; });
    s.once("connect", () => { socks.push(s); resolve(); });
    s.once("close", resolve);
  })));
  await new Promise((r) => setTimeout(r, 1000));
  const open = socks.filter((s) => !s.destroyed).length;
  process.stdout.write(JSON.stringify({ open, refused }) + "\\n");
  setInterval(() => {}, 1000);
});
`;
