/**
 * Gas per account inside claimMany — what automatic payouts (src/payouts) send — on the real Hardhat
 * EVM: one claimMany of 100 accounts against a 1 000 000-leaf tree, first claims (claimed[account]
 * 0 -> x) and repeat claims on the next epoch (x -> y), with an ERC-20 and with the native coin.
 *
 * Each figure is printed beside its floor, defined as bench/gas.ts defines it (the shared code is in
 * bench/lib/trace-floor.ts): per transaction 21 000 + calldata (4 / 16 gas per zero / non-zero byte)
 * + the pool's storage writes (claimed[account] of each account, each slot once at its cold price:
 * 0 -> nonzero 22 100, nonzero -> nonzero 5 000) + the transfer each account must get, measured from
 * the trace as the whole outgoing call: for an ERC-20 the token's `transfer` with its own logic, its
 * two balance slots and its `Transfer` event; for the native coin the value call (cold account 2 600
 * + value 9 000 - the 2 300 stipend an EOA hands back = 9 300); or, from Prague on, the EIP-7623
 * calldata floor (21 000 + 10 per token) when that is higher, since the transaction pays that much
 * whatever it does. The pool's own event is not in the floor: claimMany emits one `ClaimedMany` per batch
 * (96 bytes per account), where a `Claimed` per account would cost 1 637 gas each.
 *
 * For comparison the earlier, narrower floor is printed too, computed from the EVM's gas rules
 * (bench/lib/gas-rules.ts) alone: the same, except that an ERC-20 transfer counted only the token
 * account (cold 2 600 once, then warm 100) and its two balance slots (the receiver's, cold
 * nonzero -> nonzero 5 000; the pool's, 5 000 once then 100), not the token's logic and event.
 * The writes measured from the trace are checked against the rules. The gap to the floor is then
 * split by opcode from the transaction's trace, to show where it is.
 *
 * Then the same batch is sent again, every entry now already paid: claimMany skips such entries
 * instead of reverting (so a claim sent by a third party first cannot make a relayed batch fail),
 * and the gas of that call per entry is what a skipped entry costs (its calldata, the proof check and
 * the `claimed` read).
 *
 *   npx hardhat run bench/payouts.ts            (~1 min and ~1.5 GiB: the 1M-leaf tree)
 *   BENCH_LEAVES=100000 npx hardhat run bench/payouts.ts
 *
 * Writes bench/results/payouts.json.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { keccak256, parseEther, toHex, zeroAddress, type Address, type Hex } from "viem";
import { PayoutTree, sortedAccountOrder, verifyProof } from "../src/merkle";
import {
  CALL_STIPEND,
  CALL_VALUE,
  COLD_ACCOUNT_ACCESS,
  TX_BASE,
  WARM_ACCESS,
  calldataCost,
  calldataFloor,
  coldSstore,
  hasCalldataFloor,
  logGas,
} from "./lib/gas-rules";
import { clearRefund, traceFloorParts, type StructStep } from "./lib/trace-floor";

const LEAVES = Number(process.env.BENCH_LEAVES ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const TARGET_RATIO = 1.1;

// ------------------------------------------------------------------------------------- the tree

/** Deterministic pseudo-random bytes (AES-128-CTR of zeros under a fixed key): the same tree every run. */
function prng(bytes: number, seed: string): Buffer {
  const key = crypto.createHash("sha256").update(seed).digest().subarray(0, 16);
  const cipher = crypto.createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(bytes)), cipher.final()]);
}

interface Epochs {
  first: PayoutTree;
  second: PayoutTree;
  claimers: Address[];
  buildSeconds: { first: number; second: number };
}

/**
 * Epoch 1: LEAVES random accounts with 0.001-0.002 coin each; epoch 2: the same tree with the
 * claimers' amounts raised by 0.0001 (the other leaf hashes are reused).
 */
