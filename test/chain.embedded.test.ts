import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EmbeddedChain } from "../src/chain/embedded";
import { BitcoindSource } from "../src/chain/bitcoind";
import { createTemplateSource } from "../src/chain";
import { syntheticTransaction } from "../src/chain/synthetic";
import type { BlockTemplate } from "../src/chain/types";
import {
  bitsToTarget,
  buildCoinbaseParts,
  hashToBigInt,
  hashToDisplayHex,
  merkleBranch,
  parseBlock,
  parseTransaction,
  prevhashForNotify,
  serializeBlock,
  sha256d,
  verifyShareWork,
} from "../src/pow";

const ADDRESS = "0x8ba1f109551bd432803012645ac136ddd64dba72";
const EASY = "0.00001"; // ~43 000 hashes per block

interface MineOverrides {
  height?: number;
  value?: bigint;
  prevHash?: string;
  ntime?: number;
  transactions?: BlockTemplate["transactions"];
  /** Return the first header that MISSES the target instead of one that meets it. */
  missTarget?: boolean;
}

/** Mines a real block for a template: Stratum-style coinbase, branch and header, CPU nonce loop. */
function mine(t: BlockTemplate, o: MineOverrides = {}): { hex: string; hash: string } {
  const transactions = o.transactions ?? t.transactions;
  const { coinb1, coinb2 } = buildCoinbaseParts({
    height: o.height ?? t.height,
    payoutAddress: ADDRESS,
    shareDifficultyUnits: 1_000_000_000n,
    poolTag: "/test/",
    extranonce1Size: 4,
    extranonce2Size: 4,
    outputs: [{ value: o.value ?? t.coinbaseValue, script: Buffer.from("0014" + "ab".repeat(20), "hex") }],
    witnessCommitment: t.defaultWitnessCommitment ? Buffer.from(t.defaultWitnessCommitment, "hex") : undefined,
  });
  const target = bitsToTarget(t.bits);
  const branch = merkleBranch(transactions.map((x) => x.txid));
  for (let en2 = 0; en2 < 1000; en2++) {
    const work = verifyShareWork({
      coinb1, coinb2, extranonce1: "cafe0001", extranonce2: en2.toString(16).padStart(8, "0"), merkleBranch: branch,
      version: t.version.toString(16).padStart(8, "0"), prevhash: prevhashForNotify(o.prevHash ?? t.previousBlockHash),
      nbits: t.bits, ntime: (o.ntime ?? t.curtime).toString(16).padStart(8, "0"), nonce: "00000000",
    });
    const header = work.header;
    for (let nonce = 0; nonce < 0x1000000; nonce++) {
      header.writeUInt32LE(nonce, 76);
      const hash = sha256d(header);
      if ((hashToBigInt(hash) <= target) !== !!o.missTarget) {
        return { hex: serializeBlock(header, work.coinbase, transactions, !!t.defaultWitnessCommitment), hash: hashToDisplayHex(hash) };
      }
    }
  }
  throw new Error("no block found");
}

function nextTemplate(chain: EmbeddedChain, newBlock: boolean): Promise<BlockTemplate> {
  return new Promise((resolve) => {
    const on = (t: BlockTemplate, nb: boolean) => {
      if (nb === newBlock) {
        chain.off("template", on);
        resolve(t);
      }
    };
    chain.on("template", on);
  });
}

