import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { BitcoindSource, mapBlockTemplate } from "../src/chain/bitcoind";
import { blockSubsidy, coinbaseOnlyTemplate } from "../src/chain/coinbase-only";
import { RecentBlockTimes, type HeaderInfo } from "../src/chain/tip-times";
import { RpcAuthError } from "../src/chain/rpc";
import { syntheticTransactions } from "../src/chain/synthetic";
import type { BlockTemplate, TemplateTransaction } from "../src/chain/types";
import {
  bitsToTarget,
  buildCoinbaseParts,
  checkWitnessCommitment,
  coinbasePayoutAddress,
  computeMerkleRoot,
  difficultyToTarget,
  hashToBigInt,
  hashToDisplayHex,
  merkleBranch,
  parseBlock,
  prevhashForNotify,
  serializeBlock,
  serializeTransaction,
  sha256d,
  targetToBits,
  verifyShareWork,
  witnessCommitmentScript,
  type ParsedBlock,
} from "../src/pow";

const ADDRESS = "0x8ba1f109551bd432803012645ac136ddd64dba72";
const BITS = targetToBits(difficultyToTarget("0.00001"));

/**
 * A small bitcoind stand-in speaking the real JSON-RPC 1.0 shapes (basic auth, HTTP 401 with an
 * empty body on bad credentials, HTTP 500 + error object for RPC errors). It holds a real tip and
 * validates submitted blocks by deserialising them.
 */
