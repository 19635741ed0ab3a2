/**
 * `payout.change` (issue 14: a change of scheme or fee applies from an announced epoch on): the
 * setting and its environment variables, refused with errors naming the field; the pool's start
 * check (src/schemes/change.ts) that refuses a change not announced at least one epoch ahead, an
 * unannounced edit of payout.scheme or the fee, and a dropped announcement; and a builder configured
 * from the loaded setting exactly as the pool wires it, whose epochs pass the audit across a
 * PPLNS → PPS switch with a fee change (real SHA256d shares, SQLite store, published header chain).
 * Last, a real pool started with the setting announces the change on `/api/stats`.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { auditEpoch, EpochBuilder, keccak256Hex, parseEpochFile, serializeEpochFile } from "../src/epochs";
import { PublishedHeaderChain } from "../src/audit/powchain";
import { ConfigError, loadConfig, type PoolConfig } from "../src/config";
import { parameterChangeProblem } from "../src/schemes/change";
import { openShareStore, type ShareStore } from "../src/shares";
import { startPool } from "../src/pool";
import type { AcceptedShare } from "../src/stratum/events";
import { ADDR, MiniChain, POOL_SCRIPT, found } from "./audit.chain.helpers";

const ASSET = { symbol: "ETH", decimals: 18, unitsPerSatoshi: (10n ** 10n).toString() };
const CONTRACT = "0x00000000000000000000000000000000000000c0";
const HOUR = 3600_000;

function refuses(setting: string, env: Record<string, string>, message?: string): void {
  let err: unknown;
  try {
    loadConfig({ env });
  } catch (e) {
    err = e;
  }
  expect(err, `${JSON.stringify(env)} was accepted`).to.be.instanceOf(ConfigError);
  expect((err as ConfigError).setting, JSON.stringify(env)).to.equal(setting);
  if (message) expect((err as Error).message).to.contain(message);
}

describe("payout.change: a scheme or fee change announced an epoch ahead", function () {
  this.timeout(120_000);
  let dir: string;
  const stores: ShareStore[] = [];
  const builders: EpochBuilder[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "schemes-change-"));
  });
  after(async () => {
    for (const b of builders) await b.close().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is read from POOL_PAYOUT_CHANGE_* and refused with the field named", () => {
    const c = loadConfig({ env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "5", POOL_PAYOUT_CHANGE_SCHEME: "pps", POOL_PAYOUT_CHANGE_FEE_BPS: "250" } });
    expect(c.payout.change).to.deep.equal({ fromEpoch: 5, scheme: "pps", feeBps: 250 });
    expect(loadConfig({ env: {}, overrides: { payout: { change: { fromEpoch: 3, feeBps: 0 } } } }).payout.change).to.deep.equal({ fromEpoch: 3, feeBps: 0 });
    expect(loadConfig({ env: {} }).payout.change).to.equal(undefined);

    refuses("payout.change.fromEpoch", { POOL_PAYOUT_CHANGE_SCHEME: "pps" }, "is required");
    refuses("payout.change.fromEpoch", { POOL_PAYOUT_CHANGE_FROM_EPOCH: "1", POOL_PAYOUT_CHANGE_SCHEME: "pps" }, "from 2");
    refuses("payout.change.fromEpoch", { POOL_PAYOUT_CHANGE_FROM_EPOCH: "two", POOL_PAYOUT_CHANGE_SCHEME: "pps" });
    refuses("payout.change.fromEpoch", { POOL_PAYOUT_CHANGE_FROM_EPOCH: " ", POOL_PAYOUT_CHANGE_SCHEME: "pps" }, "set but empty");
    refuses("payout.change.scheme", { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_SCHEME: "solo" }, "pplns");
    refuses("payout.change.feeBps", { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_FEE_BPS: "10001" }, "0 to 10000");
    refuses("payout.change", { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3" }, "nothing to change");
    refuses("payout.change", { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_SCHEME: "pplns", POOL_FEE_BPS: "100" }, "changes nothing");
    refuses("payout.change.scheme", { POOL_PAYOUT_SCHEME: "pps", POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_SCHEME: "pplns" }, "back to pplns is not supported");
    expect(loadConfig({ env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_SCHEME: "fpps" } }).payout.change).to.deep.equal({ fromEpoch: 3, scheme: "fpps" });
    refuses("payout.change.fromEpoch", { POOL_PAYOUT_CHANGE_FEE_BPS: "5" }, "is required");
  });

  /** A builder from a loaded configuration, wired as src/pool/index.ts wires it. */
  function builderFor(config: PoolConfig, store: ShareStore, dataDir: string, chain: MiniChain, clock: { now: number }): EpochBuilder {
    const b = new EpochBuilder({
      store,
      dataDir,
      powChain: "embedded",
      evmChainId: 31337,
      contract: CONTRACT,
      factor: String(config.pplns.factor),
      feeBps: config.pplns.feeBps,
      feeAddress: ADDR("f"),
      confirmations: config.pplns.confirmations,
      asset: ASSET,
      payoutScript: POOL_SCRIPT,
      headerChain: () => chain.headers.map((h) => h.toString("hex")),
      scheme: config.payout.scheme,
      intervalSeconds: config.payout.intervalSeconds,
      ...(config.payout.change ? { parameterChange: config.payout.change } : {}),
      now: () => clock.now,
    });
    builders.push(b);
    return b;
  }

  /** The pool's start check for this configuration on this store: the refused setting, or undefined. */
  async function startCheck(config: PoolConfig, store: ShareStore, dataDir: string, chain: MiniChain): Promise<string | undefined> {
    const b = builderFor(config, store, dataDir, chain, { now: 0 });
    const problem = parameterChangeProblem(await b.nextParameters(), config.payout.change);
    await b.close();
    return problem && `${problem.setting}: ${problem.message}`;
  }

  it("a PPLNS pool configured to switch to PPS (and 1 % → 2 % fee) from epoch 2: every epoch passes the audit across the switch; the start check refuses what the audit would", async () => {
    const chain = new MiniChain();
    const dataDir = path.join(dir, "switch");
    const store = await openShareStore({ kind: "sqlite", dataDir });
    stores.push(store);
    const record = async (shares: AcceptedShare[]) => {
      for (const s of shares) {
        await store.recordShare(s);
        if (s.isBlock) {
          await store.recordBlock(found(s), s);
          await store.updateBlock(s.hash, { status: "confirmed", confirmations: 1 });
        }
      }
    };
    const env = { POOL_FEE_BPS: "100", POOL_PAYOUT_CHANGE_FROM_EPOCH: "2", POOL_PAYOUT_CHANGE_SCHEME: "pps", POOL_PAYOUT_CHANGE_FEE_BPS: "200" };
    const config = loadConfig({ env });
    const clock = { now: 0 };

    // No epoch yet: the change from epoch 2 is announced by epoch 1.
    expect(await startCheck(config, store, dataDir, chain)).to.equal(undefined);
    const builder = builderFor(config, store, dataDir, chain, clock);
    const e1: AcceptedShare[] = [];
    for (let i = 0; i < 5; i++) e1.push(chain.mine(i % 3));
    e1.push(chain.mine(1, { isBlock: true }));
    e1.push(chain.mine(2));
    await record(e1);
    const b1 = (await builder.build())!;
    expect(b1.header.scheme).to.equal(undefined);
    expect(b1.header.fee.bps).to.equal(100);
    expect(b1.header.parameters).to.deep.equal({ fromEpoch: 2, feeBps: 200, factor: "2", scheme: "pps" });
    const headers = () => PublishedHeaderChain.parse(fs.readFileSync(path.join(dataDir, "epochs", "headers.txt"), "utf8"));
    expect((await auditEpoch({ epochFile: b1.filePath, chain: headers() })).findings).to.deep.equal([]);

    // Restarts after epoch 1 (next: epoch 2). The same setting: fine (epoch 1 announced it).
    expect(await startCheck(config, store, dataDir, chain)).to.equal(undefined);
    // A change configured only now, from the very next epoch: not announced an epoch ahead.
    const late = await startCheck(loadConfig({ env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "2", POOL_PAYOUT_CHANGE_FEE_BPS: "300" } }), store, dataDir, chain);
    expect(late).to.match(/^payout\.change\.fromEpoch: is 2, but epoch 2 is the next epoch this pool builds .* so set fromEpoch to 3 or later/);
    // Dropping the announcement epoch 1 made, or half-applying it by hand: named, with the setting to restore.
    const restore = /epoch 1 announced a change from epoch 2, which must be kept: set payout\.change to \{ fromEpoch: 2, feeBps: 200, scheme: "pps" \}$/;
    const dropped = await startCheck(loadConfig({ env: {} }), store, dataDir, chain);
    expect(dropped).to.match(/^payout\.change: the next epoch \(2\) would fail the audit: fee changed from 200 to 100 bps without an announcement/);
    expect(dropped).to.match(restore);
    expect(await startCheck(loadConfig({ env: { POOL_PAYOUT_SCHEME: "pps" } }), store, dataDir, chain)).to.match(restore);
    // Postponing it to epoch 3: still a dropped announcement.
    const postponed = await startCheck(loadConfig({ env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_SCHEME: "pps" } }), store, dataDir, chain);
    expect(postponed).to.match(/^payout\.change: the next epoch \(2\) would fail the audit: fee changed from 200 to 100 bps .*; payout scheme changed from pps to pplns/);
    expect(postponed).to.match(restore);
    // Applying it by hand with the announced values (and no payout.change) is what the builder would do: fine.
    expect(await startCheck(loadConfig({ env: { POOL_PAYOUT_SCHEME: "pps", POOL_FEE_BPS: "200" } }), store, dataDir, chain)).to.equal(undefined);

    // Epoch 2: the builder switches by itself to PPS at 2 %, crediting the shares after epoch 1's block.
    const e2 = [chain.mine(0), chain.mine(1), chain.mine(1)];
    await record(e2);
    clock.now = Date.now() + 2 * HOUR;
    const b2 = (await builder.build())!;
    expect(b2.header.scheme).to.include({ name: "pps", firstShareId: 7, lastShareId: 10 });
    expect(b2.header.fee.bps).to.equal(200);
    expect(b2.header.parameters).to.equal(undefined);
    const r2 = await auditEpoch({ epochFile: b2.filePath, previousEpochFile: b1.filePath, chain: headers() });
    expect(r2.findings).to.deep.equal([]);
    expect(BigInt(b2.header.reward) > 0n).to.equal(true);

    // Epoch 3 under PPS, an interval later.
    const e3 = [chain.mine(2), chain.mine(0)];
    await record(e3);
    clock.now += 2 * HOUR;
    const b3 = (await builder.build())!;
    expect(b3.header.scheme).to.include({ name: "pps", firstShareId: 11, lastShareId: 12 });
    const r3 = await auditEpoch({ epochFile: b3.filePath, previousEpochFile: b2.filePath, chain: headers() });
    expect(r3.findings).to.deep.equal([]);

    // Restarts after the switch: the unchanged configuration, or payout.scheme / pplns.feeBps set to
    // the new values with payout.change removed, are both fine; the old fee without a change is not.
    expect(await startCheck(config, store, dataDir, chain)).to.equal(undefined);
    expect(await startCheck(loadConfig({ env: { POOL_PAYOUT_SCHEME: "pps", POOL_FEE_BPS: "200" } }), store, dataDir, chain)).to.equal(undefined);
    expect(await startCheck(loadConfig({ env: { POOL_PAYOUT_SCHEME: "pps", POOL_FEE_BPS: "100" } }), store, dataDir, chain)).to.match(/^pplns\.feeBps: the next epoch \(4\) would fail the audit: fee changed from 200 to 100 bps/);
    // A fee change announced now for epoch 5 is accepted; and its file announces it.
    const next = loadConfig({ env: { POOL_PAYOUT_SCHEME: "pps", POOL_FEE_BPS: "200", POOL_PAYOUT_CHANGE_FROM_EPOCH: "5", POOL_PAYOUT_CHANGE_FEE_BPS: "150" } });
    expect(await startCheck(next, store, dataDir, chain)).to.equal(undefined);
    await builder.close();
    const after = builderFor(next, store, dataDir, chain, clock);
    await record([chain.mine(1)]);
    clock.now += 2 * HOUR;
    const b4 = (await after.build())!;
    expect(b4.header.parameters).to.deep.equal({ fromEpoch: 5, feeBps: 150, factor: "2" });
    expect((await auditEpoch({ epochFile: b4.filePath, previousEpochFile: b3.filePath, chain: headers() })).findings).to.deep.equal([]);
    // The epoch files on disk are the ones audited.
    expect(parseEpochFile(fs.readFileSync(b4.filePath)).epoch).to.equal(4);
  });

  it("on a pool whose last epoch announced nothing: a change from the next epoch, or payout.scheme edited, is refused; from the one after, accepted", async () => {
    const chain = new MiniChain();
    const dataDir = path.join(dir, "silent");
    const store = await openShareStore({ kind: "sqlite", dataDir });
    stores.push(store);
    const b = builderFor(loadConfig({ env: {} }), store, dataDir, chain, { now: 0 });
    const shares = [chain.mine(0), chain.mine(1, { isBlock: true })];
    for (const s of shares) await store.recordShare(s);
    await store.recordBlock(found(shares[1]), shares[1]);
    await store.updateBlock(shares[1].hash, { status: "confirmed", confirmations: 1 });
    const b1 = (await b.build())!;
    expect(b1.header.parameters).to.equal(undefined);
    await b.close();

    const late = await startCheck(loadConfig({ env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "2", POOL_PAYOUT_CHANGE_SCHEME: "pps" } }), store, dataDir, chain);
    expect(late).to.match(/^payout\.change\.fromEpoch: is 2, but epoch 2 is the next epoch this pool builds \(epoch 1 is built\) and no earlier epoch announced this change: a change must be announced in at least one epoch before it applies, so set fromEpoch to 3 or later/);
    expect(late).to.contain("payout scheme changed from pplns to pps without an announcement an epoch ahead");
    const silent = await startCheck(loadConfig({ env: { POOL_PAYOUT_SCHEME: "pps" } }), store, dataDir, chain);
    expect(silent).to.match(/^payout\.scheme: the next epoch \(2\) would fail the audit: payout scheme changed from pplns to pps without an announcement .*announce the new one with payout\.change \(fromEpoch 3 or later\)$/);
    expect(await startCheck(loadConfig({ env: { POOL_FEE_BPS: "300" } }), store, dataDir, chain)).to.match(/^pplns\.feeBps: the next epoch \(2\) would fail the audit: fee changed from 100 to 300 bps/);
    expect(await startCheck(loadConfig({ env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_SCHEME: "pps" } }), store, dataDir, chain)).to.equal(undefined);
  });

  it("a pool started with payout.change announces it on /api/stats", async () => {
    const pool = await startPool({
      env: { POOL_PAYOUT_CHANGE_FROM_EPOCH: "3", POOL_PAYOUT_CHANGE_SCHEME: "pps", POOL_PAYOUT_CHANGE_FEE_BPS: "150" },
      logger: pino({ level: "silent" }),
      overrides: { dataDir: path.join(dir, "pool"), stratum: { port: 0 }, api: { port: 0 }, evm: { embeddedPort: 0, challengeWindow: 1, embeddedState: "memory" } },
    });
    try {
      const stats = (await (await fetch(pool.apiUrl + "/api/stats")).json()) as { payout: Record<string, unknown> };
      expect(stats.payout).to.deep.include({ scheme: "pplns", intervalSeconds: 3600, change: { fromEpoch: 3, scheme: "pps", feeBps: 150 } });
      const config = (await (await fetch(pool.apiUrl + "/api/config")).json()) as Record<string, unknown>;
      expect(config).to.include({ payoutScheme: "pplns", payoutIntervalSeconds: 3600 });
    } finally {
      await pool.stop();
    }
  });

  it("a dishonest operator announcing PPS back to PPLNS: the audit names it (PPLNS windows would pay PPS-paid shares again)", async () => {
    const chain = new MiniChain();
    const d = path.join(dir, "back");
    const store = await openShareStore({ kind: "sqlite", dataDir: d });
    const clock = { now: 0 };
    const common = { store, dataDir: d, powChain: "embedded", evmChainId: 31337, contract: "0x" + "c0".repeat(20), feeBps: 100, feeAddress: ADDR("f"), payoutScript: POOL_SCRIPT, confirmations: 1, factor: "2", headerChain: () => chain.headers.map((h) => h.toString("hex")), now: () => clock.now };
    const pps = new EpochBuilder({ ...common, scheme: "pps", intervalSeconds: 3600 });
    for (const s of [chain.mine(0), chain.mine(1), chain.mine(2)]) await store.recordShare(s);
    clock.now = Date.now() + 2 * 3600_000;
    const b1 = (await pps.build())!;
    await pps.close();
    // The forger's epoch 1 announces PPLNS from epoch 2 (the builder and the config refuse it).
    const f1 = parseEpochFile(fs.readFileSync(b1.filePath));
    f1.parameters = { fromEpoch: 2, feeBps: 100, factor: "2", scheme: "pplns" };
    fs.writeFileSync(b1.filePath, serializeEpochFile(f1));
    const pplns = new EpochBuilder(common);
    const s2 = [chain.mine(0), chain.mine(1, { isBlock: true })];
    for (const s of s2) await store.recordShare(s);
    await store.recordBlock(found(s2[1]), s2[1]);
    await store.updateBlock(s2[1].hash, { status: "confirmed", confirmations: 1 });
    clock.now += 2 * 3600_000;
    const b2 = (await pplns.build())!;
    await pplns.close();
    const f2 = parseEpochFile(fs.readFileSync(b2.filePath));
    expect(f2.blocks[0].window.firstShareId, "the PPLNS window reaches back over the PPS-paid shares").to.equal(1);
    f2.previous!.dataHash = keccak256Hex(fs.readFileSync(b1.filePath));
    fs.writeFileSync(b2.filePath, serializeEpochFile(f2));
    const headers = PublishedHeaderChain.parse(chain.text());
    const first = await auditEpoch({ epochFile: b1.filePath, chain: headers });
    expect(first.findings.join("\n")).to.contain("epoch 1 announces a change from pps back to pplns from epoch 2");
    const r = await auditEpoch({ epochFile: b2.filePath, previousEpochFile: b1.filePath, chain: headers });
    expect(r.ok).to.equal(false);
    expect(r.findings).to.include("parameters: payout scheme goes back from pps (epoch 1) to pplns: its windows would pay again shares pps already paid");
    await store.close();
  });

  it("PPS and FPPS, built and audited: a miner's credit is the same alone and among other miners' shares", async () => {
    const chain = new MiniChain();
    const a: AcceptedShare[] = [];
    const others: AcceptedShare[] = [];
    for (let i = 0; i < 12; i++) {
      a.push(chain.mine(0));
      others.push(chain.mine(1 + (i % 2)));
      if (i === 5) chain.mine(2, { isBlock: true }); // a new height halfway: credits at two heights
    }
    const headers = PublishedHeaderChain.parse(chain.text());
    const creditOfA = async (name: string, shares: AcceptedShare[], scheme: "pps" | "fpps") => {
      const d = path.join(dir, `alone-${name}-${scheme}`);
      const store = await openShareStore({ kind: "sqlite", dataDir: d });
      const b = new EpochBuilder({
        store, dataDir: d, powChain: "embedded", evmChainId: 31337, contract: "0x" + "c0".repeat(20), feeBps: 100, feeAddress: ADDR("f"), payoutScript: POOL_SCRIPT,
        confirmations: 1, factor: "2", headerChain: () => chain.headers.map((h) => h.toString("hex")), scheme, intervalSeconds: 3600, now: () => Date.now() + 7200_000,
        ...(scheme === "fpps" ? { blockFees: async (height: number) => BigInt(height) * 1000n } : {}),
      });
      for (const s of [...shares].sort((x, y) => x.time - y.time)) await store.recordShare(s);
      const built = (await b.build())!;
      await b.close();
      await store.close();
      const f = parseEpochFile(fs.readFileSync(built.filePath));
      if (scheme === "pps") expect((await auditEpoch({ epochFile: built.filePath, chain: headers })).findings, `${name} ${scheme}`).to.deep.equal([]);
      return f.leaves.delta[f.leaves.accounts.indexOf(a[0].address.toLowerCase())];
    };
    for (const scheme of ["pps", "fpps"] as const) {
      const alone = await creditOfA("alone", a, scheme);
      const among = await creditOfA("among", [...a, ...others], scheme);
      expect(alone > 0n).to.equal(true);
      expect(among, scheme).to.equal(alone);
    }
  });
});
