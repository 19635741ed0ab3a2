/**
 * FPPS on the embedded chain (issue 14): the published header chain carries each block's coinbase
 * and its merkle branch; the auditor checks that they hash to the header's merkle root and takes
 * the block's fees as the coinbase's output total minus the subsidy (src/audit/powchain.ts).
 *  - The embedded chain publishes them (real mined blocks with synthetic fee-paying transactions,
 *    and coinbase-only blocks, whose merkle root is the coinbase's txid); header files without
 *    coinbases still parse; forged coinbases are refused with the height and cause named; a kept
 *    coinbase that is not the block's is dropped at restart.
 *  - End to end on a real pool (`payout.scheme: fpps`, embedded chain, real miner): shares →
 *    scheduled epoch → funded root → claim → `pool audit` passes, the fees checked from the
 *    coinbases; the same epoch audited against a header chain with one forged coinbase fails with
 *    the cause named.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { privateKeyToAccount } from "viem/accounts";
import { HeaderChainError, PublishedHeaderChain } from "../src/audit/powchain";
import { openChainView } from "../src/audit/chainsource";
import { EmbeddedChain } from "../src/chain/embedded";
import type { BlockTemplate } from "../src/chain/types";
import { auditCommand } from "../src/cli/audit";
import { claimCommand } from "../src/cli/claim";
import { auditEpoch, parseEpochFile } from "../src/epochs";
import { hardhatDevKey } from "../src/evm/clients";
import { erc20Abi } from "../src/evm/payoutPoolAbi";
import { Miner } from "../src/miner";
import { bitsToTarget, buildCoinbaseParts, hashToBigInt, merkleBranch, parseTransaction, prevhashForNotify, serializeBlock, serializeTransaction, sha256d, verifyShareWork } from "../src/pow";
import { startPool, type RunningPool } from "../src/pool";
import { REGTEST_SUBSIDY, subsidyAt } from "../src/schemes/credit";
import { getJson, waitFor } from "./pool.helpers";

const EASY = "0.00001";
const ADDRESS = "0x8ba1f109551bd432803012645ac136ddd64dba72";

/** Mines a real block for a template (Stratum-style coinbase paying `value`, CPU nonce loop). */
function mine(t: BlockTemplate, value = t.coinbaseValue): string {
  const { coinb1, coinb2 } = buildCoinbaseParts({
    height: t.height,
    payoutAddress: ADDRESS,
    shareDifficultyUnits: 1_000_000_000n,
    poolTag: "/test/",
    extranonce1Size: 4,
    extranonce2Size: 4,
    outputs: [{ value, script: Buffer.from("0014" + "ab".repeat(20), "hex") }],
    witnessCommitment: t.defaultWitnessCommitment ? Buffer.from(t.defaultWitnessCommitment, "hex") : undefined,
  });
  const target = bitsToTarget(t.bits);
  const branch = merkleBranch(t.transactions.map((x) => x.txid));
  for (let en2 = 0; en2 < 1000; en2++) {
    const work = verifyShareWork({
      coinb1, coinb2, extranonce1: "cafe0001", extranonce2: en2.toString(16).padStart(8, "0"), merkleBranch: branch,
      version: t.version.toString(16).padStart(8, "0"), prevhash: prevhashForNotify(t.previousBlockHash),
      nbits: t.bits, ntime: t.curtime.toString(16).padStart(8, "0"), nonce: "00000000",
    });
    const header = work.header;
    for (let nonce = 0; nonce < 0x1000000; nonce++) {
      header.writeUInt32LE(nonce, 76);
      if (hashToBigInt(sha256d(header)) <= target) return serializeBlock(header, work.coinbase, t.transactions, !!t.defaultWitnessCommitment);
    }
  }
  throw new Error("no block found");
}