describe("embedded chain", function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const tempDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-chain-"));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("mines linked blocks with halving subsidy, synthetic fees and a new template after each", async () => {
    const chain = new EmbeddedChain({ networkDifficulty: EASY, halvingInterval: 2, syntheticTxs: 3 });
    await chain.start();
    try {
      expect(chain.networkDifficulty).to.be.closeTo(0.00001, 0.0000001);
      const genesis = chain.tip();
      expect(genesis.height).to.equal(0);
      const expectedSubsidy = [0n, 50n * 10n ** 8n, 25n * 10n ** 8n, 25n * 10n ** 8n, 125n * 10n ** 7n];
      let prev = genesis.hash;
      const found: string[] = [];
      for (let height = 1; height <= 4; height++) {
        const t = chain.current();
        expect(t.height).to.equal(height);
        expect(t.previousBlockHash).to.equal(prev);
        expect(t.transactions.length).to.equal(3);
        const fees = t.transactions.reduce((s, x) => s + x.fee, 0n);
        expect(fees > 0n).to.equal(true);
        expect(t.coinbaseValue).to.equal(expectedSubsidy[height] + fees);
        expect(t.defaultWitnessCommitment).to.match(/^6a24aa21a9ed[0-9a-f]{64}$/);
        // Synthetic transactions are real, parseable transactions with matching ids.
        for (const x of t.transactions) {
          const tx = parseTransaction(x.data);
          expect([tx.txid, tx.wtxid]).to.deep.equal([x.txid, x.hash]);
        }

        const next = nextTemplate(chain, true);
        const block = mine(t);
        expect(await chain.submitBlock(block.hex)).to.deep.equal({ accepted: true });
        const nt = await next;
        expect(nt.height).to.equal(height + 1);
        expect(nt.previousBlockHash).to.equal(block.hash);
        expect(chain.tip().hash).to.equal(block.hash);
        // The header really links to the previous block.
        expect(parseBlock(block.hex).prevHash).to.equal(prev);
        prev = block.hash;
        found.push(block.hash);
      }
      const blocks = chain.blocks();
      expect(blocks.map((b) => b.height)).to.deep.equal([1, 2, 3, 4]);
      expect(blocks.map((b) => b.hash)).to.deep.equal(found);
      expect(blocks.every((b) => b.payoutAddress === ADDRESS)).to.equal(true);
      expect(BigInt(blocks[0].reward) > expectedSubsidy[1]).to.equal(true);
      expect(await chain.confirmations(found[0])).to.equal(4);
      expect(await chain.confirmations(found[3])).to.equal(1);
      expect(await chain.confirmations("00".repeat(32))).to.equal(0);
      expect(chain.subsidy(300)).to.equal(0n);
    } finally {
      await chain.stop();
    }
  });

  it("rejects bad blocks with bitcoind-style reasons and keeps the tip", async () => {
    const chain = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 2 });
    await chain.start();
    try {
      const t1 = chain.current();
      const tip0 = chain.tip().hash;
      const reject = async (hex: string, reason: string) => {
        expect(await chain.submitBlock(hex)).to.deep.equal({ accepted: false, reason });
        expect(chain.tip().hash).to.equal(tip0);
      };
      await reject(mine(t1, { missTarget: true }).hex, "high-hash");
      await reject(mine(t1, { prevHash: "11".repeat(32) }).hex, "bad-prevblk");
      await reject(mine(t1, { height: t1.height + 1 }).hex, "bad-cb-height");
      await reject(mine(t1, { value: t1.coinbaseValue + 1n }).hex, "bad-cb-amount");
      await reject(mine(t1, { ntime: chain.tip().time }).hex, "time-too-old");
      await reject(mine(t1, { ntime: Math.floor(Date.now() / 1000) + 3 * 3600 }).hex, "time-too-new");
      // Witness commitment made for both transactions, block carries only one (merkle root matches its own txs).
      await reject(mine(t1, { transactions: t1.transactions.slice(0, 1), value: t1.coinbaseValue - t1.transactions[1].fee }).hex, "bad-witness-merkle-match");

      // Bad merkle root: a mined block whose last transaction is swapped for another, header unchanged.
      const good = mine(t1);
      const parsed = parseBlock(good.hex);
      const swapped =
        parsed.header.toString("hex") +
        "03" +
        parsed.transactions.slice(0, 2).map((x) => x.raw.toString("hex")).join("") +
        syntheticTransaction(true).data;
      await reject(swapped, "bad-txnmrklroot");
      await reject("00", "decode-failed: block shorter than a header");
      expect((await chain.submitBlock("zz")).reason).to.match(/^decode-failed/);

      expect(await chain.submitBlock(good.hex)).to.deep.equal({ accepted: true });
      expect(await chain.submitBlock(good.hex)).to.deep.equal({ accepted: false, reason: "duplicate" });
      // A block built on the old tip is now stale.
      expect(await chain.submitBlock(mine(t1, { ntime: t1.curtime + 1 }).hex)).to.deep.equal({ accepted: false, reason: "bad-prevblk" });
      expect(chain.tip().height).to.equal(1);
    } finally {
      await chain.stop();
    }
  });

  it("persists the chain and continues it after a restart", async () => {
    const dataDir = tempDir();
    const a = new EmbeddedChain({ networkDifficulty: EASY, dataDir, syntheticTxs: 1 });
    await a.start();
    const hashes: string[] = [];
    for (let i = 0; i < 2; i++) {
      const b = mine(a.current());
      expect((await a.submitBlock(b.hex)).accepted).to.equal(true);
      hashes.push(b.hash);
    }
    expect(await a.confirmations(hashes[0])).to.equal(2);
    await a.stop();

    const b = new EmbeddedChain({ networkDifficulty: EASY, dataDir });
    await b.start();
    expect(b.tip().height).to.equal(2);
    expect(b.tip().hash).to.equal(hashes[1]);
    expect(b.blocks().map((x) => x.hash)).to.deep.equal(hashes);
    expect(b.current().previousBlockHash).to.equal(hashes[1]);
    expect(b.current().height).to.equal(3);
    const third = mine(b.current());
    expect((await b.submitBlock(third.hex)).accepted).to.equal(true);
    await b.stop();

    // A torn last line (crash mid-write) is dropped and the valid prefix kept.
    const file = path.join(dataDir, "embedded-chain.jsonl");
    fs.appendFileSync(file, '{"height":4,"hash":"trunc');
    const warnings: string[] = [];
    const c = new EmbeddedChain({
      networkDifficulty: EASY,
      dataDir,
      logger: { info() {}, error() {}, warn: (_f: object, m: string) => warnings.push(m) },
    });
    await c.start();
    expect(c.tip().height).to.equal(3);
    expect(c.tip().hash).to.equal(third.hash);
    expect(warnings.some((w) => /invalid record/.test(w))).to.equal(true);
    expect(fs.readFileSync(file, "utf8").trim().split("\n").length).to.equal(4);
    await c.stop();

    // A forged record (header that does not hash to its hash) is not trusted either.
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    const forged = JSON.parse(lines[2]);
    forged.hash = "00".repeat(32);
    fs.writeFileSync(file, [lines[0], lines[1], JSON.stringify(forged), lines[3]].join("\n") + "\n");
    const d = new EmbeddedChain({ networkDifficulty: EASY, dataDir });
    await d.start();
    expect(d.tip().height).to.equal(1);
    await d.stop();
  });

  it("refreshes the template on a timer without a new block", async () => {
    const chain = new EmbeddedChain({ networkDifficulty: EASY, refreshIntervalMs: 100 });
    await chain.start();
    try {
      const first = chain.current();
      const refreshed = await nextTemplate(chain, false);
      expect(refreshed.id).to.not.equal(first.id);
      expect(refreshed.previousBlockHash).to.equal(first.previousBlockHash);
      expect(refreshed.height).to.equal(first.height);
      expect(refreshed.curtime >= first.curtime).to.equal(true);
    } finally {
      await chain.stop();
    }
  });

  it("the genesis is deterministic and a bad configuration is refused", async () => {
    const x = new EmbeddedChain({ networkDifficulty: EASY });
    const y = new EmbeddedChain({ networkDifficulty: EASY });
    await x.start();
    await y.start();
    expect(x.tip().hash).to.equal(y.tip().hash);
    expect(() => x.current()).to.not.throw();
    await x.stop();
    await y.stop();
    expect(() => new EmbeddedChain().current()).to.throw(/start/);
    expect(() => new EmbeddedChain({ networkDifficulty: "-1" })).to.throw(RangeError);
    expect(() => new EmbeddedChain({ bits: "1d80ffff" })).to.throw(RangeError);
    expect(() => new EmbeddedChain({ halvingInterval: 0 })).to.throw(RangeError);
    // Default: difficulty 0.01.
    expect(new EmbeddedChain().networkDifficulty).to.be.closeTo(0.01, 0.0001);
  });

  it("createTemplateSource picks the embedded chain by default and bitcoind when a url is set", () => {
    expect(createTemplateSource()).to.be.instanceOf(EmbeddedChain);
    expect(createTemplateSource({ bitcoind: null })).to.be.instanceOf(EmbeddedChain);
    expect(createTemplateSource({ bitcoind: { url: "http://127.0.0.1:18443" } })).to.be.instanceOf(BitcoindSource);
    expect(() => createTemplateSource({ bitcoind: { url: "https://127.0.0.1:18443" } })).to.throw(RangeError, /http/);
  });
});
