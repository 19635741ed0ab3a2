/**
 * PPS/FPPS epochs on the build worker (src/epochs/build-worker.ts `prepareScheme`), as PPLNS ones:
 * real SQLite stores, the real builder on both paths. The worker's files are byte-identical to the
 * in-process build's (cold, and warm with the tree it kept), FPPS fees are asked of the caller's
 * chain once per block, a fee source that fails fails the build with its reason (and the worker
 * keeps serving), and the caller's event loop stays responsive while a large epoch builds.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { EpochBuilder, parseEpochFile, type BuiltEpoch } from "../src/epochs";
import { BITCOIN_SUBSIDY, type PerShareScheme } from "../src/schemes/credit";
import { openShareStore, type ShareStore, type ShareStoreConfig } from "../src/shares";
import { fillColdEpoch } from "./epochs.fill.helpers";
import { deltasOf, expectSameFiles } from "./epochs.same.helpers";

const CONTRACT = "0x" + "c0".repeat(20);
const FEE_ADDRESS = "0x" + "fe".repeat(20);
const HOUR = 3600_000;

describe("PPS/FPPS epochs on the build worker", function () {
  this.timeout(300_000);
  let dir: string;
  const stores: ShareStore[] = [];
  const builders: EpochBuilder[] = [];
  const clock = { now: Date.now() + 10 * HOUR };

  async function store(name: string, accounts: number): Promise<{ store: ShareStore; config: ShareStoreConfig }> {
    const config: ShareStoreConfig = { kind: "sqlite", dataDir: path.join(dir, name) };
    const s = await openShareStore(config);
    stores.push(s);
    await fillColdEpoch(s, accounts, { height: 900_000 });
    return { store: s, config };
  }

  function builder(s: ShareStore, sub: string, scheme: PerShareScheme, opts: { worker?: ShareStoreConfig; blockFees?: (h: number) => Promise<bigint | undefined> } = {}): EpochBuilder {
    const b = new EpochBuilder({
      store: s,
      dataDir: path.join(dir, sub),
      powChain: "test",
      evmChainId: 31337,
      contract: CONTRACT,
      feeBps: 150,
      feeAddress: FEE_ADDRESS,
      confirmations: 1,
      scheme,
      intervalSeconds: 3600,
      subsidy: BITCOIN_SUBSIDY, // height 900 000: 3.125 BTC
      now: () => clock.now,
      ...(opts.blockFees ? { blockFees: opts.blockFees } : {}),
      ...(opts.worker ? { worker: { store: opts.worker } } : {}),
    });
    builders.push(b);
    return b;
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "schemes-worker-"));
  });
  after(async () => {
    for (const b of builders) await b.close().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("PPS: the worker's cold and warm epochs have the in-process bytes; the warm one reuses the tree it kept", async () => {
    const { store: s, config } = await store("pps", 3_000);
    const inProcess = (await builder(s, "pps-a", "pps").prepare())!;
    const worker = builder(s, "pps-b", "pps", { worker: config });
    const built = (await worker.build())!;
    expect(built.header.scheme).to.include({ name: "pps", firstShareId: 1, lastShareId: 3_000, shareCount: 3_000 });
    expect(built.timings.workerMs).to.be.a("number");
    expectSameFiles(inProcess, built);
    expect(built.blocks).to.have.length(1); // the found block: the operator's
    expect(built.deltas).to.have.length(3_000);
    expect(BigInt(built.header.reward) > 0n).to.equal(true);
    // tree and leaves stay in the worker; read back from the file on first use.
    expect(built.tree.root).to.equal(built.root);
    expect(await s.ledger()).to.deep.equal(new Map(deltasOf(inProcess.deltas).map((d) => [d.address, d.cumulative])));

    // Epoch 2, an interval later: 1 000 more shares.
    await fillColdEpoch(s, 1_000, { height: 900_001 });
    clock.now += 2 * HOUR;
    const fresh = (await builder(s, "pps-c", "pps").prepare())!; // no cached tree: the ledger from the store
    const warm = (await worker.build())!;
    expect(warm.number).to.equal(2);
    expect(warm.reusedTree).to.equal(true);
    expect(fresh.reusedTree).to.equal(false);
    expect(warm.header.scheme).to.include({ firstShareId: 3_001, lastShareId: 4_000 });
    expectSameFiles(fresh, warm);
  });

  it("FPPS: the worker asks the caller for each block's fees once and gives the in-process bytes; a failing fee source fails the build by name and the worker keeps serving", async () => {
    const { store: s, config } = await store("fpps", 2_000);
    const fee = (h: number) => BigInt(10_000 + (h % 97) * 13);
    const asked: number[] = [];
    const blockFees = async (h: number) => {
      asked.push(h);
      return h < 900_000 ? fee(h) : undefined;
    };
    const inProcess = (await builder(s, "fpps-a", "fpps", { blockFees: async (h) => (h < 900_000 ? fee(h) : undefined) }).prepare())!;
    expect(parseEpochFile(fs.readFileSync(inProcess.filePath)).scheme).to.include({ name: "fpps", feeBlocks: 144 });

    let failing = true;
    const worker = builder(s, "fpps-b", "fpps", {
      worker: config,
      blockFees: async (h) => {
        if (failing && h === 899_950) throw new Error("node unreachable");
        return blockFees(h);
      },
    });
    let err: Error | undefined;
    try {
      await worker.build();
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.equal("node unreachable");
    expect(await s.latestEpoch()).to.equal(undefined);

    failing = false;
    asked.length = 0;
    const built = (await worker.build())!;
    expectSameFiles(inProcess, built);
    // Every share mines at height 900 000: the window is the 144 blocks before it, each asked once.
    expect([...asked].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 144 }, (_, i) => 899_856 + i));
  });

  it("the caller's event loop stays responsive: its longest delay during a 100 000-share PPS build in the worker is a small fraction of the in-process build's", async () => {
    const { store: s, config } = await store("large", 100_000);
    const measure = async (b: EpochBuilder) => {
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      const e = (await b.prepare())!;
      h.disable();
      return { e, maxMs: h.max / 1e6 };
    };
    const a = await measure(builder(s, "large-a", "pps"));
    const w = await measure(builder(s, "large-b", "pps", { worker: config }));
    console.log(`      longest event-loop delay: in-process ${a.maxMs.toFixed(0)} ms, worker ${w.maxMs.toFixed(0)} ms (worker total ${w.e.timings.workerMs.toFixed(0)} ms)`);
    expect(w.e.dataHash).to.equal(a.e.dataHash);
    expect(w.e.deltas).to.have.length(100_000);
    // Not a benchmark: only that the loop is not blocked for the build (GC and scheduling alone reach ~200 ms under load).
    expect(w.maxMs).to.be.lessThan(a.maxMs / 2);
  });
});
