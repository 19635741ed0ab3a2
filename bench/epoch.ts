/**
 * Epoch building at scale: for 1 000 / 100 000 / 1 000 000 accounts with a window of 10 shares per
 * account (10 000 000 shares at 1 000 000 accounts):
 *  - "cold" epoch: every account new (full sort, every leaf hashed);
 *  - "warm" epoch: the next epoch over the same ledger, the window touching 10 % of the accounts
 *    (the other leaves are reused from the previous tree);
 * timing PPLNS (window walk + reward split), ledger merge, tree, epoch file (write + keccak256),
 * and proofs for all leaves; plus the same tree with merkletreejs (viem ABI encoding + keccak256
 * package) and @openzeppelin/merkle-tree's StandardMerkleTree.of as baselines up to 100 000 leaves.
 *
 * The PPLNS input is an in-memory column array (account key, difficulty parts) generated before
 * timing — not the SQLite store (bench/store.ts measures that). Each size runs in its own process
 * so that its peak RSS is its own, with node's --max-semi-space-size=64 (see below).
 * Usage: npx ts-node --transpile-only bench/epoch.ts [accounts ...]   (default: 1000 100000 1000000)
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MerkleTree } from "merkletreejs";
import keccak256 from "keccak256";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, type Hex } from "viem";
import { PayoutTree, TREE_OPTIONS, verifyProof } from "../src/merkle";
import { WindowAccumulator, splitRewardColumns } from "../src/pplns";
import { UNITS_PER_DIFFICULTY } from "../src/shares/difficulty";
import { EPOCH_FILE_FORMAT, EPOCH_FILE_VERSION, LEAF_FIELDS, ROUNDING_RULE, advanceLedgerColumns, writeEpochFile, type EpochHeader, type EpochLeaves, type SortedLedger } from "../src/epochs";

const SHARES_PER_ACCOUNT = 10;
const BASELINE_MAX = 100_000;
const SEMI_SPACE_MB = 64;
const REWARD = 312_500_000n + 21_000_000n;
const FEE_ADDRESS = "0x" + "fe".repeat(20);

interface EpochTimings {
  shares: number;
  participants: number;
  pplnsMs: number;
  ledgerMs: number;
  treeMs: number;
  reusedLeaves: number;
  epochFileMs: number;
  epochFileBytes: number;
  endToEndMs: number;
  /** CPU time of the end-to-end part: what it costs without contention for the core. */
  endToEndCpuMs: number;
  proofsMs: number;
  endToEndWithProofsMs: number;
}

interface SizeResult {
  accounts: number;
  generateMs: number;
  cold: EpochTimings;
  warm: EpochTimings;
  baselineMerkletreejsMs?: number;
  baselineStandardMerkleTreeMs?: number;
  rootMatchesMerkletreejs?: boolean;
  peakRssMiB: number;
}

/** xorshift32: the same data on every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Distinct random lower-case addresses, as flat strings (as they come from a database or JSON). */
function makeAccounts(n: number, rand: () => number): string[] {
  const bytes = Buffer.alloc(n * 20);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(rand(), i);
  const ascii = Buffer.from(bytes.toString("hex"), "latin1");
  const out: string[] = new Array(n);
  const one = Buffer.alloc(42);
  one.write("0x", 0, "latin1");
  for (let i = 0; i < n; i++) {
    ascii.copy(one, 2, i * 40, i * 40 + 40);
    out[i] = one.toString("latin1");
  }
  return out;
}

/** Share difficulties as (whole, fraction × 10^12): CPU miners to ASICs. */
const DIFFS: Array<[number, number]> = [
  [0, 20_000_000_000],
  [1, 0],
  [2, 500_000_000_000],
  [65_536, 0],
  [1_048_576, 125_000_000_000],
];

interface Window {
  key: Uint32Array;
  whole: Float64Array;
  frac: Float64Array;
  /** N: all shares but half of the oldest one (which therefore counts pro rata). */
  windowUnits: bigint;
}

function makeWindow(shares: number, accountKeys: (r: number) => number, rand: () => number): Window {
  const key = new Uint32Array(shares);
  const whole = new Float64Array(shares);
  const frac = new Float64Array(shares);
  let sumWhole = 0;
  let sumFrac = 0;
  for (let i = 0; i < shares; i++) {
    key[i] = accountKeys(rand());
    const [w, f] = DIFFS[rand() % DIFFS.length];
    whole[i] = w;
    frac[i] = f;
    sumWhole += w;
    sumFrac += f;
  }
  const total = BigInt(sumWhole) * UNITS_PER_DIFFICULTY + BigInt(sumFrac);
  const oldest = BigInt(whole[0]) * UNITS_PER_DIFFICULTY + BigInt(frac[0]);
  return { key, whole, frac, windowUnits: total - oldest / 2n };
}