class FakeNode {
  server!: http.Server;
  port = 0;
  hashes: string[] = [];
  mempool: TemplateTransaction[] = syntheticTransactions(4);
  accepted: ParsedBlock[] = [];
  calls: Record<string, number> = {};
  /** Held getblocktemplate long polls (BIP22): answered when the tip changes. */
  private longPolls: (() => void)[] = [];
  /** Behave like a node without long polling (no longpollid in templates). */
  noLongPoll = false;
  /** Answer plain getblocktemplate calls this many ms late (with the template of the moment they were asked). */
  plainTemplateDelayMs = 0;
  constructor(readonly user: string, readonly password: string) {
    // A real-looking genesis: any 80 bytes hash to a block id; its proof of work is not our concern.
    this.hashes.push(hashToDisplayHex(sha256d(Buffer.from("fake node genesis"))));
  }
  get tip(): string {
    return this.hashes[this.hashes.length - 1];
  }
  /** Another miner found a block. */
  advance(): void {
    this.hashes.push(hashToDisplayHex(sha256d(Buffer.from(this.tip + "x"))));
    this.mempool = syntheticTransactions(4);
    this.wakeLongPolls();
  }
  private wakeLongPolls(): void {
    for (const answer of this.longPolls.splice(0)) answer();
  }
  get longPollId(): string {
    return this.tip + String(this.hashes.length);
  }
  async listen(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(port, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const expected = "Basic " + Buffer.from(`${this.user}:${this.password}`).toString("base64");
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="jsonrpc"' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { id, method, params } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      this.calls[method] = (this.calls[method] ?? 0) + 1;
      const reply = (status: number, result: unknown, error: unknown = null) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ result, error, id }) + "\n");
      const lp = (params?.[0] as { longpollid?: string } | undefined)?.longpollid;
      if (method === "getblocktemplate" && lp === this.longPollId) {
        this.longPolls.push(() => reply(200, this.dispatch(method, params)));
        return;
      }
      if (method === "getblocktemplate" && lp === undefined && this.plainTemplateDelayMs > 0) {
        const snapshot = this.dispatch(method, params);
        setTimeout(() => reply(200, snapshot), this.plainTemplateDelayMs);
        return;
      }
      try {
        reply(200, this.dispatch(method, params));
      } catch (err) {
        const e = err as { code?: number; message: string };
        reply(e.code === -32601 ? 404 : 500, null, { code: e.code ?? -1, message: e.message });
      }
    });
  }
  private dispatch(method: string, params: unknown[]): unknown {
    const rpcError = (code: number, message: string) => Object.assign(new Error(message), { code });
    switch (method) {
      case "getbestblockhash":
        return this.tip;
      case "getblocktemplate": {
        const rules = (params[0] as { rules?: string[] } | undefined)?.rules ?? [];
        if (!rules.includes("segwit")) throw rpcError(-8, "getblocktemplate must be called with the segwit rule set (call with {\"rules\": [\"segwit\"]})");
        const height = this.hashes.length;
        const fees = this.mempool.reduce((s, t) => s + Number(t.fee), 0);
        return {
          capabilities: ["proposal"],
          version: 0x20000000,
          rules: ["csv", "!segwit", "taproot"],
          vbavailable: {},
          vbrequired: 0,
          previousblockhash: this.tip,
          transactions: this.mempool.map((t) => ({ data: t.data, txid: t.txid, hash: t.hash, depends: [], fee: Number(t.fee), sigops: 1, weight: t.data.length * 2 })),
          coinbaseaux: {},
          coinbasevalue: 312_500_000 + fees,
          longpollid: this.noLongPoll ? undefined : this.longPollId,
          target: bitsToTarget(BITS).toString(16).padStart(64, "0"),
          mintime: 1_700_000_000 + height,
          mutable: ["time", "transactions", "prevblock"],
          noncerange: "00000000ffffffff",
          sigoplimit: 80000,
          sizelimit: 4000000,
          weightlimit: 4000000,
          curtime: Math.floor(Date.now() / 1000),
          bits: BITS,
          height,
          default_witness_commitment: witnessCommitmentScript(this.mempool.map((t) => t.hash)).toString("hex"),
        };
      }
      case "submitblock": {
        let block: ParsedBlock;
        try {
          block = parseBlock(String(params[0]));
        } catch {
          throw rpcError(-22, "Block decode failed");
        }
        if (this.hashes.includes(block.hash)) return "duplicate";
        if (block.prevHash !== this.tip) return "bad-prevblk";
        if (hashToBigInt(sha256d(block.header)) > bitsToTarget(block.bits) || block.bits !== BITS) return "high-hash";
        if (computeMerkleRoot(block) !== block.merkleRoot) return "bad-txnmrklroot";
        const witness = checkWitnessCommitment(block);
        if (witness) return witness;
        this.accepted.push(block);
        this.hashes.push(block.hash);
        this.mempool = syntheticTransactions(4);
        setImmediate(() => this.wakeLongPolls());
        return null;
      }
      case "getblockheader": {
        const h = this.hashes.indexOf(String(params[0]));
        if (h < 0) throw rpcError(-5, "Block not found");
        return { hash: params[0], confirmations: this.hashes.length - h, height: h, previousblockhash: this.hashes[h - 1] };
      }
      default:
        throw rpcError(-32601, "Method not found");
    }
  }
}

function mine(t: BlockTemplate, missTarget = false): { hex: string; hash: string } {
  const { coinb1, coinb2 } = buildCoinbaseParts({
    height: t.height,
    payoutAddress: ADDRESS,
    shareDifficultyUnits: 1_000_000_000n,
    extranonce1Size: 4,
    extranonce2Size: 8,
    outputs: [{ value: t.coinbaseValue, script: Buffer.from("0014" + "cd".repeat(20), "hex") }],
    witnessCommitment: t.defaultWitnessCommitment ? Buffer.from(t.defaultWitnessCommitment, "hex") : undefined,
  });
  const target = bitsToTarget(t.bits);
  const work = verifyShareWork({
    coinb1, coinb2, extranonce1: "00000007", extranonce2: "0000000000000000", merkleBranch: merkleBranch(t.transactions.map((x) => x.txid)),
    version: t.version.toString(16).padStart(8, "0"), prevhash: prevhashForNotify(t.previousBlockHash), nbits: t.bits,
    ntime: t.curtime.toString(16).padStart(8, "0"), nonce: "00000000",
  });
  for (let nonce = 0; nonce < 0xffffffff; nonce++) {
    work.header.writeUInt32LE(nonce, 76);
    const hash = sha256d(work.header);
    if ((hashToBigInt(hash) <= target) !== missTarget) {
      return { hex: serializeBlock(work.header, work.coinbase, t.transactions, !!t.defaultWitnessCommitment), hash: hashToDisplayHex(hash) };
    }
  }
  throw new Error("no nonce");
}