/** Mines `n` blocks on the chain; returns each block's template fees (coinbase value − subsidy), by height. */
async function mineBlocks(chain: EmbeddedChain, n: number, pay: (t: BlockTemplate) => bigint = (t) => t.coinbaseValue): Promise<Map<number, bigint>> {
  const fees = new Map<number, bigint>();
  for (let i = 0; i < n; i++) {
    const t = chain.current();
    expect(await chain.submitBlock(mine(t, pay(t)))).to.deep.equal({ accepted: true });
    fees.set(t.height, t.coinbaseValue - subsidyAt(t.height, REGTEST_SUBSIDY));
  }
  return fees;
}

/** The message a rejected promise gives (fails when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("resolved, expected a rejection");
}

/** `text` with line `height`'s coinbase replaced by `edit(coinbase)` (the branch kept). */
function withCoinbase(lines: string[], height: number, edit: (coinbaseHex: string) => string): string[] {
  const out = [...lines];
  const [header, coinbase, ...branch] = out[height].split(" ");
  out[height] = [header, edit(coinbase), ...branch].join(" ");
  return out;
}

/** The coinbase with its first output's value raised by `by` satoshis (non-witness serialization). */
function raiseOutput(coinbaseHex: string, by: bigint): string {
  const tx = parseTransaction(coinbaseHex);
  tx.outputs[0] = { ...tx.outputs[0], value: tx.outputs[0].value + by };
  return serializeTransaction(tx, false).toString("hex");
}