function buildEpochs(): Epochs {
  const raw = prng(LEAVES * 28, `payouts-bench-${LEAVES}`);
  const unsorted: string[] = new Array(LEAVES);
  for (let i = 0; i < LEAVES; i++) unsorted[i] = "0x" + raw.toString("hex", i * 28, i * 28 + 20);
  const order = sortedAccountOrder(unsorted);
  const accounts = Array.from(order, (i) => unsorted[i]);
  const amounts = Array.from(order, (i) => 10n ** 15n + (raw.readBigUInt64BE(i * 28 + 20) % 10n ** 15n));

  let t = performance.now();
  const first = PayoutTree.fromSorted(accounts, amounts);
  const firstSeconds = (performance.now() - t) / 1000;

  const count = Math.min(BATCH, LEAVES);
  const indexes = [...Array(count).keys()].map((k) => Math.floor((k * LEAVES) / count) + (LEAVES > count ? 1 : 0));
  const raised = amounts.slice();
  for (const i of indexes) raised[i] += 10n ** 14n;
  t = performance.now();
  const second = PayoutTree.fromSorted(accounts, raised, first);
  const secondSeconds = (performance.now() - t) / 1000;

  const claimers = indexes.map((i) => first.accountAt(i));
  for (const tree of [first, second]) {
    for (const a of claimers) {
      const leaf = tree.proofFor(a)!;
      if (!verifyProof(tree.root, a, leaf.cumulative, leaf.proof)) throw new Error(`proof of ${a} does not verify`);
    }
  }
  return { first, second, claimers, buildSeconds: { first: firstSeconds, second: secondSeconds } };
}

// ------------------------------------------------------------------------------------- floors

interface Floor {
  intrinsic: number;
  calldataGas: number;
  /** The pool's storage writes, from the trace (= claimed[account] of each account; checked against the rules). */
  claimedWrites: number;
  /** The outgoing calls with the callee's own execution, from the trace (bench/gas.ts's definition). */
  transfers: number;
  /** EIP-3529 refunds of cleared slots (none here: the lock is transient). */
  refund: number;
  /** 21 000 + calldata + writes + transfers - refund. */
  execution: number;
  /** EIP-7623, 0 before Prague. */
  calldataFloor: number;
  floor: number;
  boundBy: "execution" | "EIP-7623 calldata";
  /** The earlier, narrower floor from the gas rules alone (ERC-20: token account + two balance slots). */
  narrow: { transfers: number; execution: number; floor: number; boundBy: "execution" | "EIP-7623 calldata" };
  /** What the pool's own event (ClaimedMany) costs, from the trace (not part of the floor). */
  events: number;
}

/** The transfers of the narrower, rule-based floor (before the token call was measured from the trace). */
function ruleTransfers(asset: "erc20" | "native", n: number): number {
  return asset === "erc20"
    ? COLD_ACCOUNT_ACCESS + (n - 1) * WARM_ACCESS + // CALL to the token
        n * coldSstore(false) + // receiver's balance: a holder, nonzero -> nonzero
        coldSstore(false) + (n - 1) * WARM_ACCESS // the pool's balance: written once cold, then dirty
    : n * (COLD_ACCOUNT_ACCESS + CALL_VALUE - CALL_STIPEND);
}

