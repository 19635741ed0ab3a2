import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { BitcoindSource, mapBlockTemplate } from "../src/chain/bitcoind";
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
          longpollid: this.tip + String(height),
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
    const warn = lines.find((l) => l.level === "warn")!;
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

  it("refuses malformed getblocktemplate results with a clear error", () => {
    const good = { height: 5, previousblockhash: "00".repeat(32), version: 0x20000000, bits: "207fffff", curtime: 1, coinbasevalue: 100, transactions: [] };
    expect(mapBlockTemplate(good, "x").coinbaseValue).to.equal(100n);
    expect(() => mapBlockTemplate({ ...good, bits: "zz" }, "x")).to.throw(/malformed result \(bits\)/);
    expect(() => mapBlockTemplate({ ...good, transactions: [{ data: "00", txid: "12" }] }, "x")).to.throw(/transactions\[0\]\.txid/);
    expect(() => mapBlockTemplate({ ...good, coinbasevalue: -1 }, "x")).to.throw(/coinbasevalue/);
  });
});