describe("FPPS on the embedded chain: coinbases published with the headers", function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("publishes each block's coinbase and branch; the auditor reads the fees the coinbase claimed beyond the subsidy", async () => {
    const chain = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 3 });
    await chain.start();
    try {
      const fees = await mineBlocks(chain, 3);
      const lines = chain.headers();
      expect(lines).to.have.length(4);
      expect(lines[0]).to.match(/^[0-9a-f]{160}$/); // genesis: a header alone
      for (let h = 1; h <= 3; h++) {
        const [header, coinbase, ...branch] = lines[h].split(" ");
        expect(header).to.equal(chain.blocks()[h - 1].header);
        expect(branch).to.have.length(2); // coinbase + 3 transactions: two levels
        expect(parseTransaction(coinbase).hasWitness).to.equal(false);
      }
      const published = PublishedHeaderChain.parse(lines.join("\n") + "\n");
      expect(published.blockFees).to.be.a("function");
      for (const [h, f] of fees) {
        expect(f > 0n, `block ${h} has fees`).to.equal(true);
        expect(await published.blockFees!(h)).to.equal(f);
        expect(await chain.blockFees(h)).to.equal(f);
      }
      expect(await published.blockFees!(4)).to.equal(undefined); // above the tip
      // An older file (headers only) still parses, and gives no fees.
      const bare = PublishedHeaderChain.parse(lines.map((l) => l.split(" ")[0]).join("\n"));
      expect(await bare.tipHeight()).to.equal(3);
      expect(bare.blockFees).to.equal(undefined);
      // A file whose older blocks have no coinbase: the newer ones' fees are read, the older ones' are refused by name.
      const mixed = PublishedHeaderChain.parse([lines[0], lines[1].split(" ")[0], lines[2], lines[3]].join("\n"));
      expect(await mixed.blockFees!(2)).to.equal(fees.get(2));
      const missing = await rejection(mixed.blockFees!(1));
      expect(missing).to.be.instanceOf(HeaderChainError);
      expect(missing.message).to.equal("block 1 is published without its coinbase (mined before the pool kept coinbases): its fees cannot be checked");
    } finally {
      await chain.stop();
    }
  });

  it("a coinbase-only block: the merkle root is the coinbase's txid, its branch empty; a coinbase paying less than the subsidy has no fees", async () => {
    const chain = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 0 });
    await chain.start();
    try {
      await mineBlocks(chain, 2, (t) => (t.height === 2 ? t.coinbaseValue - 1000n : t.coinbaseValue));
      const lines = chain.headers();
      const [header, coinbase, ...branch] = lines[1].split(" ");
      expect(branch).to.deep.equal([]);
      expect(sha256d(Buffer.from(coinbase, "hex")).equals(Buffer.from(header, "hex").subarray(36, 68))).to.equal(true);
      const published = PublishedHeaderChain.parse(lines.join("\n"));
      expect(await published.blockFees!(1)).to.equal(0n);
      expect(await published.blockFees!(2)).to.equal(0n); // paid 1000 sat less than the subsidy: no fees, never negative
      expect(await chain.blockFees(2)).to.equal(0n);
    } finally {
      await chain.stop();
    }
  });

  it("a forged coinbase is refused with its height and cause: not the merkle root, another block's, witness bytes, a bad branch", async () => {
    const chain = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 2 });
    const solo = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 0 });
    await chain.start();
    await solo.start();
    try {
      await mineBlocks(chain, 2);
      await mineBlocks(solo, 1);
      const lines = chain.headers();
      const refused = (l: string[]) => {
        try {
          PublishedHeaderChain.parse(l.join("\n"));
        } catch (err) {
          expect(err).to.be.instanceOf(HeaderChainError);
          return (err as Error).message;
        }
        throw new Error("accepted");
      };
      // Fees raised by 1 BTC in block 2's coinbase: it no longer hashes to the header's merkle root.
      expect(refused(withCoinbase(lines, 2, (c) => raiseOutput(c, 100_000_000n)))).to.match(
        /^header chain: height 2: the published coinbase \(txid [0-9a-f]{64}\) with its 2-step merkle branch does not hash to the header's merkle root [0-9a-f]{64}: it is not this block's coinbase$/,
      );
      // Block 1's coinbase on block 2's line: its BIP34 height is not 2.
      expect(refused(withCoinbase(lines, 2, () => lines[1].split(" ")[1]))).to.equal("header chain: height 2: the published coinbase commits height 1 (BIP34), not 2");
      // A coinbase-only block's line with its coinbase raised: not the merkle root.
      const soloLines = solo.headers();
      expect(refused(withCoinbase(soloLines, 1, (c) => raiseOutput(c, 1n)))).to.match(/^header chain: height 1: the published coinbase \(txid [0-9a-f]{64}\) is not the header's merkle root/);
      // The witness serialization (with the reserved value) instead of the non-witness one.
      const witnessed = withCoinbase(lines, 1, (c) => {
        const tx = parseTransaction(c);
        tx.inputs[0] = { ...tx.inputs[0], witness: [Buffer.alloc(32)] };
        return serializeTransaction(tx, true).toString("hex");
      });
      expect(refused(witnessed)).to.equal("header chain: height 1: the published coinbase carries witness data: publish its non-witness serialization (the one its txid hashes)");
      expect(refused(lines.map((l, h) => (h === 1 ? l.replace(/ [0-9a-f]{64}$/, " 1234") : l)))).to.equal("header chain: height 1: merkle branch entry 1 is not a 32-byte hash in hex");
      expect(refused(lines.map((l, h) => (h === 1 ? l.split(" ")[0] + " zz" : l)))).to.equal("header chain: height 1: the published coinbase is not hex");
      // Through the audit's chain source, the refusal is a named finding.
      const view = await openChainView({ publishedHeaders: withCoinbase(lines, 2, (c) => raiseOutput(c, 1n)).join("\n") });
      expect(view.chain).to.equal(undefined);
      expect(view.problem).to.match(/^chain: the published header chain does not verify: header chain: height 2: the published coinbase .* it is not this block's coinbase$/);
    } finally {
      await chain.stop();
      await solo.stop();
    }
  });

  it("keeps the coinbases across a restart; a kept coinbase that is not the block's is dropped, and its fees are then refused", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-coinbase-"));
    dirs.push(dataDir);
    const first = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 1, dataDir });
    await first.start();
    const fees = await mineBlocks(first, 2);
    const lines = first.headers();
    await first.stop();

    const again = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 1, dataDir });
    await again.start();
    expect(again.headers()).to.deep.equal(lines);
    expect(await again.blockFees(2)).to.equal(fees.get(2));
    await again.stop();

    // Block 1's kept coinbase edited in the file: dropped at the next start, the block itself kept.
    const file = path.join(dataDir, "embedded-chain.jsonl");
    const records = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { coinbase?: string });
    records[1].coinbase = raiseOutput(records[1].coinbase!, 5n);
    fs.writeFileSync(file, records.map((r) => JSON.stringify(r) + "\n").join(""));
    const third = new EmbeddedChain({ networkDifficulty: EASY, syntheticTxs: 1, dataDir });
    await third.start();
    try {
      expect(third.tip().height).to.equal(2);
      expect(third.headers()[1]).to.equal(lines[1].split(" ")[0]);
      expect(third.headers()[2]).to.equal(lines[2]);
      expect((await rejection(third.blockFees(1))).message).to.contain("block 1 was kept without its coinbase");
      expect(await PublishedHeaderChain.parse(third.headers().join("\n")).blockFees!(2)).to.equal(fees.get(2));
    } finally {
      await third.stop();
    }
  });
});