function nextTemplate(source: BitcoindSource, newBlock: boolean): Promise<BlockTemplate> {
  return new Promise((resolve) => {
    const on = (t: BlockTemplate, nb: boolean) => {
      if (nb === newBlock) {
        source.off("template", on);
        resolve(t);
      }
    };
    source.on("template", on);
  });
}

function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: object, msg: string) => lines.push({ level, fields: fields as Record<string, unknown>, msg });
  return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } };
}

describe("bitcoind template source (against a JSON-RPC node in the test)", function () {
  this.timeout(60_000);
  let node: FakeNode;
  const sources: BitcoindSource[] = [];
  const open = (extra: Partial<ConstructorParameters<typeof BitcoindSource>[0]> = {}) => {
    const s = new BitcoindSource({ url: `http://127.0.0.1:${node.port}`, user: "pool", password: "s3cret", pollIntervalMs: 25, ...extra });
    sources.push(s);
    return s;
  };
  beforeEach(async () => {
    node = new FakeNode("pool", "s3cret");
    await node.listen();
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
    if (node.server.listening) await node.close();
  });

  it("maps getblocktemplate, mines a real block that the node accepts, and emits the new-block template", async () => {
    const source = open();
    await source.start();
    const t = source.current();
    expect(t.height).to.equal(1);
    expect(t.previousBlockHash).to.equal(node.tip);
    expect(t.bits).to.equal(BITS);
    expect(t.version).to.equal(0x20000000);
    expect(t.transactions.map((x) => x.txid)).to.deep.equal(node.mempool.map((x) => x.txid));
    expect(t.coinbaseValue).to.equal(312_500_000n + node.mempool.reduce((s, x) => s + x.fee, 0n));
    expect(t.defaultWitnessCommitment).to.match(/^6a24aa21a9ed/);

    const next = nextTemplate(source, true);
    const block = mine(t);
    expect(await source.submitBlock(block.hex)).to.deep.equal({ accepted: true });
    const nt = await next;
    expect(nt.height).to.equal(2);
    expect(nt.previousBlockHash).to.equal(block.hash);

    // What the node received deserialises into the header, the coinbase and the transactions.
    const got = node.accepted[0];
    expect(got.hash).to.equal(block.hash);
    expect(got.transactions.length).to.equal(1 + t.transactions.length);
    expect(got.transactions.slice(1).map((x) => x.wtxid)).to.deep.equal(t.transactions.map((x) => x.hash));
    expect(got.coinbase.hasWitness).to.equal(true);
    expect(coinbasePayoutAddress(serializeTransaction(got.coinbase, false).toString("hex"))).to.equal(ADDRESS);
    expect(got.coinbase.outputs[0].value).to.equal(t.coinbaseValue);
    expect(hashToBigInt(sha256d(got.header)) <= bitsToTarget(got.bits)).to.equal(true);

    expect(await source.confirmations(block.hash)).to.equal(1);
    const another = nextTemplate(source, true);
    node.advance(); // someone else's block: detected by polling getbestblockhash
    expect((await another).previousBlockHash).to.equal(node.tip);
    expect(await source.confirmations(block.hash)).to.equal(2);
    expect(await source.confirmations("ab".repeat(32))).to.equal(0);

    // Rejections come back with the node's reason.
    const high = mine(source.current(), true);
    expect(await source.submitBlock(high.hex)).to.deep.equal({ accepted: false, reason: "high-hash" });
    expect(await source.submitBlock(mine(t).hex)).to.deep.equal({ accepted: false, reason: "duplicate" });
    const garbage = await source.submitBlock("00");
    expect(garbage.accepted).to.equal(false);
    expect(garbage.reason).to.match(/Block decode failed/);
  });

  it("refreshes the template on its interval without a new block", async () => {
    const source = open({ refreshIntervalMs: 100 });
    await source.start();
    const first = source.current();
    const refreshed = await nextTemplate(source, false);
    expect(refreshed.id).to.not.equal(first.id);
    expect(refreshed.previousBlockHash).to.equal(first.previousBlockHash);
  });

  it("keeps the last template and retries with exponential backoff while the node is unreachable", async () => {
    const { lines, logger } = recordingLogger();
    const source = open({ retryInitialMs: 20, retryMaxMs: 160, logger });
    await source.start();
    const kept = source.current();
    const port = node.port;
    const errors: { delay: number; at: number }[] = [];
    source.on("rpcError", (_err: Error, _n: number, delay: number) => errors.push({ delay, at: Date.now() }));
    const newBlocks: BlockTemplate[] = [];
    source.on("template", (t: BlockTemplate, nb: boolean) => nb && newBlocks.push(t));

    await node.close();
    while (errors.length < 6) await new Promise((r) => setTimeout(r, 20));
    expect(errors.slice(0, 6).map((e) => e.delay)).to.deep.equal([20, 40, 80, 160, 160, 160]);
    for (let i = 1; i < 6; i++) expect(errors[i].at - errors[i - 1].at).to.be.at.least(errors[i - 1].delay - 5);
    expect(source.current()).to.equal(kept);
    expect(newBlocks).to.deep.equal([]);
    const warn = lines.find((l) => l.level === "warn" && l.fields.attempt === 1)!;
    expect(warn.msg).to.equal("bitcoind unreachable; serving the last template meanwhile");
    expect(warn.fields).to.include({ node: `127.0.0.1:${port}`, attempt: 1, retryInMs: 20, keepingTemplate: kept.id });
    expect(String(warn.fields.err)).to.match(/cannot reach bitcoind at 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    // A block found meanwhile is reported as a transport failure, not silently dropped.
    const lost = await source.submitBlock(mine(kept).hex);
    expect(lost.accepted).to.equal(false);
    expect(lost.reason).to.match(/^transport: .*ECONNREFUSED/);

    // The node comes back with a new tip: the source recovers and marks the old work stale.
    node.advance();
    const recovered = nextTemplate(source, true);
    await node.listen(port);
    const t = await recovered;
    expect(t.previousBlockHash).to.equal(node.tip);
    expect(source.consecutiveFailures).to.equal(0);
    expect(lines.some((l) => l.level === "info" && l.msg === "bitcoind reachable again")).to.equal(true);
  });

  it("a wrong password is a clear error at start", async () => {
    const { lines, logger } = recordingLogger();
    const source = open({ password: "wrong", logger });
    let err: Error | undefined;
    await source.start().catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(RpcAuthError);
    expect(err!.message).to.match(/rejected the RPC credentials \(HTTP 401\): check rpcuser\/rpcpassword or the cookie file/);
    expect(lines.some((l) => l.level === "error")).to.equal(true);
    expect(() => source.current()).to.throw(/no template yet/);
  });

  it("authenticates with a cookie file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cookie-"));
    try {
      const cookie = path.join(dir, ".cookie");
      fs.writeFileSync(cookie, "pool:s3cret");
      const source = open({ user: undefined, password: undefined, cookieFile: cookie });
      await source.start();
      expect(source.current().height).to.equal(1);
      const missing = open({ user: undefined, password: undefined, cookieFile: path.join(dir, "nope") });
      await missing.start().then(
        () => expect.fail("should not start"),
        (e: Error) => expect(e.message).to.match(/cannot read bitcoind cookie file/),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives up at start after startTimeoutMs when the node never answers", async () => {
    const port = node.port;
    await node.close();
    const source = new BitcoindSource({ url: `http://127.0.0.1:${port}`, user: "pool", password: "s3cret", retryInitialMs: 10, startTimeoutMs: 200 });
    sources.push(source);
    const attempts: number[] = [];
    source.on("rpcError", (_e: Error, n: number) => attempts.push(n));
    const err = await source.start().then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/no block template after \d+ ms \(\d+ attempts\)/);
    expect(attempts.length).to.be.at.least(3);
    await node.listen(); // for afterEach
  });

  it("learns another party's block from the held long poll within milliseconds, with the poll a minute away", async () => {
    const source = open({ pollIntervalMs: 60_000 });
    await source.start();
    expect(source.push.longPoll).to.equal(true);
    const polls = node.calls.getbestblockhash ?? 0;
    const lat: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the next long poll is held by the node
      const next = nextTemplate(source, true);
      const t0 = performance.now();
      node.advance();
      const t = await next;
      lat.push(performance.now() - t0);
      expect(t.previousBlockHash).to.equal(node.tip);
      expect(t.transactions.map((x) => x.txid)).to.deep.equal(node.mempool.map((x) => x.txid));
    }
    expect(node.calls.getbestblockhash ?? 0).to.equal(polls); // no poll had a chance to run
    expect(Math.max(...lat)).to.be.below(250);
  });

  it("falls back to polling when the node offers no long poll, and says so", async () => {
    node.noLongPoll = true;
    const { lines, logger } = recordingLogger();
    const source = open({ logger });
    await source.start();
    expect(source.push.longPoll).to.equal(false);
    expect(lines.some((l) => l.level === "warn" && /no longpollid; new blocks are found by polling/.test(l.msg))).to.equal(true);
    const next = nextTemplate(source, true);
    node.advance();
    expect((await next).previousBlockHash).to.equal(node.tip);
    expect(node.calls.getbestblockhash).to.be.at.least(1);
  });

  it("a late poll answer for the old tip never sends miners back to stale work after the long poll's new tip", async () => {
    // Every poll fetches a template (refresh always due), and the node answers plain calls 300 ms late.
    const source = open({ pollIntervalMs: 10, refreshIntervalMs: 1 });
    await source.start();
    node.plainTemplateDelayMs = 300;
    const events: { prev: string; newBlock: boolean }[] = [];
    source.on("template", (t: BlockTemplate, nb: boolean) => events.push({ prev: t.previousBlockHash, newBlock: nb }));
    const old = node.tip;
    await new Promise((r) => setTimeout(r, 50)); // a poll's getblocktemplate is in flight, holding the old tip
    const next = nextTemplate(source, true);
    node.advance();
    expect((await next).previousBlockHash).to.equal(node.tip);
    await new Promise((r) => setTimeout(r, 700)); // the late answers arrive
    expect(node.calls.getblocktemplate).to.be.at.least(3);
    expect(events.filter((e) => e.prev === old && events.indexOf(e) > events.findIndex((x) => x.prev === node.tip))).to.deep.equal([]);
    expect(events.filter((e) => e.newBlock).map((e) => e.prev)).to.deep.equal([node.tip]);
    expect(source.current().previousBlockHash).to.equal(node.tip);
  });

  it("refuses malformed getblocktemplate results with a clear error", () => {
    const good = { height: 5, previousblockhash: "00".repeat(32), version: 0x20000000, bits: "207fffff", curtime: 1, coinbasevalue: 100, transactions: [] };
    expect(mapBlockTemplate(good, "x").coinbaseValue).to.equal(100n);
    expect(() => mapBlockTemplate({ ...good, bits: "zz" }, "x")).to.throw(/malformed result \(bits\)/);
    expect(() => mapBlockTemplate({ ...good, transactions: [{ data: "00", txid: "12" }] }, "x")).to.throw(/transactions\[0\]\.txid/);
    expect(() => mapBlockTemplate({ ...good, coinbasevalue: -1 }, "x")).to.throw(/coinbasevalue/);
  });
});

