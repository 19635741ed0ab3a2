/**
 * `pool audit` anchored to the proof-of-work chain, the contract and itself, against a consistent
 * forger: the forged shares go into the operator's own store (or the files are re-derived, new
 * digests and roots), the real EpochBuilder writes the files, and the forged root is proposed
 * (and accepted) on a PayoutPool the test deploys on the Hardhat EVM. Each tampering must be
 * rejected with its cause named; the honest pool's epochs pass.
 */
import { expect } from "chai";
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { auditEpoch, digestHex, keccak256Hex, parseEpochFile, parseShareLog, serializeEpochFile, type BuiltEpoch } from "../src/epochs";
import { contractLookup } from "../src/audit/contract";
import { PublishedHeaderChain, HeaderChainError } from "../src/audit/powchain";
import { auditCommand } from "../src/cli/audit";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { PayoutTree } from "../src/merkle";
import type { AcceptedShare } from "../src/stratum/events";
import { MiniChain, Operator, REWARD } from "./audit.chain.helpers";

describe("audit: anchored to the chain, the contract and itself (a consistent forger)", function () {
  this.timeout(300_000);
  let evm: EmbeddedEvm;
  let clients: EvmClients;
  let dir: string;
  let chain: MiniChain;
  let headers: PublishedHeaderChain;
  /** Epoch 1's shares (block B1 last), epoch 2's (block B2 last), and held-back real shares. */
  let e1: AcceptedShare[];
  let e2: AcceptedShare[];
  let heldBack: AcceptedShare;
  const operators: Operator[] = [];

  async function deploy(): Promise<Address> {
    const d = await deployPayoutPool(clients, {
      token: "0x0000000000000000000000000000000000000000",
      admin: clients.account!.address,
      operator: clients.account!.address,
      guardian: privateKeyToAccount(hardhatDevKey(1)).address,
      challengeWindow: 1,
      maxPause: 3600,
    });
    return d.address;
  }

  async function send(hash: Hex): Promise<void> {
    const r = await clients.publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
  }

  /** Funds, proposes and (with `accept`) accepts a root on `contract`, as the forger's committer would. */
  async function propose(contract: Address, e: { number: number; root: Hex; totalCumulative: bigint; dataHash: Hex }, accept = true): Promise<void> {
    const w = clients.walletClient!;
    const funded = await clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "totalFunded" });
    if (e.totalCumulative > funded) await send(await w.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "fund", args: [e.totalCumulative - funded], value: e.totalCumulative - funded }));
    await send(await w.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "proposeRoot", args: [BigInt(e.number), e.root, e.totalCumulative, e.dataHash, `file:///epoch-${e.number}.json`] }));
    if (!accept) return;
    await clients.publicClient.request({ method: "evm_increaseTime" as never, params: [5] as never });
    await clients.publicClient.request({ method: "evm_mine" as never, params: [] as never });
    await send(await w.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "acceptRoot" }));
  }

  async function operator(name: string, contract: Address, opts: ConstructorParameters<typeof Operator>[2] = {}): Promise<Operator> {
    const op = await new Operator(path.join(dir, name), chain, { contract, ...opts }).open();
    operators.push(op);
    return op;
  }

  async function audit(e: { filePath: string }, previous: { filePath: string } | undefined, contract: Address, extra: Partial<Parameters<typeof auditEpoch>[0]> = {}) {
    return auditEpoch({
      epochFile: e.filePath,
      previousEpochFile: previous?.filePath,
      chain: headers,
      contract: await contractLookup(clients.publicClient, contract),
      contractAddress: contract,
      ...extra,
    });
  }

  /** Re-derives an epoch file after `edit` changed it: new root and total from its leaves; returns its path and chain values. */
  function rederive(file: string, out: string, edit: (f: ReturnType<typeof parseEpochFile>) => void) {
    const f = parseEpochFile(fs.readFileSync(file));
    edit(f);
    const tree = PayoutTree.fromSorted(f.leaves.accounts, f.leaves.cumulative);
    f.root = tree.root;
    f.totalCumulative = tree.total.toString();
    const bytes = serializeEpochFile(f);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, bytes);
    return { filePath: out, number: f.epoch, root: f.root, totalCumulative: tree.total, dataHash: keccak256Hex(bytes) };
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-tamper-"));
    evm = await startEmbeddedEvm({ port: 0 });
    clients = await connectEvm(evm.rpcUrl, hardhatDevKey(0));
    chain = new MiniChain();
    // A real share mined on height 1 and never credited (the forger's "outside" share).
    e1 = [];
    for (let i = 0; i < 30; i++) e1.push(chain.mine(i % 3));
    heldBack = chain.mine(2);
    e1.push(chain.mine(1, { isBlock: true }));
    e2 = [];
    for (let i = 0; i < 8; i++) e2.push(chain.mine(i % 3));
    e2.push(chain.mine(0, { isBlock: true }));
    // Two more blocks on top so that both blocks are a few deep.
    chain.mine(2, { isBlock: true });
    headers = PublishedHeaderChain.parse(chain.text());
  });

  after(async () => {
    for (const op of operators) await op.close().catch(() => undefined);
    await evm?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the honest pool's two epochs pass, anchored to the published header chain and the contract", async () => {
    const contract = await deploy();
    const op = await operator("honest", contract);
    await op.record(e1);
    const b1 = await op.build();
    await propose(contract, b1);
    await op.record(e2);
    const b2 = await op.build();
    await propose(contract, b2, false);
    // The builder published the header chain next to the epochs, and it verifies.
    expect(PublishedHeaderChain.parse(fs.readFileSync(op.headersFile(), "utf8"))).to.be.instanceOf(PublishedHeaderChain);
    const r1 = await audit(b1, undefined, contract);
    expect(r1.findings).to.deep.equal([]);
    const r2 = await audit(b2, b1, contract);
    expect(r2.findings).to.deep.equal([]);
    expect(r2.anchors).to.deep.equal({ chain: "published header chain", contract: true });
    // The two windows overlap (so cross-epoch checks have something to compare).
    const f2 = parseEpochFile(fs.readFileSync(b2.filePath));
    expect(f2.blocks[0].window.firstShareId).to.be.lessThan(parseEpochFile(fs.readFileSync(b1.filePath)).blocks[0].shareId);
  });

  it("a share whose nbits say 207fffff, re-hashed with no work: passes without the chain, named against the chain's bits", async () => {
    const contract = await deploy();
    // Difficulty committed at most the network difficulty of 207fffff, so every work check holds.
    const forged = chain.mine(0, { nbits: "207fffff", committed: "0.0000000004", isBlock: true, on: { hash: chain.hashes[0], height: 0 } });
    const shares = [...e1.slice(0, 25), forged, ...e1.slice(25)];
    const op = await operator("nbits", contract);
    await op.record(shares.map((s) => s)); // the forged "block" is recorded as a share only
    const e = await op.build().catch(async () => {
      throw new Error("build failed");
    });
    await propose(contract, e);
    const unanchored = await auditEpoch({ epochFile: e.filePath });
    expect(unanchored.findings.filter((f) => /work:|pplns:/.test(f))).to.deep.equal([]);
    const r = await audit(e, undefined, contract);
    expect(r.ok).to.equal(false);
    expect(r.findings.join("\n")).to.match(/chain: share 26: nbits 207fffff are not the chain's bits [0-9a-f]{8} at height 1/);
  });

  it("the block-finding share's difficulty raised so that it fills the window alone is named", async () => {
    const contract = await deploy();
    const b = e1[e1.length - 1];
    // The forger's job for the block share commits to 2 × the network difficulty (= N, the whole window).
    const raised = chain.mine(1, { isBlock: true, committed: "0.0000002", on: { hash: chain.hashes[0], height: 0 } });
    const op = await operator("raised", contract);
    await op.record([...e1.slice(0, -1), raised]);
    const e = await op.build();
    await propose(contract, e);
    const r = await audit(e, undefined, contract);
    expect(r.findings.join("\n")).to.match(/work: share 31: its coinbase commits to difficulty 0\.0000002, above the network difficulty of nbits/);
    expect(r.findings.join("\n")).to.match(/chain: block 0 \([0-9a-f]{64}\): not the chain's block at height 1/);
    expect(b.hash).to.not.equal(raised.hash);
  });

  it("a share duplicated under a fresh id, the newer ids shifted, is named", async () => {
    const contract = await deploy();
    const op = await operator("dup", contract);
    await op.record([...e1.slice(0, 27), e1[20], ...e1.slice(27)]);
    const e = await op.build();
    await propose(contract, e);
    const r = await audit(e, undefined, contract);
    expect(r.findings.join("\n")).to.match(/duplicate header: share 28 \(epoch 1\) repeats the header of share 21/);
  });

  it("three shares of one miner dropped from the middle of a window (the window extended with older shares) are named", async () => {
    const contract = await deploy();
    const op = await operator("dropped", contract);
    await op.record(e1);
    const b1 = await op.build();
    await propose(contract, b1);
    // Epoch 2's window reaches back into epoch 1's: the forger deletes three of miner a's shares
    // that both windows hold (ids 25, 28 and 31 would be a's… take the ones of address a).
    const db = new Database(path.join(op.dataDir, "shares.sqlite"));
    const log1 = parseShareLog(fs.readFileSync(b1.shareLogPath, "utf8")).entries;
    const victims = log1.filter((x) => x.address === e1[0].address && x.id >= 22).slice(-3).map((x) => x.id);
    expect(victims).to.have.length(3);
    db.prepare(`DELETE FROM shares WHERE id IN (${victims.join(",")})`).run();
    db.close();
    await op.record(e2);
    const b2 = await op.build();
    await propose(contract, b2, false);
    const r = await audit(b2, b1, contract);
    const text = r.findings.join("\n");
    for (const id of victims) expect(text).to.match(new RegExp(`consistency: block 0: the file lists ids ${id}\\.\\.${id} as a gap \\("not in the SQLite store[^"]*"\\), but share ${id} is in epoch 1's log: it was dropped`));
    // The forger who also strips the listed gaps from the file is named too.
    const stripped = rederive(b2.filePath, path.join(dir, "dropped-stripped", path.basename(b2.filePath)), (f) => {
      delete f.blocks[0].window.gaps;
    });
    fs.copyFileSync(b2.shareLogPath, path.join(dir, "dropped-stripped", path.basename(b2.shareLogPath)));
    const contract2 = await deploy();
    await propose(contract2, { ...b1 });
    await propose(contract2, stripped, false);
    const r2 = await audit(stripped, b1, contract2);
    expect(r2.findings.join("\n")).to.match(new RegExp(`consistency: block 0: share id ${victims[0]} missing from the middle of the window \\(1 share dropped\\?\\), and the file lists no such gap`));
  });

  it("an outside share swapped in for an inside one is named (chain order)", async () => {
    const contract = await deploy();
    const op = await operator("swap", contract);
    await op.record(e1.filter((s) => s !== heldBack));
    const b1 = await op.build();
    await propose(contract, b1);
    // In epoch 2's window, the held-back real share (mined on height 1) replaces one mined on height 2.
    await op.record([...e2.slice(0, 4), heldBack, ...e2.slice(5)]);
    const b2 = await op.build();
    await propose(contract, b2, false);
    const r = await audit(b2, b1, contract);
    expect(r.findings.join("\n")).to.match(/chain: share \d+: mines height 1, but the older share \d+ already mined height 2: it is out of chain order/);
  });

  it("the fee raised from 100 to 500 bps without an announcement is named; announced an epoch ahead it passes", async () => {
    const contract = await deploy();
    const op = await operator("fee", contract);
    await op.record(e1);
    const b1 = await op.build();
    await propose(contract, b1);
    await op.record(e2);
    const raised = new Operator(op.dataDir, chain, { contract, feeBps: 500 });
    raised.store = op.store;
    await (async () => {
      const { EpochBuilder } = await import("../src/epochs");
      raised.builder = new EpochBuilder({ store: op.store, dataDir: op.dataDir, powChain: "embedded", evmChainId: 31337, contract, factor: "2", feeBps: 500, feeAddress: "0x" + "f".repeat(40), confirmations: 1, payoutScript: "51" });
    })();
    const b2 = (await raised.builder.build()) as BuiltEpoch;
    await propose(contract, b2, false);
    const r = await audit(b2, b1, contract);
    expect(r.findings.join("\n")).to.match(/parameters: fee changed from 100 to 500 bps without an announcement an epoch ahead/);

    const contract2 = await deploy();
    const honest = await operator("fee-announced", contract2, { parameterChange: { fromEpoch: 2, feeBps: 500 } });
    await honest.record(e1);
    const a1 = await honest.build();
    expect(parseEpochFile(fs.readFileSync(a1.filePath)).parameters).to.deep.equal({ fromEpoch: 2, feeBps: 500, factor: "2" });
    await propose(contract2, a1);
    await honest.record(e2);
    const a2 = await honest.build();
    expect(parseEpochFile(fs.readFileSync(a2.filePath)).fee.bps).to.equal(500);
    await propose(contract2, a2, false);
    expect((await audit(a2, a1, contract2)).findings).to.deep.equal([]);
  });

  it("the block reward lowered by 10 % against the coinbase is named", async () => {
    const contract = await deploy();
    const op = await operator("reward", contract);
    await op.record(e1, new Map([[e1[e1.length - 1], (REWARD * 9n) / 10n]]));
    const e = await op.build();
    await propose(contract, e);
    const r = await audit(e, undefined, contract);
    expect(r.findings.join("\n")).to.match(/chain: block 0 \([0-9a-f]{64}\): the epoch file's reward 4500000000 differs from the 5000000000 its coinbase pays to the pool's script 51/);
  });

  it("epoch N-1's file rewritten (a miner's cumulative lowered) with epoch N chained onto it is named against the contract", async () => {
    const contract = await deploy();
    const op = await operator("rewrite", contract);
    await op.record(e1);
    const b1 = await op.build();
    await propose(contract, b1);
    await op.record(e2);
    const b2 = await op.build();
    // Forged epoch 1: miner a loses 1000, miner b gains it; forged epoch 2 chains onto it.
    const a = e1[0].address;
    const b = e1[1].address;
    const f1 = rederive(b1.filePath, path.join(dir, "rewrite-forged", path.basename(b1.filePath)), (f) => {
      f.leaves.cumulative[f.leaves.accounts.indexOf(a)] -= 1000n;
      f.leaves.delta[f.leaves.accounts.indexOf(a)] -= 1000n;
      f.leaves.cumulative[f.leaves.accounts.indexOf(b)] += 1000n;
      f.leaves.delta[f.leaves.accounts.indexOf(b)] += 1000n;
    });
    fs.copyFileSync(b1.shareLogPath, path.join(dir, "rewrite-forged", path.basename(b1.shareLogPath)));
    const f2 = rederive(b2.filePath, path.join(dir, "rewrite-forged", path.basename(b2.filePath)), (f) => {
      f.previous = { epoch: 1, root: f1.root, dataHash: f1.dataHash };
      f.leaves.cumulative[f.leaves.accounts.indexOf(a)] -= 1000n;
      f.leaves.cumulative[f.leaves.accounts.indexOf(b)] += 1000n;
    });
    fs.copyFileSync(b2.shareLogPath, path.join(dir, "rewrite-forged", path.basename(b2.shareLogPath)));
    await propose(contract, f2, false);
    const r = await audit(f2, f1, contract);
    const text = r.findings.join("\n");
    expect(text).to.match(/contract: the previous epoch 1's file: the root on chain 0x[0-9a-f]{64} differs from the file's/);
    expect(text).to.match(/contract: the previous epoch 1's file: dataHash on chain/);
    // Everything else is consistent: that is the point of the forgery.
    expect(r.findings.filter((x) => !x.startsWith("contract:") && !x.startsWith("allocation:") && !x.startsWith("pplns:"))).to.deep.equal([]);
  });

  it("shares the chain does not know, paying another script, with ntime under the median time past, or an orphan block: each named", async () => {
    const contract = await deploy();
    const fork = chain.mine(0, { on: { hash: "ee".repeat(32), height: 1 } });
    const elsewhere = chain.mine(1, { script: "0014" + "01".repeat(20), on: { hash: chain.hashes[0], height: 0 } });
    const early = chain.mine(2, { ntime: 1_600_000_000, on: { hash: chain.hashes[0], height: 0 } });
    const orphan = chain.mine(1, { isBlock: true, on: { hash: chain.hashes[0], height: 0 } });
    const op = await operator("misc", contract);
    await op.record([...e1.slice(0, 20), fork, elsewhere, early, ...e1.slice(20, -1), orphan]);
    const e = await op.build();
    await propose(contract, e);
    const r = await audit(e, undefined, contract);
    const text = r.findings.join("\n");
    expect(text).to.match(/chain: share 21: builds on block e{64}, which is not in the chain \(published header chain\)/);
    expect(text).to.match(/chain: share 22: its coinbase pays 5000000000 to script 0014(01){20}, not to the pool's script 51/);
    expect(text).to.match(/chain: share 23: ntime 5f5e1000 \(1600000000\) is not above the median time past 1700000000 of block 0/);
    expect(text).to.match(/chain: block 0 \([0-9a-f]{64}\): not the chain's block at height 1 \(that is [0-9a-f]{64}; it is not in the chain at all\)/);
  });

  it("a share renumbered or edited between two epochs' windows is named (byte-identical rule)", async () => {
    const contract = await deploy();
    const op = await operator("edited", contract);
    await op.record(e1);
    const b1 = await op.build();
    await propose(contract, b1);
    await op.record(e2);
    const b2 = await op.build();
    // The forger edits one overlapping share's line in epoch 2's log (its worker), re-deriving the digest.
    const outDir = path.join(dir, "edited-forged");
    fs.mkdirSync(outDir);
    const lines = fs.readFileSync(b2.shareLogPath, "utf8").split("\n");
    const at = lines.findIndex((l) => l.includes(`"id":${b1.header.blocks[0].shareId - 2},`));
    lines[at] = lines[at].replace('"worker":"rig"', '"worker":"rig2"');
    const log = lines.join("\n");
    fs.writeFileSync(path.join(outDir, path.basename(b2.shareLogPath)), log);
    const f2 = rederive(b2.filePath, path.join(outDir, path.basename(b2.filePath)), (f) => {
      f.shareLog.digest = digestHex(f.shareLog.hash, log);
    });
    await propose(contract, f2, false);
    const r = await audit(f2, b1, contract);
    expect(r.findings.join("\n")).to.match(new RegExp(`consistency: share ${b1.header.blocks[0].shareId - 2} \\(block 0\\) differs from share ${b1.header.blocks[0].shareId - 2} in epoch 1's log`));
  });

  it("malformed input is a finding, never an exception: truncated line, unknown field, ids out of order, garbage epoch file", async () => {
    const contract = await deploy();
    const op = await operator("malformed", contract);
    await op.record(e1);
    const b = await op.build();
    const outDir = path.join(dir, "malformed-forged");
    fs.mkdirSync(outDir);
    const lines = fs.readFileSync(b.shareLogPath, "utf8").split("\n");
    lines[3] = lines[3].replace('"worker":', '"bonus":"1","worker":');
    [lines[5], lines[6]] = [lines[6], lines[5]];
    lines[lines.length - 2] = lines[lines.length - 2].slice(0, 100);
    fs.writeFileSync(path.join(outDir, path.basename(b.shareLogPath)), lines.join("\n"));
    fs.copyFileSync(b.filePath, path.join(outDir, path.basename(b.filePath)));
    const r = await audit({ filePath: path.join(outDir, path.basename(b.filePath)) }, undefined, contract);
    const text = r.findings.join("\n");
    expect(r.ok).to.equal(false);
    expect(text).to.match(/share log line 4: unknown field "bonus"/);
    expect(text).to.match(/pplns: block 0: share ids not ascending at \d+/);
    expect(text).to.match(/share log: share log line \d+: not JSON .*\(truncated line\?\)/);
    // An unknown field in the epoch file, and a file that is not JSON.
    const extra = JSON.parse(fs.readFileSync(b.filePath, "utf8"));
    extra.bonusPool = "1";
    fs.writeFileSync(path.join(outDir, "extra.json"), JSON.stringify(extra));
    const r2 = await auditEpoch({ epochFile: path.join(outDir, "extra.json"), shareLog: b.shareLogPath });
    expect(r2.findings.join("\n")).to.match(/format: the epoch file has an unknown field "bonusPool"/);
    fs.writeFileSync(path.join(outDir, "garbage.json"), "{ not json");
    const r3 = await auditEpoch({ epochFile: path.join(outDir, "garbage.json") });
    expect(r3.ok).to.equal(false);
    expect(r3.findings[0]).to.match(/^format: epoch file is not valid JSON/);
  });

  it("a published header chain without proof of work, or with other bits, is refused", () => {
    const text = chain.text().split("\n");
    const noWork = Buffer.from(text[2], "hex");
    noWork.writeUInt32LE(noWork.readUInt32LE(76) + 1, 76);
    expect(() => PublishedHeaderChain.parse([text[0], text[1], noWork.toString("hex")].join("\n"))).to.throw(HeaderChainError, /height 2 .* does not meet the target of its bits/);
    const relinked = [...text];
    relinked[2] = text[3];
    expect(() => PublishedHeaderChain.parse(relinked.join("\n"))).to.throw(HeaderChainError, /height 2 links to/);
  });

  it("pool audit --headers: the CLI reads the chain and the contract and exits 1 naming the forgery", async () => {
    const contract = await deploy();
    const op = await operator("cli", contract);
    await op.record(e1, new Map([[e1[e1.length - 1], (REWARD * 9n) / 10n]]));
    const e = await op.build();
    await propose(contract, e);
    const out: string[] = [];
    const code = await auditCommand(["--epoch", "1", "--dir", path.dirname(e.filePath), "--rpc", evm.rpcUrl, "--contract", contract, "--headers", op.headersFile()], (l) => out.push(l));
    expect(code).to.equal(1);
    expect(out.join("\n")).to.match(/AUDIT FAILED/);
    expect(out.join("\n")).to.match(/chain: block 0 .* the epoch file's reward 4500000000 differs from the 5000000000/);
    // The honest pool's epoch passes the same command.
    const contract2 = await deploy();
    const honest = await operator("cli-honest", contract2);
    await honest.record(e1);
    const h = await honest.build();
    await propose(contract2, h);
    const out2: string[] = [];
    const code2 = await auditCommand(["--epoch", "1", "--dir", path.dirname(h.filePath), "--rpc", evm.rpcUrl, "--contract", contract2], (l) => out2.push(l));
    expect(out2.join("\n")).to.match(/AUDIT PASSED/);
    expect(code2).to.equal(0);
  });
});