describe("FPPS on the embedded chain, end to end: real pool, miner, funded root, claim, audit", function () {
  this.timeout(300_000);
  const MINER = privateKeyToAccount(hardhatDevKey(6)).address;
  const RELAYER_ENV = "FPPS_EMBEDDED_RELAYER_KEY";
  let pool: RunningPool;
  let dataDir: string;
  let miner: Miner | undefined;
  const lines: string[] = [];
  const capture = (line: string) => lines.push(line);

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-fpps-embedded-"));
    pool = await startPool({
      env: { POOL_PAYOUT_SCHEME: "fpps", POOL_PAYOUT_INTERVAL_SECONDS: "60" },
      logger: pino({ level: "silent" }),
      overrides: {
        dataDir,
        stratum: { port: 0, startDifficulty: "0.0001" },
        api: { port: 0 },
        evm: { embeddedPort: 0, challengeWindow: 1, embeddedState: "memory" },
        chain: { networkDifficulty: "0.0002", syntheticTxs: 3 },
        committer: { pollSeconds: 0.5 },
      },
    });
    process.env[RELAYER_ENV] = hardhatDevKey(5);
  });
  after(async () => {
    await miner?.stop();
    await pool?.stop();
    delete process.env[RELAYER_ENV];
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("credits include the fees read from the coinbases; the miner claims them; pool audit passes; a forged coinbase fails it by name", async () => {
    // Shares at heights above blocks with fees: mine until two blocks are found and shares follow them.
    miner = new Miner({ url: pool.stratumUrl, user: `${MINER}.rig`, password: "x" });
    await miner.start();
    await waitFor("two blocks found", 120_000, async () => (await pool.store.blocks()).length >= 2);
    const blocksSeen = (await pool.store.blocks()).length;
    const sharesSeen = miner.accepted;
    await waitFor("shares after the second block", 60_000, async () => miner!.accepted >= sharesSeen + 3);
    await miner.stop();
    miner = undefined;

    // The scheduled epoch (60 s after the first share), funded by the committer and accepted.
    await waitFor("an active FPPS epoch", 150_000, async () => {
      const stats = await getJson(`${pool.apiUrl}/api/stats`);
      return stats.activeEpoch >= 1 && !stats.pendingEpoch;
    });
    const epochs = await getJson(`${pool.apiUrl}/api/epochs`);
    const epoch = epochs[epochs.length - 1].epoch as number;
    expect(epoch).to.equal(1);
    const file = parseEpochFile(fs.readFileSync(path.join(dataDir, "epochs", "epoch-000001.json")));
    expect(file.scheme).to.include({ name: "fpps", feeBlocks: 144 });
    expect(file.blocks).to.deep.equal([]);

    // The fees the auditor reads from the published coinbases are the blocks' rewards above the subsidy.
    const headersText = fs.readFileSync(path.join(dataDir, "epochs", "headers.txt"), "utf8");
    const published = PublishedHeaderChain.parse(headersText);
    const ups = BigInt(pool.asset.unitsPerSatoshi);
    const blocks = await getJson(`${pool.apiUrl}/api/blocks`);
    expect(blocks.length).to.be.at.least(blocksSeen);
    let someFees = false;
    for (const b of blocks as { height: number; reward: string }[]) {
      const fee = await published.blockFees!(b.height);
      expect(fee, `block ${b.height}`).to.equal(BigInt(b.reward) / ups - subsidyAt(b.height, REGTEST_SUBSIDY));
      if (fee! > 0n) someFees = true;
    }
    expect(someFees, "the synthetic transactions pay fees").to.equal(true);
    // The fees are in the credits: the same epoch against the same chain with every block's fees at 0 differs.
    class ZeroFees extends PublishedHeaderChain {
      override readonly blockFees = async (h: number) => ((await this.atHeight(h)) ? 0n : undefined);
    }
    const withFees = await auditEpoch({ epochFile: path.join(dataDir, "epochs", "epoch-000001.json"), chain: published });
    expect(withFees.findings).to.deep.equal([]);
    const noFees = await auditEpoch({ epochFile: path.join(dataDir, "epochs", "epoch-000001.json"), chain: new ZeroFees(headersText.trim().split("\n")) });
    expect(noFees.findings.join("\n")).to.match(/^fpps: first differing leaf: leaf \d+ \(0x[0-9a-f]{40}\) has delta \d+, the shares and the chain give \d+/m);

    // The miner claims exactly its credits.
    const info = await getJson(`${pool.apiUrl}/api/miners/${MINER}`);
    const allocated = BigInt(info.allocated);
    expect(allocated > 0n).to.equal(true);
    const balance = () => pool.evm.publicClient.readContract({ address: pool.asset.token!, abi: erc20Abi, functionName: "balanceOf", args: [MINER] });
    const before = await balance();
    lines.length = 0;
    expect(await claimCommand(["--address", MINER, "--api", pool.apiUrl, "--key-env", RELAYER_ENV], capture), lines.join("\n")).to.equal(0);
    expect((await balance()) - before).to.equal(allocated);

    // `pool audit` recomputes every credit, fees from the published coinbases included: passes.
    const source = path.join(dataDir, "epochs");
    const copy = (edit?: (text: string) => string) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-fpps-audit-"));
      for (const f of fs.readdirSync(source)) fs.copyFileSync(path.join(source, f), path.join(dir, f));
      if (edit) fs.writeFileSync(path.join(dir, "headers.txt"), edit(fs.readFileSync(path.join(dir, "headers.txt"), "utf8")));
      return dir;
    };
    const audit = async (dir: string) => {
      lines.length = 0;
      const code = await auditCommand(["--epoch", "1", "--dir", dir, "--rpc", pool.rpcUrl, "--contract", pool.contract], capture);
      fs.rmSync(dir, { recursive: true, force: true });
      return { code, text: lines.join("\n") };
    };
    const honest = await audit(copy());
    expect(honest.code, honest.text).to.equal(0);
    expect(honest.text).to.contain("AUDIT PASSED");

    // A dishonest operator publishes block 1's coinbase with less paid (lower fees, lower credits).
    const forged = await audit(copy((text) => withCoinbase(text.trim().split("\n"), 1, (c) => raiseOutput(c, -1000n)).join("\n") + "\n"));
    expect(forged.code).to.equal(1);
    expect(forged.text).to.match(/AUDIT FAILED/);
    expect(forged.text).to.match(/chain: the published header chain does not verify: header chain: height 1: the published coinbase \(txid [0-9a-f]{64}\) with its 2-step merkle branch does not hash to the header's merkle root [0-9a-f]{64}: it is not this block's coinbase/);
    // Without its coinbases (an older header file), the credits are not taken on the file's word.
    const bare = await audit(copy((text) => text.split("\n").map((l) => l.split(" ")[0]).join("\n")));
    expect(bare.code).to.equal(1);
    expect(bare.text).to.contain("fpps: credits not recomputed: published header chain gives no per-block fees");
  });
});
