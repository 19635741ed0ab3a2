/**
 * The audit on worker threads (src/audit/parallel.ts) against the single-threaded reference
 * (auditEpoch): on an honest epoch both pass; on a share log a forger and a buggy writer mangled in
 * many ways at once, both give exactly the same findings, in the same order, whatever the batch
 * size (lines cut across chunks, lines longer than a chunk, CRLF and lone CR line ends).
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { auditEpoch, digestHex, keccak256Hex, parseEpochFile, serializeEpochFile, type BuiltEpoch } from "../src/epochs";
import { auditEpochParallel } from "../src/audit/parallel";
import { PublishedHeaderChain } from "../src/audit/powchain";
import { MiniChain, Operator } from "./audit.chain.helpers";
import type { AcceptedShare } from "../src/stratum/events";

describe("audit on worker threads: the same findings as the reference", function () {
  this.timeout(300_000);
  let dir: string;
  let chain: MiniChain;
  let headers: PublishedHeaderChain;
  let op: Operator;
  let b1: BuiltEpoch;
  let b2: BuiltEpoch;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-parallel-"));
    chain = new MiniChain();
    const e1: AcceptedShare[] = [];
    for (let i = 0; i < 30; i++) e1.push(chain.mine(i % 3));
    e1.push(chain.mine(1, { isBlock: true }));
    const e2: AcceptedShare[] = [];
    for (let i = 0; i < 12; i++) e2.push(chain.mine(i % 3));
    e2.push(chain.mine(0, { isBlock: true }));
    chain.mine(2, { isBlock: true });
    headers = PublishedHeaderChain.parse(chain.text());
    op = await new Operator(path.join(dir, "pool"), chain).open();
    await op.record(e1);
    b1 = await op.build();
    await op.record(e2);
    b2 = await op.build();
  });

  after(async () => {
    await op?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("an honest epoch passes on both paths, with any batch size", async () => {
    const reference = await auditEpoch({ epochFile: b2.filePath, previousEpochFile: b1.filePath, chain: headers });
    expect(reference.findings).to.deep.equal([]);
    for (const chunkBytes of [300, 1 << 20]) {
      const r = await auditEpochParallel({ epochFile: b2.filePath, previousEpochFile: b1.filePath, chain: headers, threads: 2, chunkBytes });
      expect(r.findings, `chunk ${chunkBytes}`).to.deep.equal([]);
      expect(r.shares).to.equal(reference.shares);
      expect(r.root).to.equal(reference.root);
    }
  });

  it("a forged leaf (the tree rebuilt on a worker): the tree's findings in the reference's place", async () => {
    const out = path.join(dir, "forged-leaf");
    fs.mkdirSync(out);
    const f = parseEpochFile(fs.readFileSync(b2.filePath));
    f.leaves.cumulative[0] += 1n;
    f.leaves.delta[0] += 1n;
    const epochFile = path.join(out, path.basename(b2.filePath));
    fs.writeFileSync(epochFile, serializeEpochFile(f));
    fs.copyFileSync(b2.shareLogPath, path.join(out, path.basename(b2.shareLogPath)));
    const options = { epochFile, previousEpochFile: b1.filePath, chain: headers };
    const reference = await auditEpoch(options);
    expect(reference.findings.join("\n")).to.match(/tree: root mismatch/);
    const r = await auditEpochParallel({ ...options, threads: 2, chunkBytes: 1000 });
    expect(r.findings).to.deep.equal(reference.findings);
  });

  it("a share log mangled in many ways at once: identical findings, each cause named", async () => {
    const out = path.join(dir, "forged");
    fs.mkdirSync(out);
    const lines = fs.readFileSync(b2.shareLogPath, "utf8").split("\n");
    lines.pop(); // the final ""
    const edit = (i: number, f: (v: Record<string, unknown>) => void) => {
      const v = JSON.parse(lines[i]) as Record<string, unknown>;
      f(v);
      lines[i] = JSON.stringify(v);
    };
    const n = lines.length;
    // A share that both windows hold, edited (byte-identical rule), and one with nbits 207fffff.
    edit(2, (v) => (v.worker = "renamed-é✓")); // not ASCII: the batch is decoded as UTF-8
    edit(4, (v) => (v.nbits = "207fffff"));
    // Credited beyond 2^53, an upper-case address and hash (not canonical strings), an unknown field.
    edit(5, (v) => (v.credited = "123456789012345678901234567890"));
    edit(6, (v) => {
      v.address = (v.address as string).toUpperCase().replace("0X", "0x");
      v.hash = (v.hash as string).toUpperCase();
    });
    edit(7, (v) => (v.bonus = "1"));
    // A duplicated line under a fresh id, a line swapped out of order, garbage, a blank line.
    const dup = JSON.parse(lines[8]) as Record<string, unknown>;
    dup.id = 999_999;
    lines.splice(9, 0, JSON.stringify(dup));
    [lines[10], lines[11]] = [lines[11], lines[10]];
    lines.splice(12, 0, "not json at all", "");
    // A share's difficulty field raised (its coinbase says otherwise), and a line truncated.
    edit(3, (v) => (v.difficulty = "5"));
    lines[lines.length - 3] = lines[lines.length - 3].slice(0, 90);
    expect(lines.length).to.be.greaterThan(n);
    // CRLF endings in the middle, a lone CR, and no line break at the end of the file.
    const text = lines.slice(0, 14).join("\n") + "\n" + lines.slice(14, 18).join("\r\n") + "\r" + lines.slice(18).join("\n");
    fs.writeFileSync(path.join(out, path.basename(b2.shareLogPath)), text);
    const f = parseEpochFile(fs.readFileSync(b2.filePath));
    f.shareLog.digest = digestHex(f.shareLog.hash, text);
    fs.writeFileSync(path.join(out, path.basename(b2.filePath)), serializeEpochFile(f));
    const epochFile = path.join(out, path.basename(b2.filePath));

    for (const [what, extra] of [
      ["anchored, with work", { chain: headers }],
      ["no chain", {}],
      ["no work check", { chain: headers, checkWork: false }],
    ] as const) {
      const options = { epochFile, previousEpochFile: b1.filePath, ...extra };
      const reference = await auditEpoch(options);
      expect(reference.ok, what).to.equal(false);
      // Every batch size on the full audit; the smallest and the default on the others (each run starts two workers).
      for (const chunkBytes of what === "anchored, with work" ? [200, 1000, 1 << 20] : [200, 1 << 20]) {
        const r = await auditEpochParallel({ ...options, threads: 2, chunkBytes });
        expect(r.findings, `${what}, chunk ${chunkBytes}`).to.deep.equal(reference.findings);
        expect(r.shares).to.equal(reference.shares);
      }
      if (what !== "anchored, with work") continue;
      const all = reference.findings.join("\n");
      expect(all).to.match(/consistency: share \d+ \(block 0\) differs from share \d+ in epoch 1's log/);
      expect(all).to.match(/chain: share \d+: nbits 207fffff are not the chain's bits/);
      expect(all).to.match(/share log line 8: unknown field "bonus"/);
      expect(all).to.match(/duplicate header: share 999999 \(epoch 2\) repeats the header of share \d+/);
      expect(all).to.match(/share log: share log line 13: not JSON/);
      expect(all).to.match(/\(truncated line\?\)/);
      expect(all).to.match(/credited difficulty 5 differs from the difficulty [0-9.]+ its coinbase commits to/);
    }
  });
});