describe("coinbase-only work on a new tip (the next header's rules, without the node)", () => {
  const tx: TemplateTransaction = { data: "00", txid: "11".repeat(32), hash: "22".repeat(32), fee: 3_000n };
  const previous = (over: Partial<BlockTemplate> = {}): BlockTemplate => ({
    height: 200, previousBlockHash: "aa".repeat(32), version: 0x20000000, bits: "207fffff", curtime: 1_000, mintime: 900,
    coinbaseValue: 2_500_000_000n + 3_000n, transactions: [tx], defaultWitnessCommitment: "6a24aa21a9ed" + "00".repeat(32), id: "prev", ...over,
  });
  const tip = { hash: "bb".repeat(32), height: 200, mintime: 950 };

  it("builds the next block's work: height + 1, the tip as parent, the subsidy alone, no transactions, no witness commitment", () => {
    const r = coinbaseOnlyTemplate("regtest", previous(), tip, 2_000, "quick");
    expect(r).to.deep.equal({
      template: { height: 201, previousBlockHash: tip.hash, version: 0x20000000, bits: "207fffff", curtime: 2_000, mintime: 950, coinbaseValue: 2_500_000_000n, transactions: [], id: "quick" },
    });
    // A clock behind the chain never yields a time the node refuses (time-too-old).
    expect((coinbaseOnlyTemplate("regtest", previous(), tip, 500, "q") as { template: BlockTemplate }).template.curtime).to.equal(950);
  });

  it("halves the subsidy at the halving height (regtest every 150, mainnet's 840 000 = 3.125 coins)", () => {
    const r = coinbaseOnlyTemplate("regtest", previous({ height: 299, transactions: [], coinbaseValue: 2_500_000_000n }), { ...tip, height: 299 }, 2_000, "q");
    expect((r as { template: BlockTemplate }).template.coinbaseValue).to.equal(1_250_000_000n);
    expect(blockSubsidy(840_000, 210_000)).to.equal(312_500_000n);
    expect(blockSubsidy(839_999, 210_000)).to.equal(625_000_000n);
    expect(blockSubsidy(64 * 150, 150)).to.equal(0n);
  });

  it("refuses where the next header's bits or version may change, or the chain's rules are not known", () => {
    const main = (height: number) => previous({ height, transactions: [], coinbaseValue: blockSubsidy(height, 210_000), bits: "17034219" });
    expect(coinbaseOnlyTemplate("main", main(2015), { ...tip, height: 2015 }, 2_000, "q")).to.deep.equal({ skip: "height 2016 is a difficulty retarget" });
    expect(coinbaseOnlyTemplate("main", main(2016), { ...tip, height: 2016 }, 2_000, "q")).to.have.property("template");
    const v = previous({ height: 143, transactions: [], coinbaseValue: 5_000_000_000n });
    expect(coinbaseOnlyTemplate("regtest", v, { ...tip, height: 143 }, 2_000, "q")).to.deep.equal({ skip: "height 144 starts a new version-bits window" });
    for (const chain of ["test", "testnet4", "signet", undefined]) {
      expect(coinbaseOnlyTemplate(chain, previous(), tip, 2_000, "q")).to.have.property("skip").that.matches(/has no coinbase-only rules/);
    }
  });

  it("refuses a template whose subsidy is not the named chain's (a mislabelled chain would make invalid blocks)", () => {
    // A testnet-style value (3.125 coins at height 200) labelled regtest.
    const lie = previous({ transactions: [], coinbaseValue: 312_500_000n });
    expect(coinbaseOnlyTemplate("regtest", lie, tip, 2_000, "q")).to.deep.equal({ skip: "previous template's subsidy 312500000 is not regtest's at height 200" });
    // Fees that do not add up (coinbase value below subsidy + fees) are caught the same way.
    expect(coinbaseOnlyTemplate("regtest", previous({ coinbaseValue: 2_500_000_000n }), tip, 2_000, "q")).to.have.property("skip");
  });

  it("refuses a tip that is not the block the pool was mining, an unchanged tip, and a minimum time that goes back", () => {
    expect(coinbaseOnlyTemplate("regtest", previous(), { ...tip, height: 201 }, 2_000, "q")).to.have.property("skip").that.matches(/does not replace the block the pool was mining/);
    expect(coinbaseOnlyTemplate("regtest", previous(), { ...tip, hash: "aa".repeat(32) }, 2_000, "q")).to.deep.equal({ skip: "tip unchanged" });
    expect(coinbaseOnlyTemplate("regtest", previous(), { ...tip, mintime: 899 }, 2_000, "q")).to.have.property("skip").that.matches(/mintime 899/);
  });
});

