/**
 * Gas of PayoutPool on the real Hardhat EVM: proposeRoot, acceptRoot, a first and a repeated claim,
 * and the per-claim cost inside claimMany of 10, for trees of 10 / 1 000 / 100 000 / 1 000 000 leaves,
 * with an ERC-20 and with the native coin. Trees are built off-chain with src/merkle (PayoutTree);
 * only proofs go on chain. Each figure is printed beside its floor: 21 000 + calldata + the storage
 * writes and the asset transfer the call must do (measured from the EVM trace), less storage refunds.
 *
 *   npx hardhat run bench/gas.ts                       (all sizes; the 1M tree takes ~1 min, ~2 GiB)
 *   BENCH_SIZES=10,1000 npx hardhat run bench/gas.ts   (a quick run)
 *
 * Writes bench/results/gas.json: one object of named numbers.
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { keccak256, parseEther, toHex, zeroAddress, type Address, type Hex } from "viem";
import { PayoutTree, verifyProof, type CumulativeAllocation } from "../src/merkle";
import { calldataCost, calldataFloor, TX_BASE } from "./lib/gas-rules";
import { clearRefund, traceFloorParts } from "./lib/trace-floor";

const DEFAULT_SIZES = [10, 1_000, 100_000, 1_000_000];
const BATCH = 10;
const URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"; // a realistic CID
const TARGETS = { claimFirst: 80_000, claimRepeat: 63_000 };

// ----------------------------------------------------------------------------------- trees

/** Deterministic pseudo-random bytes (splitmix64): addresses without the zero-byte bias of counters. */
function* splitmix(seed: bigint): Generator<bigint> {
  let x = seed;
  const mask = (1n << 64n) - 1n;
  for (;;) {
    x = (x + 0x9e3779b97f4a7c15n) & mask;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    yield z ^ (z >> 31n);
  }
}

function allocations(size: number): CumulativeAllocation[] {
  const rnd = splitmix(BigInt(size));
  const next = () => rnd.next().value as bigint;
  const out: CumulativeAllocation[] = new Array(size);
  for (let i = 0; i < size; i++) {
    const hex = (next().toString(16).padStart(16, "0") + next().toString(16).padStart(16, "0") + next().toString(16).padStart(16, "0")).slice(0, 40);
    // Cumulative amounts of 0.001-0.002 coin (wei), typical of pool payouts.
    out[i] = { account: `0x${hex}` as Address, cumulative: 10n ** 15n + (next() % 10n ** 15n) };
  }
  return out;
}

interface Epochs {
  first: PayoutTree;
  second: PayoutTree;
  /** Claims alone: leaf 0, whose proof always has the tree's full depth. */
  single: Address;
  /** Claims in one claimMany: BATCH leaves spread over the tree (all of them in a 10-leaf tree). */
  batch: Address[];
}

/** Epoch 1 = the full tree; epoch 2 = the same accounts with the claimers' amounts raised. */
function buildEpochs(size: number): Epochs {
  const leaves = allocations(size);
  const first = new PayoutTree(leaves);
  const count = Math.min(size, BATCH);
  const batchIndexes = [...Array(count).keys()].map((i) => Math.floor((i * size) / count) + (size > count ? 1 : 0));
  const claimers = [0, ...batchIndexes].map((i) => first.allocations[i].account);
  const raised = new Set(claimers.map((a) => a.toLowerCase()));
  const second = new PayoutTree(
    leaves.map((a) => (raised.has(a.account.toLowerCase()) ? { account: a.account, cumulative: a.cumulative + 10n ** 14n } : a)),
  );
  for (const account of claimers) {
    const leaf = second.proofFor(account)!;
    if (!verifyProof(second.root, account, leaf.cumulative, leaf.proof)) throw new Error(`epoch 2 proof of ${account} does not verify`);
  }
  return { first, second, single: claimers[0], batch: claimers.slice(1) };
}

// ----------------------------------------------------------------------------------- gas accounting

/**
 * The floor of a transaction: 21 000 + calldata + its storage writes + its outgoing transfers
 * (token or value calls, measured with the callee's own execution) - storage refunds; never below
 * the EIP-7623 calldata floor on Prague and later. The trace accounting is shared with
 * bench/payouts.ts (bench/lib/trace-floor.ts).
 */