function floorOf(
  asset: "erc20" | "native",
  input: Hex,
  n: number,
  first: boolean,
  hardfork: string,
  logs: StructStep[],
  gasUsed: number,
): Floor {
  const data = calldataCost(input);
  const measured = traceFloorParts(logs);
  const ruleWrites = n * coldSstore(first);
  if (measured.writes !== ruleWrites) throw new Error(`the trace's storage writes (${measured.writes}) are not ${n} claimed writes (${ruleWrites})`);
  if (measured.calls !== n) throw new Error(`the trace has ${measured.calls} outgoing calls, expected ${n}`);
  const refund = clearRefund(measured.clears, gasUsed);
  const intrinsic = TX_BASE + data.gas;
  const execution = intrinsic + measured.writes + measured.transfers - refund;
  const cdFloor = calldataFloor(input, hardfork);
  const narrowTransfers = ruleTransfers(asset, n);
  const narrowExecution = intrinsic + ruleWrites + narrowTransfers;
  const events = logs.reduce((sum, s) => (s.depth === 1 && s.op.startsWith("LOG") ? sum + s.gasCost : sum), 0);
  return {
    intrinsic,
    calldataGas: data.gas,
    claimedWrites: measured.writes,
    transfers: measured.transfers,
    refund,
    execution,
    calldataFloor: cdFloor,
    floor: Math.max(execution, cdFloor),
    boundBy: cdFloor > execution ? "EIP-7623 calldata" : "execution",
    narrow: {
      transfers: narrowTransfers,
      execution: narrowExecution,
      floor: Math.max(narrowExecution, cdFloor),
      boundBy: cdFloor > narrowExecution ? "EIP-7623 calldata" : "execution",
    },
    events,
  };
}

// ------------------------------------------------------------------------------------- trace

