/**
 * The bitcoind template source and the Stratum server against a real Bitcoin Core on regtest
 * (found through $BITCOIND or PATH; skipped with the reason printed when there is none).
 * Every share is a block on regtest (network difficulty ~4.7e-10), so every share a miner finds
 * here is submitted to the node, which judges it with all of its consensus rules.
 */
import { expect } from "chai";
import pino from "pino";
import { BitcoindSource } from "../src/chain/bitcoind";
import type { BlockTemplate } from "../src/chain/types";
import { coinbasePayoutAddress, difficultyToTarget, prevhashForNotify } from "../src/pow";
import type { FoundBlock } from "../src/stratum/events";
import { MemoryShareSink } from "../src/stratum/memory-sink";
import { StratumServer } from "../src/stratum/server";
import { findBitcoind, KEY1, spendToKey1, startRegtestNode, type RegtestNode } from "./bitcoind.helpers";
import { ADDR1, handshake, mine, submit, until, type Handshake, type Notification } from "./stratum.helpers";

const DIFFICULTY = "0.00001";

interface VerboseBlock {
  hash: string;
  height: number;
  previousblockhash: string;
  tx: { txid: string; vin: { txinwitness?: string[]; coinbase?: string }[]; vout: { value: number; scriptPubKey: { hex: string } }[] }[];
}