function header(epoch: number, root: Hex, total: bigint, reward: bigint): EpochHeader {
  return {
    format: EPOCH_FILE_FORMAT,
    version: EPOCH_FILE_VERSION,
    chain: { pow: "bench", evmChainId: 31337 },
    contract: "0x" + "c0".repeat(20),
    epoch,
    previous: null,
    pplns: { factor: "2", unitsPerDifficulty: UNITS_PER_DIFFICULTY.toString(), rounding: ROUNDING_RULE },
    fee: { bps: 100, address: FEE_ADDRESS },
    blocks: [],
    shareLog: { file: "bench.shares.jsonl", hash: "sha256", digest: ("0x" + "00".repeat(32)) as Hex, lines: 0 },
    reward: reward.toString(),
    totalCumulative: total.toString(),
    root,
    tree: TREE_OPTIONS,
    leafFields: LEAF_FIELDS,
  };
}

function buildEpoch(epoch: number, accounts: string[], window: Window, previous: { ledger: SortedLedger; tree?: PayoutTree }, dir: string) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const acc = new WindowAccumulator(window.windowUnits);
  const n = window.key.length;
  for (let i = n - 1; i >= 0; i--) if (!acc.addParts(window.key[i], window.whole[i], window.frac[i], i + 1)) break;
  const { keys, weights } = acc.weightColumns();
  const addresses = keys.map((k) => accounts[k]);
  const split = splitRewardColumns({ reward: REWARD, feeBps: 100, feeAddress: FEE_ADDRESS, addresses, weights });
  const t1 = performance.now();
  const additions = { accounts: [FEE_ADDRESS, ...addresses.filter((_, i) => split.amounts[i] > 0n)], amounts: [split.fee, ...split.amounts.filter((a) => a > 0n)] };
  const leaves: EpochLeaves = advanceLedgerColumns(previous.ledger, additions);
  const t2 = performance.now();
  const tree = PayoutTree.fromSorted(leaves.accounts, leaves.cumulative, previous.tree);
  const t3 = performance.now();
  const file = path.join(dir, `epoch-${epoch}.json`);
  const { bytes } = writeEpochFile(file, header(epoch, tree.root, tree.total, REWARD), leaves);
  const t4 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  let proofElements = 0;
  for (let i = 0; i < tree.size; i++) proofElements += tree.proofAt(i).length;
  const t5 = performance.now();
  for (const i of [0, tree.size >> 1, tree.size - 1]) {
    if (!verifyProof(tree.root, tree.accountAt(i), tree.cumulativeAt(i), tree.proofAt(i))) throw new Error(`proof ${i} does not verify`);
  }
  if (proofElements < tree.size - 1) throw new Error("too few proof elements");
  let reused = 0;
  if (previous.tree) reused = leaves.delta.reduce((s, d) => s + (d === 0n ? 1 : 0), 0);
  fs.rmSync(file);
  const timings: EpochTimings = {
    shares: n,
    participants: keys.length,
    pplnsMs: t1 - t0,
    ledgerMs: t2 - t1,
    treeMs: t3 - t2,
    reusedLeaves: reused,
    epochFileMs: t4 - t3,
    epochFileBytes: bytes,
    endToEndMs: t4 - t0,
    endToEndCpuMs: (cpu.user + cpu.system) / 1000,
    proofsMs: t5 - t4,
    endToEndWithProofsMs: t5 - t0,
  };
  return { leaves, tree, timings };
}