/** Gas by (contract, opcode group) from the transaction's struct-log trace; a CALL counts only its own cost. */
function opcodeBreakdown(logs: StructStep[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (k: string, g: number) => (out[k] = (out[k] ?? 0) + g);
  for (let i = 0; i < logs.length; i++) {
    const s = logs[i];
    const who = s.depth === 1 ? "pool" : "token";
    let cost = s.gasCost;
    if (["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"].includes(s.op)) {
      let j = i + 1;
      while (j < logs.length && logs[j].depth > s.depth) j++;
      const after = j < logs.length ? logs[j].gas : 0;
      const calleeUsed = j > i + 1 ? logs[i + 1].gas - (logs[j - 1].gas - logs[j - 1].gasCost) : 0;
      cost = s.gas - after - calleeUsed;
    }
    const group = s.op.startsWith("LOG")
      ? "LOG"
      : ["SLOAD", "SSTORE", "KECCAK256", "CALL", "STATICCALL", "TLOAD", "TSTORE"].includes(s.op)
        ? s.op
        : ["CALLDATALOAD", "CALLDATACOPY", "CALLDATASIZE"].includes(s.op)
          ? "CALLDATA*"
          : "other";
    add(`${who}.${group}`, cost);
  }
  return out;
}

// ------------------------------------------------------------------------------------- measurement

interface Measured {
  label: string;
  asset: "erc20" | "native";
  first: boolean;
  n: number;
  proofs: string;
  txGas: number;
  floor: Floor;
  breakdown: Record<string, number>;
}

const URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

/**
 * What one already-paid (skipped) entry of a claimMany costs, per entry: the transaction's gas / n
 * (which, with no transfer and no write, is the EIP-7623 calldata floor from Prague on), and the
 * execution alone from the trace (the first step's gas minus what the last step leaves) / n.
 */
const skipped: Record<string, { n: number; txGas: number; perEntry: number; executionPerEntry: number; boundBy: string }> = {};

async function measure(asset: "erc20" | "native", epochs: Epochs, hardfork: string): Promise<Measured[]> {
  const publicClient = await hre.viem.getPublicClient();
  const testClient = await hre.viem.getTestClient();
  const [admin, relayer] = await hre.viem.getWalletClients();
  const a = admin.account.address;
  const total = epochs.second.total;
  const token = asset === "erc20" ? await hre.viem.deployContract("MockERC20", ["Reward", "RWD"]) : undefined;
  const pool = await hre.viem.deployContract("PayoutPool", [token?.address ?? zeroAddress, a, a, a, 1n, 86_400n]);
  const asRelayer = await hre.viem.getContractAt("PayoutPool", pool.address, { client: { wallet: relayer } });
  if (token) {
    await token.write.mint([a, total]);
    await token.write.approve([pool.address, total]);
    await pool.write.fund([total]);
    for (const r of epochs.claimers) await token.write.mint([r, 1n]); // receivers already hold the token
  } else {
    await testClient.setBalance({ address: a, value: total + parseEther("100") });
    await pool.write.fund([total], { value: total });
    for (const r of epochs.claimers) await testClient.setBalance({ address: r, value: 1n }); // existing accounts
  }

  const out: Measured[] = [];
  for (const [epoch, tree, first] of [
    [1n, epochs.first, true],
    [2n, epochs.second, false],
  ] as const) {
    await pool.write.proposeRoot([epoch, tree.root, tree.total, keccak256(toHex(`epoch ${epoch}`)), URI]);
    await pool.write.acceptRoot();
    const leaves = epochs.claimers.map((c) => tree.proofFor(c)!);
    const hash = await asRelayer.write.claimMany([leaves.map((l) => l.account), leaves.map((l) => l.cumulative), leaves.map((l) => l.proof)]);
    const [receipt, tx] = await Promise.all([publicClient.getTransactionReceipt({ hash }), publicClient.getTransaction({ hash })]);
    const trace: any = await hre.network.provider.request({
      method: "debug_traceTransaction",
      params: [hash, { disableMemory: true, disableStorage: true, disableStack: false }],
    });
    const logs: StructStep[] = trace.structLogs;
    if (receipt.status !== "success") throw new Error(`claimMany (${asset}, epoch ${epoch}) reverted`);
    for (const l of leaves) {
      if ((await pool.read.claimed([l.account])) !== l.cumulative) throw new Error(`claimed[${l.account}] is not its cumulative amount`);
    }
    const lengths = leaves.map((l) => l.proof.length);
    const [lo, hi] = [Math.min(...lengths), Math.max(...lengths)];
    out.push({
      label: `${asset === "erc20" ? "ERC-20" : "native"}, ${first ? "first claims" : "repeat claims"}`,
      asset,
      first,
      n: leaves.length,
      proofs: lo === hi ? String(lo) : `${lo}-${hi}`,
      txGas: Number(receipt.gasUsed),
      floor: floorOf(asset, tx.input, leaves.length, first, hardfork, logs, Number(receipt.gasUsed)),
      breakdown: opcodeBreakdown(logs),
    });
    if (!first) {
      // The same batch again: every entry is already paid and skipped (no transfer, no event).
      const again = await asRelayer.write.claimMany([leaves.map((l) => l.account), leaves.map((l) => l.cumulative), leaves.map((l) => l.proof)]);
      const r = await publicClient.getTransactionReceipt({ hash: again });
      if (r.status !== "success") throw new Error(`claimMany of paid entries (${asset}) reverted`);
      const gas = Number(r.gasUsed);
      const t: any = await hre.network.provider.request({ method: "debug_traceTransaction", params: [again, { disableMemory: true, disableStorage: true, disableStack: true }] });
      const steps: StructStep[] = t.structLogs;
      const execution = steps[0].gas - (steps[steps.length - 1].gas - steps[steps.length - 1].gasCost);
      const standard = TX_BASE + calldataCost(tx.input).gas + execution;
      skipped[asset] = {
        n: leaves.length,
        txGas: gas,
        perEntry: gas / leaves.length,
        executionPerEntry: execution / leaves.length,
        boundBy: gas > standard ? "EIP-7623 calldata" : "execution",
      };
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------- report

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

/** Per account: where the gas above the execution floor goes (the floor's measured parts taken out of the trace's groups). */
function gapParts(m: Measured): { part: string; gas: number }[] {
  const b = m.breakdown;
  const n = m.n;
  const g = (k: string) => b[k] ?? 0;
  const tokenAll = Object.entries(b).reduce((s, [k, v]) => (k.startsWith("token.") ? s + v : s), 0);
  const parts: { part: string; gas: number }[] = [];
  parts.push({ part: "ClaimedMany event (LOG1, 96 bytes per account)", gas: g("pool.LOG") / n });
  parts.push({ part: "keccak256 (leaf x2, one per proof level, claimed slot)", gas: g("pool.KECCAK256") / n });
  parts.push({ part: "storage beyond the floor (the root read)", gas: (g("pool.SLOAD") + g("pool.SSTORE") - m.floor.claimedWrites) / n });
  parts.push({ part: "transfer beyond the floor (the measured call itself)", gas: (g("pool.CALL") + tokenAll - m.floor.transfers) / n });
  parts.push({ part: "reentrancy lock (TLOAD/TSTORE)", gas: (g("pool.TLOAD") + g("pool.TSTORE")) / n });
  parts.push({ part: "pool: loop, ABI decoding, proof folding (other ops)", gas: (g("pool.other") + g("pool.CALLDATA*")) / n });
  return parts;
}

/** Per account: what the measured transfer (in the floor) is made of. */
function transferParts(m: Measured): { part: string; gas: number }[] {
  const b = m.breakdown;
  const n = m.n;
  const g = (k: string) => b[k] ?? 0;
  if (m.asset === "native") return [{ part: "value call (CALL: account access, value, stipend back)", gas: g("pool.CALL") / n }];
  return [
    { part: "CALL to the token (account access, memory)", gas: g("pool.CALL") / n },
    { part: "token: balance slots (SLOAD/SSTORE)", gas: (g("token.SLOAD") + g("token.SSTORE")) / n },
    { part: "token: Transfer event (LOG3)", gas: g("token.LOG") / n },
    { part: "token: its own logic (other ops, keccak of slots)", gas: (g("token.other") + g("token.CALLDATA*") + g("token.KECCAK256")) / n },
  ];
}

async function main() {
  const hardfork = (hre.config.networks.hardhat as { hardfork: string }).hardfork;
  const started = Date.now();
  console.log(`building ${LEAVES.toLocaleString("en-US")}-leaf trees ...`);
  const epochs = buildEpochs();
  console.log(
    `  epoch 1 tree ${epochs.buildSeconds.first.toFixed(1)} s, epoch 2 tree (leaf hashes reused) ${epochs.buildSeconds.second.toFixed(1)} s; depth ${epochs.first.proofAt(0).length}`,
  );

  const rows: Measured[] = [];
  for (const asset of ["erc20", "native"] as const) rows.push(...(await measure(asset, epochs, hardfork)));

  console.log(`\nclaimMany of ${BATCH} accounts on a ${LEAVES.toLocaleString("en-US")}-leaf tree, Hardhat EVM hardfork "${hardfork}" (contract compiled for cancun)`);
  console.log(
    `floor = 21 000 + calldata (4/16 per zero/non-zero byte) + the pool's storage writes (claimed[account]: 22 100 first / 5 000 repeat)` +
      ` + the transfer, measured from the trace as bench/gas.ts does (ERC-20: the whole token call with its logic, balance slots and Transfer event;` +
      ` native: 2 600 cold account + 9 000 value - 2 300 stipend back)` +
      (hasCalldataFloor(hardfork) ? `, or the EIP-7623 calldata floor 21 000 + 10/40 per zero/non-zero byte when higher` : "") +
      `; all per account = transaction / ${BATCH}.` +
      ` "old floor": the earlier, narrower rule-based one (ERC-20 transfer = token account + 2 balance slots only).\n`,
  );
  const head = ["", "gas/account", "floor/account", "ratio", "floor bound by", "calldata", "claimed", "transfer", "+event", "old floor", "old ratio", "proofs"];
  const widths = [24, 12, 14, 7, 18, 9, 8, 9, 9, 10, 10, 7];
  const line = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" "));
  line(head);
  const results: Record<string, unknown> = {
    hardfork,
    leaves: LEAVES,
    batch: BATCH,
    depth: epochs.first.proofAt(0).length,
    treeBuildSeconds: epochs.buildSeconds,
    targetRatio: TARGET_RATIO,
  };
  for (const m of rows) {
    const per = (x: number) => x / m.n;
    const ratio = m.txGas / m.floor.floor;
    line([
      m.label,
      fmt(per(m.txGas)),
      fmt(per(m.floor.floor)),
      ratio.toFixed(3),
      m.floor.boundBy,
      fmt(per(m.floor.calldataGas)),
      fmt(per(m.floor.claimedWrites)),
      fmt(per(m.floor.transfers)),
      fmt(per(m.floor.events)),
      fmt(per(m.floor.narrow.floor)),
      (m.txGas / m.floor.narrow.floor).toFixed(3),
      m.proofs,
    ]);
    results[`${m.asset}.${m.first ? "first" : "repeat"}`] = {
      gasPerAccount: Math.round(per(m.txGas)),
      floorPerAccount: Math.round(per(m.floor.floor)),
      ratio: Number(ratio.toFixed(4)),
      withinTarget: ratio <= TARGET_RATIO,
      floorBoundBy: m.floor.boundBy,
      txGas: m.txGas,
      txFloor: m.floor.floor,
      txExecutionFloor: m.floor.execution,
      txCalldataFloor: m.floor.calldataFloor,
      calldataGasPerAccount: Math.round(per(m.floor.calldataGas)),
      claimedWritePerAccount: per(m.floor.claimedWrites),
      transferPerAccount: Math.round(per(m.floor.transfers)),
      claimedManyEventPerAccount: per(m.floor.events),
      oldNarrowFloor: {
        floorPerAccount: Math.round(per(m.floor.narrow.floor)),
        ratio: Number((m.txGas / m.floor.narrow.floor).toFixed(4)),
        floorBoundBy: m.floor.narrow.boundBy,
        transferPerAccount: Math.round(per(m.floor.narrow.transfers)),
        txFloor: m.floor.narrow.floor,
      },
      transferPartsPerAccount: Object.fromEntries(transferParts(m).map((p) => [p.part, Math.round(p.gas)])),
      gapPerAccount: Object.fromEntries(gapParts(m).map((p) => [p.part, Math.round(p.gas)])),
      traceGas: m.breakdown,
      proofLength: m.proofs,
    };
  }
  console.log(`\n"+event": what the pool's ClaimedMany event costs per account (a Claimed per account would cost ${fmt(logGas(2, 64))}); not in the floor.`);
  for (const m of rows) {
    const parts = gapParts(m);
    const execGap = (m.txGas - m.floor.execution) / m.n;
    console.log(`\n${m.label}: ${fmt(m.txGas / m.n)} - ${fmt(m.floor.floor / m.n)} = ${fmt((m.txGas - m.floor.floor) / m.n)} gas per account above the floor` + (m.floor.boundBy === "execution" ? "" : ` (${fmt(execGap)} above the execution floor)`));
    for (const p of parts) console.log(`  ${p.part.padEnd(56)} ${fmt(p.gas).padStart(7)}`);
    console.log(`  (in the floor: the transfer, ${fmt(m.floor.transfers / m.n)} = ${transferParts(m).map((p) => `${fmt(p.gas)} ${p.part}`).join(" + ")})`);
    const sum = parts.reduce((s, p) => s + p.gas, 0);
    if (Math.abs(sum - execGap) > 1) console.log(`  (the parts sum to ${fmt(sum)}, not ${fmt(execGap)}: the trace does not add up)`);
  }

  console.log(`\nskipped entries (claimMany of ${BATCH} entries all already paid; item 9 of issue 13):`);
  for (const [asset, s] of Object.entries(skipped)) {
    console.log(`  ${asset.padEnd(7)} ${fmt(s.perEntry)} gas per entry (transaction / ${s.n}, bound by ${s.boundBy}); execution ${fmt(s.executionPerEntry)} per entry (proof, claimed read, loop)`);
  }
  results.skippedEntries = skipped;

  const out = path.join(__dirname, "results", "payouts.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  results.seconds = (Date.now() - started) / 1000;
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(process.cwd(), out)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