describe("recent block times (the next block's minimum time without asking the node)", () => {
  // A chain of 30 headers with times out of order (as real miners' clocks are).
  const times = [500, 480, 530, 510, 470, 560, 540, 520, 590, 505, 600, 580, 610, 575, 620, 640, 600, 650, 630, 660, 700, 690, 710, 705, 720, 730, 725, 740, 735, 750];
  const hashOf = (i: number, fork = "") => hashToDisplayHex(sha256d(Buffer.from(`h${fork}${i}`)));
  const headers = new Map<string, HeaderInfo>();
  times.forEach((time, i) => headers.set(hashOf(i), { hash: hashOf(i), height: i, time, previousblockhash: i ? hashOf(i - 1) : undefined }));
  const medianOf11EndingAt = (ts: number[]) => [...ts.slice(-11)].sort((a, b) => a - b)[5];
  let calls = 0;
  const fetch = async (hash: string) => {
    calls++;
    const h = headers.get(hash);
    if (!h) throw new Error(`no header ${hash}`);
    return h;
  };

  it("bounds the median time past of the unknown next tip from the 10 blocks before it, for any time that tip has", async () => {
    const w = new RecentBlockTimes(fetch);
    calls = 0;
    await w.follow(hashOf(20));
    expect(calls).to.equal(10);
    const bound = w.mintimeAfterChildOf(hashOf(20))!;
    expect(bound).to.equal([...times.slice(11, 21)].sort((a, b) => a - b)[5] + 1);
    // Whatever time the next tip (height 21) carries, its child's minimum time is at most the bound.
    for (const t of [0, 400, 600, 650, 700, 1e9]) expect(medianOf11EndingAt([...times.slice(0, 21), t]) + 1).to.be.at.most(bound);
    // And the bound is reached: it is the tightest safe value.
    expect(medianOf11EndingAt([...times.slice(0, 21), 1e9]) + 1).to.equal(bound);
    expect(w.mintimeAfterChildOf(hashOf(19))).to.equal(undefined); // only for the newest block known
  });

  it("extends by one header per block, re-walks after a reorg, keeps its window when the node fails, and says nothing near genesis", async () => {
    const w = new RecentBlockTimes(fetch);
    await w.follow(hashOf(20));
    calls = 0;
    await w.follow(hashOf(21));
    expect(calls).to.equal(1);
    expect(w.mintimeAfterChildOf(hashOf(21))).to.equal([...times.slice(12, 22)].sort((a, b) => a - b)[5] + 1);
    // A fork from block 18: two new blocks whose parent is not the newest known.
    headers.set(hashOf(19, "f"), { hash: hashOf(19, "f"), height: 19, time: 10_000, previousblockhash: hashOf(18) });
    headers.set(hashOf(20, "f"), { hash: hashOf(20, "f"), height: 20, time: 10_001, previousblockhash: hashOf(19, "f") });
    await w.follow(hashOf(20, "f"));
    expect(w.tip).to.equal(hashOf(20, "f"));
    expect(w.mintimeAfterChildOf(hashOf(21))).to.equal(undefined);
    expect(w.mintimeAfterChildOf(hashOf(20, "f"))).to.equal([...times.slice(11, 19), 10_000, 10_001].sort((a, b) => a - b)[5] + 1);
    // The node cannot answer: the window stays as it was, and follow() does not throw.
    await w.follow("ee".repeat(32));
    expect(w.tip).to.equal(hashOf(20, "f"));
    const young = new RecentBlockTimes(fetch);
    await young.follow(hashOf(5));
    expect(young.mintimeAfterChildOf(hashOf(5))).to.equal(undefined);
  });
});