describe("bitcoind template source against a real Bitcoin Core (regtest)", function () {
  this.timeout(240_000);
  let node: RegtestNode;
  /** Mature coinbase outputs paying KEY1, oldest first. */
  const spendable: { txid: string; vout: number; valueSats: bigint }[] = [];
  const closers: (() => Promise<void>)[] = [];

  before(async function () {
    const found = findBitcoind();
    if ("reason" in found) {
      console.log(`      skipping the real-node tests: ${found.reason}`);
      this.skip();
    }
    node = await startRegtestNode((found as { bin: string }).bin);
    // 120 blocks to KEY1: the coinbases of blocks 1..20 are mature (100 confirmations).
    const hashes = await node.call<string[]>("generatetoaddress", 120, KEY1.address);
    for (const hash of hashes.slice(0, 20)) {
      const block = await node.call<{ tx: string[] }>("getblock", hash, 1);
      spendable.push({ txid: block.tx[0], vout: 0, valueSats: 5_000_000_000n });
    }
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    await node?.stop();
  });

  async function startPool(sourceOpts: Partial<ConstructorParameters<typeof BitcoindSource>[0]> = {}) {
    const source = new BitcoindSource({ url: node.url, user: node.user, password: node.password, ...sourceOpts });
    await source.start();
    closers.push(() => source.stop());
    const server = new StratumServer({
      source,
      sink: new MemoryShareSink(),
      logger: pino({ level: "silent" }),
      config: { port: 0, startDifficulty: DIFFICULTY, minDifficulty: DIFFICULTY, maxDifficulty: DIFFICULTY, payoutScript: KEY1.script, bans: { enabled: false } },
    });
    const port = await server.listen();
    closers.push(() => server.close(500));
    const blocks: FoundBlock[] = [];
    server.on("block", (b: FoundBlock) => blocks.push(b));
    return { source, server, port, blocks };
  }

  async function connect(port: number): Promise<Handshake> {
    const h = await handshake(port, `${ADDR1}.rig1`);
    closers.push(async () => h.client.close());
    return h;
  }

  /** The first notification at index >= `from` in the client's record matching `pred` (waits for it). */
  async function noteFrom(h: Handshake, from: number, pred: (n: Notification) => boolean, what: string): Promise<{ note: Notification; index: number }> {
    let index = -1;
    await until(() => (index = h.client.notes.findIndex((n, i) => i >= from && n.method === "mining.notify" && pred(n))) >= 0, 5_000, what);
    return { note: h.client.notes[index], index };
  }

  let en2 = 0;
  /** Mines a share (= a block on regtest) on `notify` and submits it; resolves with the reply. */
  async function mineAndSubmit(h: Handshake, notify: Notification) {
    const target = difficultyToTarget(DIFFICULTY);
    const extranonce2 = (++en2).toString(16).padStart(h.extranonce2Size * 2, "0");
    const share = mine(`${ADDR1}.rig1`, notify, h.extranonce1, extranonce2, (v) => v <= target);
    return { reply: await submit(h.client, share.params), share };
  }

  async function mempoolSpends(count: number): Promise<{ txids: string[]; feeSats: bigint }> {
    const txids: string[] = [];
    let feeSats = 0n;
    for (let i = 0; i < count; i++) {
      const outpoint = spendable.shift()!;
      const parent = await spendToKey1(node, outpoint, 10_000n);
      await node.call("sendrawtransaction", parent.hex);
      // A child spending the parent in the mempool: the template must order them.
      const child = await spendToKey1(node, { txid: parent.txid, vout: 0, valueSats: parent.valueSats }, 5_000n);
      await node.call("sendrawtransaction", child.hex);
      txids.push(parent.txid, child.txid);
      feeSats += 15_000n;
    }
    return { txids, feeSats };
  }

  /** Waits until the node's own getblocktemplate carries `txids` (it reuses a template for 5 s after a mempool change). */
  async function nodeTemplateHas(txids: string[]): Promise<void> {
    const end = Date.now() + 15_000;
    for (;;) {
      const t = await node.call<{ transactions: { txid: string }[] }>("getblocktemplate", { rules: ["segwit"] });
      if (txids.every((id) => t.transactions.some((x) => x.txid === id))) return;
      if (Date.now() > end) throw new Error("the node's template never took the mempool transactions");
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it("mines blocks with signed segwit spends from the mempool: the node accepts every one with them, fees in the coinbase", async () => {
    const { source, port, blocks } = await startPool({ pollIntervalMs: 100, refreshIntervalMs: 200 });
    const h = await connect(port);
    for (let round = 0; round < 3; round++) {
      const { txids, feeSats } = await mempoolSpends(2);
      expect((await node.call<string[]>("getrawmempool")).sort()).to.deep.equal([...txids].sort());
      // The pool picks the transactions up on its refresh; the miner gets a job with them.
      const notify = await h.client.next("mining.notify", 10_000, () => {
        const t = source.current();
        return txids.every((id) => t.transactions.some((x) => x.txid === id));
      });
      const template: BlockTemplate = source.current();
      expect((notify.params[4] as string[]).length).to.be.at.least(1); // a merkle branch: transactions besides the coinbase
      const blockSeen = new Promise<FoundBlock>((resolve) => {
        const t = setInterval(() => blocks.length > round && (clearInterval(t), resolve(blocks[round])), 10);
      });
      const { reply } = await mineAndSubmit(h, notify);
      expect(reply.error ?? null).to.equal(null);
      expect(reply.result).to.equal(true);
      const found = await blockSeen;
      expect(found.submitted, found.submitError).to.equal(true);

      const block = await node.call<VerboseBlock>("getblock", found.hash, 2);
      expect(await node.call<string>("getbestblockhash")).to.equal(found.hash);
      expect(block.height).to.equal(template.height);
      const inBlock = block.tx.slice(1).map((t) => t.txid);
      for (const id of txids) expect(inBlock).to.include(id);
      for (let i = 0; i < txids.length; i += 2) expect(inBlock.indexOf(txids[i])).to.be.below(inBlock.indexOf(txids[i + 1])); // parent before child
      for (const t of block.tx.slice(1)) expect(t.vin[0].txinwitness, "segwit spend").to.have.length(2);
      const coinbase = block.tx[0];
      expect(coinbase.vout[0].scriptPubKey.hex).to.equal(KEY1.script);
      const paid = coinbase.vout.reduce((s, o) => s + BigInt(Math.round(o.value * 1e8)), 0n);
      expect(paid).to.equal(5_000_000_000n + feeSats);
      expect(found.reward).to.equal(paid.toString());
      expect(coinbase.vout.some((o) => o.scriptPubKey.hex.startsWith("6a24aa21a9ed"))).to.equal(true); // witness commitment
      expect(await node.call<string[]>("getrawmempool")).to.deep.equal([]);
    }
    // The coinbase commits to the miner's payout address (what the auditor checks).
    expect(coinbasePayoutAddress(h.notify.params[2] as string)).to.equal(ADDR1.toLowerCase());
  });

  it("another party's block reaches the miner as clean_jobs=true within milliseconds (poll a minute away): coinbase-only work, then the full template, both mining accepted blocks; the old tip's work is stale", async () => {
    // One transaction stays in the mempool: generateblock below mines blocks without it, so the full
    // template (with it) is told apart from the coinbase-only work (without).
    const { txids } = await mempoolSpends(1);
    await nodeTemplateHas(txids);
    const { source, port, blocks } = await startPool({ pollIntervalMs: 60_000 });
    expect(source.push).to.deep.equal({ longPoll: false, coinbaseOnly: true });
    expect(source.chain).to.equal("regtest");
    const h = await connect(port);
    expect((h.notify.params[4] as string[]).length).to.be.at.least(1);

    const target = difficultyToTarget(DIFFICULTY);
    const latencies: number[] = [];
    let coinbaseOnlyFirst = 0;
    let minedCoinbaseOnly = false;
    for (let round = 0; round < 8; round++) {
      const before = h.client.lastNotify()!;
      const oldShare = mine(`${ADDR1}.rig1`, before, h.extranonce1, (0xff00 + round).toString(16).padStart(h.extranonce2Size * 2, "0"), (v) => v <= target);
      const mark = h.client.notes.length;
      const clean = h.client.next("mining.notify", 5_000, (n) => n.params[8] === true);
      const t0 = performance.now();
      const { hash } = await node.call<{ hash: string }>("generateblock", KEY1.address, []);
      const n = await clean;
      latencies.push(performance.now() - t0);
      expect(n.params[1]).to.equal(prevhashForNotify(hash));
      const cleanAt = h.client.notes.indexOf(n, mark);

      // A block-solving share on the replaced tip is refused as stale.
      const stale = await submit(h.client, oldShare.params);
      expect(stale.result ?? null).to.equal(null);
      expect((stale.error as unknown[])[0]).to.equal(21);

      if ((n.params[4] as string[]).length === 0) {
        coinbaseOnlyFirst++;
        // The full template follows on the same tip, without cleaning the miner's jobs.
        const { note: full } = await noteFrom(h, cleanAt + 1, (x) => (x.params[4] as string[]).length > 0, "the full template after coinbase-only work");
        expect(full.params[1]).to.equal(n.params[1]);
        expect(full.params[8]).to.equal(false);
        if (!minedCoinbaseOnly) {
          // Coinbase-only work is a valid block: mine it and let the node judge.
          const count = blocks.length;
          const markMine = h.client.notes.length;
          const { reply } = await mineAndSubmit(h, n);
          expect(reply.result).to.equal(true);
          await until(() => blocks.length > count, 5_000, "the found block");
          const found = blocks[count];
          expect(found.submitted, found.submitError).to.equal(true);
          const block = await node.call<VerboseBlock>("getblock", found.hash, 2);
          expect(block.previousblockhash).to.equal(hash);
          expect(block.tx).to.have.length(1);
          expect(BigInt(Math.round(block.tx[0].vout.reduce((s, o) => s + o.value, 0) * 1e8))).to.equal(5_000_000_000n);
          expect(await node.call<string>("getbestblockhash")).to.equal(found.hash);
          minedCoinbaseOnly = true;
          await noteFrom(h, markMine, (x) => x.params[8] === true && x.params[1] === prevhashForNotify(found.hash), "work on the pool's own block");
          await until(() => source.current().transactions.length > 0 && source.current().previousBlockHash === found.hash, 5_000, "the full template on the pool's block");
        }
      }
      await until(() => source.current().transactions.length > 0, 5_000, "the full template");
      await new Promise((r) => setTimeout(r, 20));
    }
    // The transaction left in the mempool is still there, and the full work carries it.
    expect(await node.call<string[]>("getrawmempool")).to.include(txids[0]);
    expect(source.current().transactions.map((t) => t.txid)).to.include(txids[0]);
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`      new tip -> clean mining.notify: median ${sorted[sorted.length >> 1].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms; coinbase-only first in ${coinbaseOnlyFirst}/${latencies.length}`);
    expect(coinbaseOnlyFirst).to.be.at.least(1);
    expect(minedCoinbaseOnly).to.equal(true);
    // Far below the one-second poll this replaced (the poll here is a minute away): it was a push.
    expect(sorted[sorted.length - 1]).to.be.below(500);
  });

  it("with coinbase-only work off, the getblocktemplate long poll brings another party's block within milliseconds (poll a minute away)", async () => {
    const { source, port } = await startPool({ pollIntervalMs: 60_000, coinbaseOnlyOnNewTip: false });
    expect(source.push).to.deep.equal({ longPoll: true, coinbaseOnly: false });
    const h = await connect(port);
    const latencies: number[] = [];
    for (let round = 0; round < 5; round++) {
      await new Promise((r) => setTimeout(r, 30));
      const clean = h.client.next("mining.notify", 5_000, (n) => n.params[8] === true);
      const t0 = performance.now();
      const { hash } = await node.call<{ hash: string }>("generateblock", KEY1.address, []);
      const n = await clean;
      latencies.push(performance.now() - t0);
      expect(n.params[1]).to.equal(prevhashForNotify(hash));
    }
    expect(Math.max(...latencies)).to.be.below(500);
  });

  it("with the pushes off, polling alone still finds the new tip (the fallback)", async () => {
    const { source, port } = await startPool({ pollIntervalMs: 100, longPoll: false, coinbaseOnlyOnNewTip: false });
    expect(source.push).to.deep.equal({ longPoll: false, coinbaseOnly: false });
    const h = await connect(port);
    const clean = h.client.next("mining.notify", 5_000, (n) => n.params[8] === true);
    const hash = (await node.call<{ hash: string }>("generateblock", KEY1.address, [])).hash;
    expect((await clean).params[1]).to.equal(prevhashForNotify(hash));
  });
});
