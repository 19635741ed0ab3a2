/**
 * The audit's fast path (src/audit/fastline.ts) against the reference LineChecker, line by line:
 * on every line of a real epoch's share log, and on each line mutated the ways a forger or a buggy
 * writer would (a hex digit of every field changed, other spellings, other layouts, escapes, a
 * flipped block flag, a foreign difficulty, truncation), with and without the chain, the fast path
 * either declines the line or puts exactly the columns the reference's outcome encodes to. Every
 * honest share line that is not one of the epoch's blocks takes the fast path.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ChainAnchor } from "../src/audit/chaincheck";
import { FastLineChecker } from "../src/audit/fastline";
import { LineChecker } from "../src/audit/linecheck";
import { encodeOutcomes, OutcomeEncoder, type EncodedOutcomes } from "../src/audit/outcomecodec";
import { PublishedHeaderChain } from "../src/audit/powchain";
import { parseEpochFile, type BuiltEpoch } from "../src/epochs";
import type { AcceptedShare } from "../src/stratum/events";
import { MiniChain, Operator, POOL_SCRIPT } from "./audit.chain.helpers";

const COLUMNS = ["flags", "block", "id", "fingerprint", "height", "whole", "frac", "credited", "nbits", "headerHash", "address"] as const;

function columnsOf(enc: EncodedOutcomes): Record<string, number[]> {
  return Object.fromEntries(COLUMNS.map((c) => [c, Array.from(enc[c] as ArrayLike<number>)]));
}

/** Variants of a writer-layout line: each keeps the JSON valid or breaks it the way a bad file does. */
function mutations(line: string): string[] {
  const v = JSON.parse(line) as Record<string, unknown>;
  const out: string[] = [];
  const edit = (f: (x: Record<string, unknown>) => void, raw = false) => {
    const x = JSON.parse(line) as Record<string, unknown>;
    f(x);
    out.push(raw ? (x.__raw as string) : JSON.stringify(x));
  };
  const flipHex = (s: string, at: number) => s.slice(0, at) + (s[at] === "0" ? "1" : "0") + s.slice(at + 1);
  for (const k of ["coinb1", "coinb2", "extranonce1", "extranonce2", "prevhash", "version", "nbits", "ntime", "nonce", "hash", "address"]) {
    const s = v[k] as string;
    for (const at of [k === "address" ? 2 : 0, s.length - 1, Math.floor(s.length / 2)]) edit((x) => (x[k] = flipHex(s, at)));
    edit((x) => (x[k] = s.toUpperCase().replace(/^0X/, "0x")));
    edit((x) => (x[k] = s + "0"));
    edit((x) => (x[k] = s.slice(0, -2)));
    edit((x) => (x[k] = s.slice(0, 4) + '"\\' + s.slice(4))); // an escaped quote and backslash inside the hex
    edit((x) => (x[k] = s.slice(0, 4) + "\t" + s.slice(5)));
  }
  edit((x) => (x.merkleBranch = ["00".repeat(32)]));
  edit((x) => (x.merkleBranch = ["zz".repeat(32)]));
  edit((x) => (x.difficulty = "1e-8"));
  edit((x) => (x.difficulty = String(x.difficulty) + "0"));
  edit((x) => (x.credited = "0" + String(x.credited)));
  edit((x) => (x.credited = "123456789012345678901234567890"));
  edit((x) => (x.credited = "-1"));
  edit((x) => (x.id = 0));
  edit((x) => (x.id = -(x.id as number)));
  edit((x) => (x.id = (x.id as number) + 0.5));
  edit((x) => (x.block = 7));
  edit((x) => (x.height = -1));
  edit((x) => (x.isBlock = !x.isBlock));
  edit((x) => (x.worker = "w\u00e9"));
  edit((x) => (x.worker = 'a"b\\c'));
  edit((x) => (x.worker = "tab\there"));
  edit((x) => (x.bonus = 1));
  edit((x) => delete x.time);
  out.push(line.replace('"id":', '"id": '), line.replace("}", " }"), line + " ", line.slice(0, -1), line.slice(0, 100), line.replace(/"worker":"[^"]*"/, '"worker":"\\u0041"'));
  out.push(line.replace(/"isBlock":(true|false)/, '"isBlock":1'), line.replace(/"time":(\d+)/, '"time":1e3'), line.replace(/"time":(\d+)/, '"time":01'));
  // Keys swapped (the same JSON object, another layout).
  const { block, id, ...rest } = v;
  out.push(JSON.stringify({ id, block, ...rest }));
  return out;
}

describe("audit: the fast line path equals the reference, line by line", function () {
  this.timeout(300_000);
  let dir: string;
  let chain: MiniChain;
  let op: Operator;
  let built: BuiltEpoch;
  let previous: BuiltEpoch;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-fastline-"));
    chain = new MiniChain();
    const e1: AcceptedShare[] = [];
    for (let i = 0; i < 10; i++) e1.push(chain.mine(i % 3));
    e1.push(chain.mine(1, { isBlock: true }));
    const e2: AcceptedShare[] = [];
    // Some jobs with other transactions in the block (a merkle branch of one and of three steps).
    const branch = (n: number, seed: number) => Array.from({ length: n }, (_, k) => ((seed * 31 + k * 7) % 256).toString(16).padStart(2, "0").repeat(32));
    for (let i = 0; i < 16; i++) e2.push(chain.mine(i % 3, i % 4 === 1 ? { merkleBranch: branch(1 + (i % 3), i) } : {}));
    e2.push(chain.mine(0, { isBlock: true }));
    chain.mine(2, { isBlock: true });
    op = await new Operator(path.join(dir, "pool"), chain).open();
    await op.record(e1);
    previous = await op.build();
    await op.record(e2);
    built = await op.build();
  });

  after(async () => {
    await op?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const anchored of [true, false]) {
    it(`${anchored ? "with" : "without"} the chain: honest lines take the fast path, every variant agrees or is declined`, async () => {
      const file = parseEpochFile(fs.readFileSync(built.filePath));
      const blockHashes = new Set(file.blocks.map((b) => b.hash.toLowerCase()));
      const headers = PublishedHeaderChain.parse(chain.text());
      const anchorFor = () => (anchored ? new ChainAnchor({ chain: headers, payoutScript: POOL_SCRIPT }) : undefined);
      const fingerprintIds = { from: 1, to: 1_000 };
      const refChecker = new LineChecker({ checkWork: true, anchor: anchorFor(), blockHashes, fingerprintIds });
      const fastAnchor = anchorFor();
      const fastRef = new LineChecker({ checkWork: true, anchor: fastAnchor, blockHashes, fingerprintIds });
      const fast = new FastLineChecker({ anchor: fastAnchor, blockHashes, fingerprintIds, chainFailed: () => fastRef.chainStopped });
      const lines = fs.readFileSync(built.shareLogPath, "latin1").split("\n").slice(1, -1);
      // The chain's answers are cached by the reference's first look (as in the worker, which falls back on a miss).
      if (fastAnchor) for (const l of lines) await fastAnchor.lookup(JSON.parse(l).prevhash);

      const honestDeclined: number[] = [];
      let taken = 0;
      let declined = 0;
      for (const [n, line] of lines.entries()) {
        const honestBlock = blockHashes.has(JSON.parse(line).hash);
        for (const [k, variant] of [line, ...mutations(line)].entries()) {
          const reference = encodeOutcomes([await refChecker.check(variant, n + 2)]).encoded;
          const encoder = new OutcomeEncoder(1);
          const bytes = Buffer.from(variant, "latin1");
          if (!fast.tryLine(bytes, 0, bytes.length, encoder, 0)) {
            declined++;
            if (k === 0 && !honestBlock) honestDeclined.push(n + 2);
            continue;
          }
          taken++;
          expect(reference.extras, `line ${n + 2} variant ${k}: the reference found something: ${JSON.stringify(reference.extras)}`).to.deep.equal([]);
          expect(columnsOf(encoder.enc), `line ${n + 2} variant ${k}: ${variant}`).to.deep.equal(columnsOf(reference));
        }
      }
      expect(honestDeclined, "honest lines the fast path declined").to.deep.equal([]);
      expect(taken).to.be.greaterThan(lines.length - blockHashes.size - 1);
      expect(declined).to.be.greaterThan(lines.length * 40);
    });
  }

  it("a previous epoch's block share and the epoch's own blocks are declined (the reference reads their entries)", async () => {
    const file = parseEpochFile(fs.readFileSync(previous.filePath));
    const blockHashes = new Set(file.blocks.map((b) => b.hash.toLowerCase()));
    const fast = new FastLineChecker({ blockHashes, chainFailed: () => false });
    const lines = fs.readFileSync(previous.shareLogPath, "latin1").split("\n").slice(1, -1);
    const blockLines = lines.filter((l) => blockHashes.has(JSON.parse(l).hash));
    expect(blockLines.length).to.equal(file.blocks.length);
    for (const l of blockLines) expect(fast.tryLine(Buffer.from(l, "latin1"), 0, l.length, new OutcomeEncoder(1), 0)).to.equal(false);
  });
});
