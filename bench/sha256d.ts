/**
 * Raw sha256d throughput of 80-byte headers in this process: the physical ceiling for share
 * validation. Compares node:crypto's one-shot crypto.hash with createHash, and times the whole
 * share re-verification (coinbase + merkle branch + header) that the Stratum server runs per share.
 * pow.sha256d uses the JavaScript compression for inputs up to 256 bytes (faster than two node:crypto
 * calls there) and crypto.hash above.
 * Usage: npx ts-node --transpile-only bench/sha256d.ts [seconds-per-case]
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildCoinbaseParts, hasOneShotHash, merkleBranch, sha256, sha256d, sha256dCreateHash, sha256dJs, sha256dNative, verifyShareWork } from "../src/pow";

const seconds = Number(process.argv[2] ?? 2);
const SLICE_MS = 100;

/**
 * The cores are shared with other processes, so cases run interleaved in short slices and each
 * reports its best slice (closest to an uncontended core) and its median slice.
 */
function measure(cases: Record<string, (i: number) => unknown>): Record<string, { best: number; median: number }> {
  const names = Object.keys(cases);
  const slices: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) for (let i = 0; i < 20_000; i++) cases[n](i); // warm-up
  const rounds = Math.max(3, Math.round((seconds * 1000) / SLICE_MS));
  let counter = 0;
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const fn = cases[n];
      let done = 0;
      const start = process.hrtime.bigint();
      const deadline = start + BigInt(SLICE_MS * 1e6);
      let now = start;
      while (now < deadline) {
        for (let k = 0; k < 1_000; k++) fn(counter++);
        done += 1_000;
        now = process.hrtime.bigint();
      }
      slices[n].push(done / (Number(now - start) / 1e9));
    }
  }
  const out: Record<string, { best: number; median: number }> = {};
  for (const n of names) {
    const sorted = slices[n].sort((a, b) => a - b);
    out[n] = { best: sorted[sorted.length - 1], median: sorted[Math.floor(sorted.length / 2)] };
  }
  return out;
}

const header = crypto.randomBytes(80);
const block64 = crypto.randomBytes(64);

const { coinb1, coinb2 } = buildCoinbaseParts({
  height: 840_000,
  payoutAddress: "0x8ba1f109551bd432803012645ac136ddd64dba72",
  shareDifficultyUnits: 1_000_000_000n,
  poolTag: "/pplns/",
  extranonce1Size: 4,
  extranonce2Size: 8,
  outputs: [{ value: 312_500_000n, script: Buffer.from("0014" + "ab".repeat(20), "hex") }],
  witnessCommitment: Buffer.from("6a24aa21a9ed" + "00".repeat(32), "hex"),
});
const branch = merkleBranch(Array.from({ length: 7 }, () => crypto.randomBytes(32).toString("hex")));
const branchBuffers = branch.map((b) => Buffer.from(b, "hex"));
const share = {
  coinb1, coinb2, extranonce1: "0a0b0c0d", extranonce2: "0000000000000000", merkleBranch: branch,
  version: "20000000", prevhash: "00".repeat(32), nbits: "1d00ffff", ntime: "66000000", nonce: "00000000",
};
const nonceHex = (i: number) => (i >>> 0).toString(16).padStart(8, "0");

console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), crypto.hash available: ${hasOneShotHash}`);
console.log("Note: the machine's cores are shared with other processes; figures are single-thread.\n");

const cases: Record<string, [string, (i: number) => unknown]> = {
  sha256dHeaderCryptoHash: ["sha256d(80 B header), crypto.hash", (i) => (header.writeUInt32LE(i >>> 0, 76), sha256dNative(header))],
  sha256dHeaderCreateHash: ["sha256d(80 B header), createHash", (i) => (header.writeUInt32LE(i >>> 0, 76), sha256dCreateHash(header))],
  sha256dHeaderJs: ["sha256d(80 B header), JavaScript", (i) => (header.writeUInt32LE(i >>> 0, 76), sha256dJs(header))],
  sha256dHeaderDefault: ["sha256d(80 B header), pow.sha256d (default)", (i) => (header.writeUInt32LE(i >>> 0, 76), sha256d(header))],
  sha256Block64CryptoHash: ["sha256(64 B), crypto.hash (one call)", (i) => (block64.writeUInt32LE(i >>> 0, 0), sha256(block64))],
  verifyShareWork: [`verifyShareWork (hex in, ${branch.length}-step branch)`, (i) => verifyShareWork({ ...share, nonce: nonceHex(i) })],
  verifyShareWorkBufferBranch: ["verifyShareWork (branch as Buffers)", (i) => verifyShareWork({ ...share, merkleBranch: branchBuffers, nonce: nonceHex(i) })],
};
const measured = measure(Object.fromEntries(Object.entries(cases).map(([k, [, fn]]) => [k, fn])));
console.log(`${"case".padEnd(46)} ${"best /s".padStart(12)} ${"median /s".padStart(12)} ${"best µs".padStart(8)}`);
const results: Record<string, number> = { cpus: os.cpus().length, loadAverage1m: os.loadavg()[0] };
for (const [key, [label]] of Object.entries(cases)) {
  const { best, median } = measured[key];
  console.log(`${label.padEnd(46)} ${Math.round(best).toLocaleString("en-US").padStart(12)} ${Math.round(median).toLocaleString("en-US").padStart(12)} ${(1e6 / best).toFixed(2).padStart(8)}`);
  results[`${key}PerSecBest`] = best;
  results[`${key}PerSecMedian`] = median;
}
results.cryptoHashOverCreateHash = results.sha256dHeaderCryptoHashPerSecBest / results.sha256dHeaderCreateHashPerSecBest;
results.jsOverCryptoHash = results.sha256dHeaderJsPerSecBest / results.sha256dHeaderCryptoHashPerSecBest;
results.sha256dsPerShareVerification = 1 + branch.length + 1;
console.log(`\ncrypto.hash / createHash (best): ${results.cryptoHashOverCreateHash.toFixed(2)}x`);
console.log(`JavaScript / crypto.hash (best): ${results.jsOverCryptoHash.toFixed(2)}x`);
console.log(`load average (1 min) at the end: ${results.loadAverage1m.toFixed(2)} on ${results.cpus} CPUs`);

const out = path.join(__dirname, "results", "sha256d.json");
fs.mkdirSync(path.dirname(out), { recursive: true });
for (const k of Object.keys(results)) results[k] = Math.round(results[k] * 1000) / 1000;
fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
console.log(`wrote ${path.relative(process.cwd(), out)}`);