function runSize(accountsCount: number): SizeResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-epoch-"));
  try {
    const rand = prng(accountsCount);
    const g0 = performance.now();
    const accounts = makeAccounts(accountsCount, rand);
    const shares = accountsCount * SHARES_PER_ACCOUNT;
    const coldWindow = makeWindow(shares, (r) => r % accountsCount, rand);
    const generateMs = performance.now() - g0;

    const cold = buildEpoch(1, accounts, coldWindow, { ledger: { accounts: [], amounts: [] } }, dir);
    // Free the cold window before the warm one.
    coldWindow.key = new Uint32Array(0);
    const active = Math.max(1, Math.floor(accountsCount / 10));
    const warmWindow = makeWindow(shares, (r) => ((r % active) * 10) % accountsCount, rand);
    const prevLedger = { accounts: cold.leaves.accounts, amounts: cold.leaves.cumulative };
    const warm = buildEpoch(2, accounts, warmWindow, { ledger: prevLedger, tree: cold.tree }, dir);

    const result: SizeResult = { accounts: accountsCount, generateMs, cold: cold.timings, warm: warm.timings, peakRssMiB: 0 };
    if (accountsCount <= BASELINE_MAX) {
      const tree = warm.tree;
      const values = Array.from({ length: tree.size }, (_, i) => [tree.accountAt(i), tree.cumulativeAt(i)] as const);
      let t = performance.now();
      const leaves = values.map(([a, c]) => keccak256(keccak256(Buffer.from(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [a, c]).slice(2), "hex"))));
      const reference = new MerkleTree(leaves, keccak256, { sortPairs: true });
      result.baselineMerkletreejsMs = performance.now() - t;
      result.rootMatchesMerkletreejs = reference.getHexRoot() === tree.root;
      t = performance.now();
      StandardMerkleTree.of(
        values.map(([a, c]) => [a, c.toString()]),
        ["address", "uint256"],
      );
      result.baselineStandardMerkleTreeMs = performance.now() - t;
    }
    result.peakRssMiB = process.resourceUsage().maxRSS / 1024;
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (x: number | undefined) => (x === undefined ? "-" : x < 10 ? x.toFixed(1) : Math.round(x).toString());

function printTable(results: SizeResult[]): void {
  const rows: string[][] = [["accounts", "epoch", "shares", "PPLNS ms", "ledger ms", "tree ms", "reused leaves", "file ms", "file MB", "end-to-end ms", "(CPU ms)", "all proofs ms", "peak RSS MiB"]];
  for (const r of results) {
    for (const [name, t] of [
      ["cold", r.cold],
      ["warm", r.warm],
    ] as const) {
      rows.push([
        r.accounts.toLocaleString("en"),
        name,
        t.shares.toLocaleString("en"),
        ms(t.pplnsMs),
        ms(t.ledgerMs),
        ms(t.treeMs),
        t.reusedLeaves.toLocaleString("en"),
        ms(t.epochFileMs),
        (t.epochFileBytes / 2 ** 20).toFixed(1),
        ms(t.endToEndMs),
        ms(t.endToEndCpuMs),
        ms(t.proofsMs),
        ms(r.peakRssMiB),
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((v, c) => v.padStart(widths[c])).join("  "));
  const base = results.filter((r) => r.baselineMerkletreejsMs !== undefined);
  if (base.length) {
    console.log("\nBaselines on the same leaves (tree only; ours = tree ms of the warm epoch, which reuses leaves, and of the cold one):");
    for (const r of base) {
      console.log(
        `  ${r.accounts.toLocaleString("en")} leaves: merkletreejs + viem encoding ${ms(r.baselineMerkletreejsMs)} ms (same root: ${r.rootMatchesMerkletreejs}), ` +
          `StandardMerkleTree.of ${ms(r.baselineStandardMerkleTreeMs)} ms; ours cold ${ms(r.cold.treeMs)} ms, warm ${ms(r.warm.treeMs)} ms`,
      );
    }
  }
}

function main(): void {
  const child = process.argv.indexOf("--child");
  if (child >= 0) {
    const result = runSize(Number(process.argv[child + 1]));
    process.stdout.write("RESULT " + JSON.stringify(result) + "\n");
    return;
  }
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const list = sizes.length ? sizes : [1_000, 100_000, 1_000_000];
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average ${os.loadavg()[0].toFixed(2)}`);
  console.log("The cores are shared with other processes: figures are wall-clock, single thread, one run each.\n");
  const results: SizeResult[] = [];
  for (const n of list) {
    // A larger young generation: the epoch allocates millions of short-lived bigints and strings,
    // and the default 16 MiB semi-space makes the scavenger copy them again and again.
    const r = spawnSync(process.execPath, [`--max-semi-space-size=${SEMI_SPACE_MB}`, require.resolve("ts-node/dist/bin.js"), "--transpile-only", __filename, "--child", String(n)], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "inherit"] });
    const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`size ${n} failed (exit ${r.status})`);
    results.push(JSON.parse(line.slice(7)) as SizeResult);
  }
  printTable(results);
  const out = path.join(__dirname, "results", "epoch.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    JSON.stringify({ cpus: os.cpus().length, loadAverage1m: os.loadavg()[0], nodeFlags: `--max-semi-space-size=${SEMI_SPACE_MB}`, sharesPerAccount: SHARES_PER_ACCOUNT, pplnsInput: "in-memory columns (generated before timing)", results }, null, 2) + "\n",
  );
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main();