async function floorOf(hash: Hex, hardfork: string) {
  const publicClient = await hre.viem.getPublicClient();
  const [tx, receipt] = await Promise.all([publicClient.getTransaction({ hash }), publicClient.getTransactionReceipt({ hash })]);
  const trace: any = await hre.network.provider.request({
    method: "debug_traceTransaction",
    params: [hash, { disableMemory: true, disableStorage: true, disableStack: false }],
  });
  const { writes, transfers, clears } = traceFloorParts(trace.structLogs);
  const data = calldataCost(tx.input);
  const beforeRefund = TX_BASE + data.gas + writes + transfers;
  const refund = clearRefund(clears, Number(receipt.gasUsed));
  const eip7623 = calldataFloor(tx.input, hardfork);
  return {
    gas: Number(receipt.gasUsed),
    floor: Math.max(beforeRefund - refund, eip7623),
    calldataBound: eip7623 > beforeRefund - refund,
    calldataGas: data.gas,
    writes,
    transfers,
  };
}

// ----------------------------------------------------------------------------------- measurement

type Row = { label: string; gas: number; floor: number; note?: string };

async function deployFunded(asset: "erc20" | "native", total: bigint, receivers: Address[]) {
  const [admin, relayer] = await hre.viem.getWalletClients();
  const testClient = await hre.viem.getTestClient();
  const token = asset === "erc20" ? await hre.viem.deployContract("MockERC20", ["Reward", "RWD"]) : undefined;
  const a = admin.account.address;
  const pool = await hre.viem.deployContract("PayoutPool", [token?.address ?? zeroAddress, a, a, a, 1n, 86_400n]);
  if (token) {
    await token.write.mint([a, total]);
    await token.write.approve([pool.address, total]);
    await pool.write.fund([total]);
    // The receivers already hold the token (the benchmark's stated condition, and a miner's usual
    // case): their balance slot goes nonzero -> nonzero.
    for (const r of receivers) await token.write.mint([r, 1n]);
  } else {
    await testClient.setBalance({ address: a, value: total + parseEther("100") });
    await pool.write.fund([total], { value: total });
    for (const r of receivers) await testClient.setBalance({ address: r, value: 1n }); // existing accounts
  }
  return { pool, asRelayer: await hre.viem.getContractAt("PayoutPool", pool.address, { client: { wallet: relayer } }) };
}

async function measure(asset: "erc20" | "native", epochs: Epochs, hardfork: string): Promise<Row[]> {
  const publicClient = await hre.viem.getPublicClient();
  const rows: Row[] = [];
  const record = async (label: string, hash: Hex, per = 1, note?: string) => {
    if ((await publicClient.getTransactionReceipt({ hash })).status !== "success") throw new Error(`${label} reverted`);
    const r = await floorOf(hash, hardfork);
    const notes = [note, r.calldataBound ? "floor: EIP-7623" : undefined].filter(Boolean).join(", ");
    rows.push({ label, gas: Math.round(r.gas / per), floor: Math.round(r.floor / per), note: notes });
  };
  const dataHash = keccak256(toHex("epoch file bytes")); // any 32 bytes: the contract only logs it
  const publish = async (pool: Awaited<ReturnType<typeof deployFunded>>, epoch: bigint, tree: PayoutTree, label?: string) => {
    const propose = await pool.pool.write.proposeRoot([epoch, tree.root, tree.total, dataHash, URI]);
    const accept = await pool.asRelayer.write.acceptRoot();
    if (label !== undefined) {
      await record(`proposeRoot${label}`, propose);
      await record(`acceptRoot${label}`, accept);
    }
  };
  const proofLengths = (tree: PayoutTree, accounts: Address[]) => {
    const lengths = accounts.map((a) => tree.proofFor(a)!.proof.length);
    const [min, max] = [Math.min(...lengths), Math.max(...lengths)];
    return `proofs ${min === max ? min : `${min}-${max}`}`;
  };

  // Single claims: first (claimed slot 0 -> x) on epoch 1, repeated (x -> y) on epoch 2.
  const singles = await deployFunded(asset, epochs.second.total, [epochs.single]);
  await publish(singles, 1n, epochs.first, " (first epoch)");
  let leaf = epochs.first.proofFor(epochs.single)!;
  await record("claim, first", await singles.asRelayer.write.claim([epochs.single, leaf.cumulative, leaf.proof]), 1, `proof ${leaf.proof.length}`);
  await publish(singles, 2n, epochs.second, ""); // steady state: nonzero -> nonzero slots
  leaf = epochs.second.proofFor(epochs.single)!;
  await record("claim, repeated", await singles.asRelayer.write.claim([epochs.single, leaf.cumulative, leaf.proof]), 1, `proof ${leaf.proof.length}`);

  // Batches, on a pool of their own so that their accounts claim for the first time.
  const batches = await deployFunded(asset, epochs.second.total, epochs.batch);
  const claimMany = async (tree: PayoutTree) => {
    const leaves = epochs.batch.map((a) => tree.proofFor(a)!);
    return batches.asRelayer.write.claimMany([epochs.batch, leaves.map((l) => l.cumulative), leaves.map((l) => l.proof)]);
  };
  await publish(batches, 1n, epochs.first);
  const n = epochs.batch.length;
  await record(`claimMany of ${n}, first, per claim`, await claimMany(epochs.first), n, proofLengths(epochs.first, epochs.batch));
  await publish(batches, 2n, epochs.second);
  await record(`claimMany of ${n}, repeated, per claim`, await claimMany(epochs.second), n, proofLengths(epochs.second, epochs.batch));
  return rows;
}

