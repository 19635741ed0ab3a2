/**
 * PPS and FPPS end to end on the real components: shares with real SHA256d work on a small chain
 * (test/audit.chain.helpers.ts), a real SQLite share store, the real EpochBuilder and Committer
 * (scheduled epoch → fund → proposeRoot → acceptRoot) on a PayoutPool deployed on the Hardhat EVM,
 * a miner's claim with its proof, and `pool audit`'s checks recomputing every credit from the
 * chain. A dishonest operator (a credit changed, file / digests / root re-derived consistently,
 * its root proposed on a contract the test deploys) and an unannounced change of scheme are each
 * rejected with the cause named.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { auditEpoch, keccak256Hex, parseEpochFile, serializeEpochFile, EpochBuilder } from "../src/epochs";
import { auditEpochParallel } from "../src/audit/parallel";
import { contractLookup } from "../src/audit/contract";
import { PublishedHeaderChain, type PowChainView } from "../src/audit/powchain";
import { Committer } from "../src/committer";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { PayoutTree } from "../src/merkle";
import { bitsToTarget, DIFF1 } from "../src/pow";
import { openShareStore, type ShareStore } from "../src/shares";
import { difficultyToUnits } from "../src/shares/difficulty";
import { REGTEST_SUBSIDY, subsidyAt, type PayoutScheme } from "../src/schemes/credit";
import type { AcceptedShare } from "../src/stratum/events";
import type { TemplateSource } from "../src/chain/types";
import { ADDR, MINERS, MiniChain, NBITS, POOL_SCRIPT, found } from "./audit.chain.helpers";

const UNITS_PER_SAT = 10n ** 10n; // the native coin: 18 decimals
const ASSET = { symbol: "ETH", decimals: 18, unitsPerSatoshi: UNITS_PER_SAT.toString() };
const HOUR = 3600_000;

/** The per-share credit worked out here from the definition, independently of src/schemes: d/D × subsidy × (1 − fee), one floor. */
function expectedPps(shares: AcceptedShare[], feeBps: number): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const target = bitsToTarget(NBITS);
  for (const s of shares) {
    const units = difficultyToUnits(s.difficulty);
    // d = units / 10^12; D = DIFF1 / target; credit = d / D × subsidy × ups × (1 − bps / 10^4)
    const credit = (units * target * subsidyAt(s.height, REGTEST_SUBSIDY) * UNITS_PER_SAT * BigInt(10_000 - feeBps)) / (10n ** 12n * DIFF1 * 10_000n);
    out.set(s.address, (out.get(s.address) ?? 0n) + credit);
  }
  return out;
}

/** The published header chain plus per-block fees, as bitcoind's getblockstats would give them. */
class HeaderChainWithFees extends PublishedHeaderChain implements PowChainView {
  override readonly blockFees: (height: number) => Promise<bigint | undefined>;
  constructor(text: string, fees: (height: number) => bigint) {
    super(text.split("\n").filter((l) => l.trim() !== ""));
    this.blockFees = async (height) => ((await this.atHeight(height)) ? fees(height) : undefined);
  }
}