function key(label: string): string {
  return label
    .replace(/\(first epoch\)/, "firstEpoch")
    .replace(/[^a-zA-Z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))
    .replace(/^./, (c) => c.toLowerCase());
}

async function main() {
  const sizes = (process.env.BENCH_SIZES ?? DEFAULT_SIZES.join(","))
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  if (sizes.length === 0) throw new Error(`BENCH_SIZES must list positive integers, got "${process.env.BENCH_SIZES}"`);
  const hardfork = (hre.config.networks.hardhat as { hardfork: string }).hardfork;
  const results: Record<string, number> = {};
  const table: string[] = [];
  const line = (cells: string[]) => table.push(cells.map((c, i) => (i === 0 ? c.padEnd(40) : c.padStart(8))).join(" "));

  console.log(`PayoutPool gas on the Hardhat EVM, hardfork "${hardfork}" (contract compiled for cancun)`);
  console.log(
    `calldata: 4 gas per zero byte, 16 per non-zero byte${
      ["prague", "osaka"].includes(hardfork)
        ? "; EIP-7623 (Prague+) also charges at least 21 000 + 10 per zero byte + 40 per non-zero byte:" +
          " where that is the higher floor the note says so"
        : ""
    }`,
  );
  console.log(`transaction gas includes the 21 000 base and calldata; floor = 21 000 + calldata + storage writes + transfer - refunds\n`);

  for (const size of sizes) {
    const started = Date.now();
    const epochs = buildEpochs(size);
    const buildSeconds = (Date.now() - started) / 1000;
    results[`leaves${size}.treeBuildSeconds`] = buildSeconds;
    for (const asset of ["erc20", "native"] as const) {
      const rows = await measure(asset, epochs, hardfork);
      table.push("");
      line([`${size.toLocaleString("en-US")} leaves, ${asset === "erc20" ? "ERC-20" : "native"}`, "gas", "floor", "gap", "note"]);
      for (const r of rows) {
        line([`  ${r.label}`, String(r.gas), String(r.floor), String(r.gas - r.floor), r.note ?? ""]);
        results[`${asset}.leaves${size}.${key(r.label)}`] = r.gas;
        results[`${asset}.leaves${size}.${key(r.label)}.floor`] = r.floor;
      }
    }
    console.log(table.splice(0).join("\n"));
    console.log(`  (trees for ${size} leaves built off-chain in ${buildSeconds.toFixed(1)} s)`);
  }

  const largest = Math.max(...sizes);
  const first = results[`erc20.leaves${largest}.claimFirst`];
  const repeat = results[`erc20.leaves${largest}.claimRepeated`];
  console.log(
    `\ntargets (1,000,000 leaves, ERC-20 held by the receiver): first claim ${first} <= ${TARGETS.claimFirst}: ${
      first <= TARGETS.claimFirst ? "met" : "MISSED"
    }; repeated claim ${repeat} <= ${TARGETS.claimRepeat}: ${repeat <= TARGETS.claimRepeat ? "met" : "MISSED"}${
      largest === 1_000_000 ? "" : ` (measured at ${largest} leaves, not 1,000,000)`
    }`,
  );

  const out = path.join(__dirname, "results", "gas.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