describe("PPS / FPPS end to end: shares → scheduled epoch → funded root → claim → audit", function () {
  this.timeout(300_000);
  let evm: EmbeddedEvm;
  let clients: EvmClients;
  let dir: string;
  let chain: MiniChain;
  const stores: ShareStore[] = [];
  const builders: EpochBuilder[] = [];

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

  async function timeTravel(seconds: number): Promise<void> {
    await clients.publicClient.request({ method: "evm_increaseTime" as never, params: [seconds] as never });
    await clients.publicClient.request({ method: "evm_mine" as never, params: [] as never });
  }

  /** A pool's accounting half: store, builder (scheme, clock) and the real committer. */
  async function pool(name: string, contract: Address, scheme: PayoutScheme, opts: { clock: { now: number }; fees?: (h: number) => bigint; parameterChange?: { fromEpoch: number; scheme?: PayoutScheme; feeBps?: number } }) {
    const dataDir = path.join(dir, name);
    const store = await openShareStore({ kind: "sqlite", dataDir });
    stores.push(store);
    const builder = new EpochBuilder({
      store,
      dataDir,
      powChain: "embedded",
      evmChainId: 31337,
      contract,
      feeBps: 100,
      feeAddress: ADDR("f"),
      payoutScript: POOL_SCRIPT,
      asset: ASSET,
      headerChain: () => chain.headers.map((h) => h.toString("hex")),
      scheme,
      intervalSeconds: 3600,
      now: () => opts.clock.now,
      ...(opts.fees ? { blockFees: async (h: number) => opts.fees!(h) } : {}),
      ...(opts.parameterChange ? { parameterChange: opts.parameterChange } : {}),
    });
    builders.push(builder);
    const source = { confirmations: async () => 1, current: () => ({ height: chain.height + 1 }) } as unknown as TemplateSource;
    const committer = new Committer({
      store,
      source,
      evm: clients,
      contract,
      confirmations: 1,
      fundEpochs: true,
      pollMs: 100,
      buildNextEpoch: async () => {
        const built = await builder.build();
        return built ? store.epoch(built.number) : undefined;
      },
      logger: pino({ level: "silent" }),
      dataDir,
    });
    const record = async (shares: AcceptedShare[]) => {
      for (const s of shares) {
        await store.recordShare(s);
        if (s.isBlock) {
          await store.recordBlock(found(s), s);
          await store.updateBlock(s.hash, { status: "confirmed", confirmations: 1 });
        }
      }
    };
    return { store, builder, committer, record, dataDir };
  }

  const headers = () => PublishedHeaderChain.parse(chain.text());
  const balance = (a: Address) => clients.publicClient.getBalance({ address: a });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "schemes-e2e-"));
    evm = await startEmbeddedEvm({ port: 0 });
    clients = await connectEvm(evm.rpcUrl, hardhatDevKey(0));
    chain = new MiniChain();
  });

  after(async () => {
    for (const b of builders) await b.close().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    await evm?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("PPS: two scheduled epochs, funded by the committer, claimed, audited (chain + contract) with exact credits", async () => {
    const contract = await deploy();
    const clock = { now: 0 };
    const p = await pool("pps", contract, "pps", { clock });
    const e1: AcceptedShare[] = [];
    for (let i = 0; i < 14; i++) e1.push(chain.mine(i % 3));
    e1.push(chain.mine(1, { isBlock: true })); // found block: the operator's, not the ledger's
    for (let i = 0; i < 4; i++) e1.push(chain.mine(i % 3));
    await p.record(e1);

    // Not due yet: 10 minutes after the first share.
    clock.now = e1[0].time + 10 * 60_000;
    await p.committer.tick();
    expect(await p.store.latestEpoch()).to.equal(undefined);

    // An hour after the first share: the scheduled epoch is built, funded and proposed.
    clock.now = e1[0].time + HOUR;
    await p.committer.tick();
    const rec1 = await p.store.epoch(1);
    expect(rec1?.state).to.equal("proposed");
    const f1 = parseEpochFile(fs.readFileSync(rec1!.filePath));
    expect(f1.scheme).to.include({ name: "pps", firstShareId: 1, lastShareId: 19, shareCount: 19 });
    expect(f1.blocks).to.deep.equal([]);
    expect(rec1!.blocks).to.deep.equal([e1[14].hash]); // the found block is recorded as the operator's
    // Exact credits, worked out here from the definition.
    const expected = expectedPps(e1, 100);
    for (let i = 0; i < f1.leaves.accounts.length; i++) expect(f1.leaves.delta[i]).to.equal(expected.get(f1.leaves.accounts[i]));
    expect(BigInt(f1.reward)).to.equal([...expected.values()].reduce((a, b) => a + b, 0n));
    // The committer funded exactly the credits before proposing.
    const funded = await clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "totalFunded" });
    expect(funded).to.equal(BigInt(f1.totalCumulative));

    await timeTravel(5);
    await p.committer.tick();
    expect((await p.store.epoch(1))?.state).to.equal("accepted");

    // Miner 0 claims with its proof: paid exactly its credits.
    const tree = PayoutTree.fromSorted(f1.leaves.accounts, f1.leaves.cumulative);
    const leaf = tree.proofFor(MINERS[0])!;
    const before = await balance(leaf.account);
    await send(await clients.walletClient!.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "claim", args: [leaf.account, leaf.cumulative, leaf.proof] }));
    expect((await balance(leaf.account)) - before).to.equal(expected.get(MINERS[0]));

    // The audit recomputes every credit from the chain and passes; the parallel path (`pool audit`) agrees.
    const lookup = await contractLookup(clients.publicClient, contract);
    const r1 = await auditEpoch({ epochFile: rec1!.filePath, chain: headers(), contract: lookup, contractAddress: contract });
    expect(r1.findings).to.deep.equal([]);
    const r1p = await auditEpochParallel({ epochFile: rec1!.filePath, chain: headers(), contract: lookup, contractAddress: contract, threads: 1 });
    expect(r1p.findings).to.deep.equal([]);

    // Epoch 2: due an hour after epoch 1 was built, credits the shares after share 19.
    const e2: AcceptedShare[] = [];
    for (let i = 0; i < 7; i++) e2.push(chain.mine((i + 1) % 3));
    await p.record(e2);
    clock.now = rec1!.createdAt + 30 * 60_000;
    await p.committer.tick();
    expect(await p.store.epoch(2)).to.equal(undefined);
    clock.now = rec1!.createdAt + HOUR;
    await p.committer.tick();
    const rec2 = (await p.store.epoch(2))!;
    const f2 = parseEpochFile(fs.readFileSync(rec2.filePath));
    expect(f2.scheme).to.include({ firstShareId: 20, lastShareId: 26, shareCount: 7 });
    const exp2 = expectedPps(e2, 100);
    for (let i = 0; i < f2.leaves.accounts.length; i++) expect(f2.leaves.delta[i]).to.equal(exp2.get(f2.leaves.accounts[i]) ?? 0n);
    const r2 = await auditEpoch({ epochFile: rec2.filePath, previousEpochFile: rec1!.filePath, chain: headers(), contract: await contractLookup(clients.publicClient, contract), contractAddress: contract });
    expect(r2.findings).to.deep.equal([]);
  });

  it("PPS, a dishonest operator: one credit raised, file / root / data hash re-derived and proposed on chain: rejected, cause named", async () => {
    const contract = await deploy();
    const clock = { now: 0 };
    const p = await pool("pps-forger", contract, "pps", { clock });
    const shares: AcceptedShare[] = [];
    for (let i = 0; i < 9; i++) shares.push(chain.mine(i % 3));
    await p.record(shares);
    clock.now = shares[0].time + HOUR;
    const honest = (await p.builder.build())!;
    // Raise miner 1's credit by 1 000 000 wei and re-derive everything consistently.
    const f = parseEpochFile(fs.readFileSync(honest.filePath));
    const i = f.leaves.accounts.indexOf(MINERS[1]);
    f.leaves.delta[i] += 1_000_000n;
    f.leaves.cumulative[i] += 1_000_000n;
    f.reward = (BigInt(f.reward) + 1_000_000n).toString();
    const tree = PayoutTree.fromSorted(f.leaves.accounts, f.leaves.cumulative);
    f.root = tree.root;
    f.totalCumulative = tree.total.toString();
    const bytes = serializeEpochFile(f);
    const forged = path.join(dir, "pps-forger", "forged", path.basename(honest.filePath));
    fs.mkdirSync(path.dirname(forged), { recursive: true });
    fs.writeFileSync(forged, bytes);
    fs.copyFileSync(honest.shareLogPath, path.join(path.dirname(forged), path.basename(honest.shareLogPath)));
    const w = clients.walletClient!;
    await send(await w.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "fund", args: [tree.total], value: tree.total }));
    await send(await w.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "proposeRoot", args: [1n, tree.root, tree.total, keccak256Hex(bytes), "file:///forged.json"] }));

    const report = await auditEpoch({ epochFile: forged, chain: headers(), contract: await contractLookup(clients.publicClient, contract), contractAddress: contract });
    expect(report.ok).to.equal(false);
    // The tree, the contract and the digests agree with the forgery: only the recomputed credits do not.
    expect(report.findings.filter((x) => !x.startsWith("pps: "))).to.deep.equal([]);
    expect(report.findings.join("\n")).to.include(`pps: first differing leaf: leaf ${i} (${MINERS[1]}) has delta ${f.leaves.delta[i]}, the shares and the chain give ${f.leaves.delta[i] - 1_000_000n}`);
    // And the honest file passes against its own numbers.
    expect((await auditEpoch({ epochFile: honest.filePath, chain: headers() })).findings).to.deep.equal([]);
  });

  it("PPS without the chain: the credits are not taken on the file's word", async () => {
    const contract = await deploy();
    const clock = { now: 0 };
    const p = await pool("pps-nochain", contract, "pps", { clock });
    const shares = [chain.mine(0), chain.mine(1)];
    await p.record(shares);
    clock.now = shares[0].time + HOUR;
    const e = (await p.builder.build())!;
    const r = await auditEpoch({ epochFile: e.filePath });
    expect(r.findings).to.deep.equal(["pps: credits not recomputed: no proof-of-work chain to read each share's difficulty, subsidy and fees from (pass --headers or --bitcoind)"]);
  });

  it("a switch from PPLNS to PPS announced an epoch ahead passes; the same switch unannounced is named", async () => {
    for (const announced of [true, false]) {
      const contract = await deploy();
      const clock = { now: 0 };
      const name = announced ? "switch-announced" : "switch-silent";
      const first = await pool(name, contract, "pplns", { clock, ...(announced ? { parameterChange: { fromEpoch: 2, scheme: "pps" as const } } : {}) });
      const e1: AcceptedShare[] = [];
      for (let i = 0; i < 6; i++) e1.push(chain.mine(i % 3));
      e1.push(chain.mine(2, { isBlock: true }));
      e1.push(chain.mine(0)); // after the block: unpaid by PPLNS, credited by the PPS epoch
      await first.record(e1);
      const b1 = (await first.builder.build())!;
      expect(b1.header.scheme).to.equal(undefined);
      if (announced) expect(b1.header.parameters).to.deep.equal({ fromEpoch: 2, feeBps: 100, factor: "2", scheme: "pps" });
      // Epoch 2: the announced builder switches by itself; the silent operator restarts with scheme pps.
      let builder = first.builder;
      if (!announced) {
        await first.builder.close();
        builder = new EpochBuilder({ store: first.store, dataDir: first.dataDir, powChain: "embedded", evmChainId: 31337, contract, feeBps: 100, feeAddress: ADDR("f"), payoutScript: POOL_SCRIPT, asset: ASSET, headerChain: () => chain.headers.map((h) => h.toString("hex")), scheme: "pps", now: () => clock.now });
        builders.push(builder);
      }
      const e2 = [chain.mine(1), chain.mine(2)];
      await first.record(e2);
      clock.now = Date.now() + 2 * HOUR;
      const b2 = (await builder.build())!;
      expect(b2.header.scheme).to.include({ name: "pps", firstShareId: 8, lastShareId: 10 });
      const r = await auditEpoch({ epochFile: b2.filePath, previousEpochFile: b1.filePath, chain: headers() });
      if (announced) expect(r.findings).to.deep.equal([]);
      else expect(r.findings).to.deep.equal(["parameters: payout scheme changed from pplns to pps without an announcement an epoch ahead (expected pplns as in epoch 1, with no change announced for epoch 2)"]);
    }
  });

  it("FPPS: credits include the 144-block average fees read from the chain; an auditor whose chain has other fees names the differing leaves", async () => {
    const contract = await deploy();
    const clock = { now: 0 };
    const fee = (h: number) => BigInt(1000 + 7 * h);
    const p = await pool("fpps", contract, "fpps", { clock, fees: fee });
    const shares: AcceptedShare[] = [];
    for (let i = 0; i < 8; i++) shares.push(chain.mine(i % 3));
    await p.record(shares);
    clock.now = shares[0].time + HOUR;
    await p.committer.tick();
    const rec = (await p.store.epoch(1))!;
    expect(rec.state).to.equal("proposed");
    const f = parseEpochFile(fs.readFileSync(rec.filePath));
    expect(f.scheme).to.include({ name: "fpps", feeBlocks: 144 });
    // Worked out here: d/D × (subsidy + average fee of the blocks before the share's height) × 0.99.
    const target = bitsToTarget(NBITS);
    const expected = new Map<string, bigint>();
    for (const s of shares) {
      const from = Math.max(1, s.height - 144);
      let sum = 0n;
      for (let h = from; h < s.height; h++) sum += fee(h);
      const n = BigInt(s.height - from);
      const c = (difficultyToUnits(s.difficulty) * target * UNITS_PER_SAT * 9900n * (subsidyAt(s.height, REGTEST_SUBSIDY) * n + sum)) / (10n ** 12n * DIFF1 * 10_000n * n);
      expected.set(s.address, (expected.get(s.address) ?? 0n) + c);
    }
    for (let i = 0; i < f.leaves.accounts.length; i++) expect(f.leaves.delta[i]).to.equal(expected.get(f.leaves.accounts[i]));
    const pps = expectedPps(shares, 100);
    for (const [a, v] of pps) expect(expected.get(a)! > v).to.equal(true); // the fees add something

    await timeTravel(5);
    await p.committer.tick();
    expect((await p.store.epoch(1))?.state).to.equal("accepted");
    const lookup = await contractLookup(clients.publicClient, contract);
    const ok = await auditEpoch({ epochFile: rec.filePath, chain: new HeaderChainWithFees(chain.text(), fee), contract: lookup, contractAddress: contract });
    expect(ok.findings).to.deep.equal([]);
    // The auditor's chain says other fees: every credit differs, and the audit says so.
    const other = await auditEpoch({ epochFile: rec.filePath, chain: new HeaderChainWithFees(chain.text(), (h) => fee(h) + 500n), contract: lookup, contractAddress: contract });
    expect(other.findings.some((x) => x.startsWith("fpps: first differing leaf: leaf 0"))).to.equal(true);
    // A header chain alone cannot give fees: not recomputed, and said.
    const bare = await auditEpoch({ epochFile: rec.filePath, chain: headers() });
    expect(bare.findings).to.deep.equal(["fpps: credits not recomputed: published header chain gives no per-block fees (an FPPS audit needs --bitcoind, whose getblockstats gives them, or a published header chain that carries each block's coinbase)"]);
  });
});
