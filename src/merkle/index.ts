import { MerkleTree } from "merkletreejs";
import keccak256 from "keccak256";
import { getAddress, type Address, type Hex } from "viem";
import { keccak32Batch, keccak64Batch, keccakSortedPairsBatch } from "./keccak";

/** One leaf of the published tree: an account and the total allocated to it so far. */
export interface CumulativeAllocation {
  account: Address;
  cumulative: bigint;
}

/** The options an auditor needs to rebuild the tree exactly; written into every epoch file. */
export const TREE_OPTIONS = {
  library: "merkletreejs",
  hash: "keccak256",
  sortPairs: true,
  leafOrder: "account ascending (lower-case hex)",
  leaf: "keccak256(bytes.concat(keccak256(abi.encode(address account, uint256 cumulativeAmount))))",
} as const;

const UINT256_MAX = (1n << 256n) - 1n;
const ACCOUNT = /^0[xX][0-9a-fA-F]{40}$/;
const LOWER_ACCOUNT = /^0x[0-9a-f]{40}$/;

/** Lower-case 0x form of an account; TypeError when it is not a 20-byte hex address. */
export function normalizeAccount(account: string): string {
  if (typeof account !== "string") throw new TypeError(`invalid account address: ${String(account)}`);
  if (LOWER_ACCOUNT.test(account)) return account;
  if (!ACCOUNT.test(account)) throw new TypeError(`invalid account address: ${account}`);
  return account.toLowerCase();
}

function checkLowerAccount(a: string): void {
  if (typeof a !== "string" || !LOWER_ACCOUNT.test(a)) throw new TypeError(`invalid account address (lower-case 0x hex expected): ${String(a)}`);
}

function checkAmount(cumulative: bigint): void {
  if (typeof cumulative !== "bigint" || cumulative < 0n || cumulative > UINT256_MAX) {
    throw new RangeError(`cumulative out of uint256 range: ${String(cumulative)}`);
  }
}

const UINT64_LIMIT = 1n << 64n;

/**
 * Writes abi.encode(address, uint256) (64 bytes) at `offset`; `account` is 0x hex. Bytes 0..11
 * and, for amounts below 2^64, 32..55 of the slot must already be zero.
 */
function encodeLeafInto(out: Buffer, offset: number, account: string, cumulative: bigint): void {
  out.write(account.slice(2), offset + 12, 20, "hex");
  if (cumulative < UINT64_LIMIT) out.writeBigUInt64BE(cumulative, offset + 56);
  else out.write(cumulative.toString(16).padStart(64, "0"), offset + 32, 32, "hex");
}

/**
 * keccak256(bytes.concat(keccak256(abi.encode(account, cumulative)))): the OpenZeppelin
 * double-hashed leaf. The 64-byte ABI encoding is written directly (much faster than
 * encodeAbiParameters per leaf).
 */
export function leafHash(account: string, cumulative: bigint): Buffer {
  checkAmount(cumulative);
  const hex = account.startsWith("0x") || account.startsWith("0X") ? account.slice(2) : account;
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new TypeError(`invalid account address: ${account}`);
  const encoded = Buffer.alloc(64);
  encodeLeafInto(encoded, 0, "0x" + hex, cumulative);
  const out = Buffer.allocUnsafe(32);
  keccak64Batch(encoded, 1, out);
  keccak32Batch(out, 1, out);
  return out;
}

/** Leaf hashes (32 bytes each, concatenated) of `indices` of the parallel arrays, in that order. */
function hashLeaves(accounts: readonly string[], amounts: readonly bigint[], indices?: ArrayLike<number>): Buffer {
  const n = indices ? indices.length : accounts.length;
  const out = Buffer.allocUnsafe(n * 32);
  const CHUNK = 65536; // bounds the 64-byte encoding buffer
  const encoded = Buffer.alloc(Math.min(n, CHUNK) * 64);
  const wide = new Uint8Array(Math.min(n, CHUNK)); // slots whose bytes 32..55 hold a large amount
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    for (let k = start; k < end; k++) {
      const i = indices ? indices[k] : k;
      const slot = k - start;
      const amount = amounts[i];
      if (wide[slot] === 1 && amount < UINT64_LIMIT) encoded.fill(0, slot * 64 + 32, slot * 64 + 56);
      wide[slot] = amount < UINT64_LIMIT ? 0 : 1;
      encodeLeafInto(encoded, slot * 64, accounts[i], amount);
    }
    keccak64Batch(encoded, end - start, out, start * 32);
  }
  keccak32Batch(out, n, out);
  return out;
}

/**
 * The layers of a merkletreejs tree with `sortPairs` over `count` 32-byte leaves: each pair is
 * hashed in ascending byte order, an odd last node is carried up unchanged (merkletreejs
 * without duplicateOdd), so roots and proofs are identical to `new MerkleTree(leaves, keccak256,
 * { sortPairs: true })` (checked by the tests on random trees).
 */
export function buildLayers(leaves: Buffer, count: number): Buffer[] {
  if (leaves.length < count * 32) throw new RangeError("leaf buffer shorter than the leaf count");
  const layers = [leaves.length === count * 32 ? leaves : leaves.subarray(0, count * 32)];
  let layer = layers[0];
  while (count > 1) {
    const pairs = count >> 1;
    const nextCount = (count + 1) >> 1;
    const next = Buffer.allocUnsafe(nextCount * 32);
    keccakSortedPairsBatch(layer, pairs, next);
    if (count & 1) layer.copy(next, pairs * 32, (count - 1) * 32, count * 32);
    layers.push(next);
    layer = next;
    count = nextCount;
  }
  return layers;
}

/** Value of a lower-case hex digit's char code (0-9, a-f). */
function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

/** Ascending order of lower-case accounts; bucketed by the first 16 bits for large inputs. */
export function sortedAccountOrder(accounts: readonly string[]): Uint32Array {
  const n = accounts.length;
  const byAccount = (a: number, b: number) => (accounts[a] < accounts[b] ? -1 : accounts[a] > accounts[b] ? 1 : 0);
  if (n < 65536) return Uint32Array.from([...Array(n).keys()].sort(byAccount));
  const BUCKETS = 65536;
  const keys = new Uint32Array(n);
  const starts = new Uint32Array(BUCKETS + 1);
  for (let i = 0; i < n; i++) {
    const a = accounts[i];
    const k = (hexDigit(a.charCodeAt(2)) << 12) | (hexDigit(a.charCodeAt(3)) << 8) | (hexDigit(a.charCodeAt(4)) << 4) | hexDigit(a.charCodeAt(5));
    keys[i] = k;
    starts[k + 1]++;
  }
  for (let b = 0; b < BUCKETS; b++) starts[b + 1] += starts[b];
  const fill = starts.slice(0, BUCKETS);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[keys[i]]++] = i;
  for (let b = 0; b < BUCKETS; b++) {
    const lo = starts[b];
    const hi = starts[b + 1];
    if (hi - lo < 2) continue;
    if (hi - lo > 32) {
      order.set(Array.from(order.subarray(lo, hi)).sort(byAccount), lo);
      continue;
    }
    for (let i = lo + 1; i < hi; i++) {
      const v = order[i];
      let j = i - 1;
      while (j >= lo && accounts[order[j]] > accounts[v]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = v;
    }
  }
  return order;
}

const SORTED = Symbol("PayoutTree.sorted");
interface SortedParts {
  [SORTED]: true;
  accounts: string[];
  amounts: bigint[];
  leaves: Buffer;
}

export class PayoutTree {
  /** Accounts in tree order (lower-case, ascending) and their cumulative amounts. */
  private readonly accounts: string[];
  private readonly amounts: bigint[];
  private readonly layers: Buffer[];
  private hexLayers: string[] | undefined;
  private cachedTree: MerkleTree | undefined;
  private cachedAllocations: CumulativeAllocation[] | undefined;
  private cachedTotal: bigint | undefined;

  constructor(allocations: Iterable<CumulativeAllocation> | SortedParts, precomputedLeaves?: Buffer[]) {
    if ((allocations as SortedParts)[SORTED] === true) {
      const parts = allocations as SortedParts;
      this.accounts = parts.accounts;
      this.amounts = parts.amounts;
      this.layers = buildLayers(parts.leaves, parts.accounts.length);
      return;
    }
    const input = [...(allocations as Iterable<CumulativeAllocation>)];
    if (input.length === 0) throw new Error("a payout tree needs at least one leaf");
    const accounts = input.map((a) => normalizeAccount(a.account));
    input.forEach((a) => checkAmount(a.cumulative));
    const order = sortedAccountOrder(accounts);
    this.accounts = Array.from(order, (i) => accounts[i]);
    this.amounts = Array.from(order, (i) => input[i].cumulative);
    for (let i = 1; i < this.accounts.length; i++) {
      if (this.accounts[i] === this.accounts[i - 1]) throw new Error(`duplicate account in tree: ${getAddress(this.accounts[i])}`);
    }
    let leaves: Buffer;
    if (precomputedLeaves) {
      if (precomputedLeaves.length !== input.length || precomputedLeaves.some((l) => l.length !== 32)) {
        throw new RangeError("precomputed leaves must be one 32-byte hash per allocation, in tree order");
      }
      leaves = Buffer.concat(precomputedLeaves);
    } else {
      leaves = hashLeaves(this.accounts, this.amounts);
    }
    this.layers = buildLayers(leaves, this.accounts.length);
  }

  /**
   * Fast path: accounts already lower-case, strictly ascending, with their amounts. Leaves of
   * accounts whose amount equals their amount in `previous` are copied instead of re-hashed.
   */
  static fromSorted(accounts: string[], amounts: bigint[], previous?: PayoutTree): PayoutTree {
    const n = accounts.length;
    if (n === 0) throw new Error("a payout tree needs at least one leaf");
    if (amounts.length !== n) throw new RangeError("accounts and amounts differ in length");
    for (let i = 0; i < n; i++) {
      if (i > 0 && !(accounts[i - 1] < accounts[i])) throw new Error(`accounts not strictly ascending at index ${i}: ${accounts[i]}`);
      checkAmount(amounts[i]);
    }
    let leaves: Buffer;
    if (!previous) {
      for (const a of accounts) checkLowerAccount(a);
      leaves = hashLeaves(accounts, amounts);
    } else {
      leaves = Buffer.allocUnsafe(n * 32);
      const stale: number[] = [];
      const prevLeaves = previous.layers[0];
      let j = 0;
      for (let i = 0; i < n; i++) {
        while (j < previous.accounts.length && previous.accounts[j] < accounts[i]) j++;
        if (j < previous.accounts.length && previous.accounts[j] === accounts[i] && previous.amounts[j] === amounts[i]) {
          prevLeaves.copy(leaves, i * 32, j * 32, j * 32 + 32);
        } else {
          stale.push(i);
        }
      }
      for (const i of stale) checkLowerAccount(accounts[i]); // the others were checked in `previous`
      const fresh = hashLeaves(accounts, amounts, stale);
      for (let k = 0; k < stale.length; k++) fresh.copy(leaves, stale[k] * 32, k * 32, k * 32 + 32);
    }
    return new PayoutTree({ [SORTED]: true, accounts, amounts, leaves });
  }

  /** Number of leaves. */
  get size(): number {
    return this.accounts.length;
  }

  get root(): Hex {
    const top = this.layers[this.layers.length - 1];
    return `0x${top.toString("hex", 0, 32)}`;
  }

  get total(): bigint {
    if (this.cachedTotal === undefined) this.cachedTotal = this.amounts.reduce((sum, a) => sum + a, 0n);
    return this.cachedTotal;
  }

  /** Leaves in tree order (account ascending), accounts checksummed. Built on first use. */
  get allocations(): CumulativeAllocation[] {
    this.cachedAllocations ??= this.accounts.map((account, i) => ({ account: getAddress(account), cumulative: this.amounts[i] }));
    return this.cachedAllocations;
  }

  /** The same tree as a merkletreejs MerkleTree (built on first use; slow for large trees). */
  get tree(): MerkleTree {
    this.cachedTree ??= new MerkleTree(
      Array.from({ length: this.size }, (_, i) => Buffer.from(this.layers[0].subarray(i * 32, i * 32 + 32))),
      keccak256,
      { sortPairs: true },
    );
    return this.cachedTree;
  }

  /** Lower-case account of leaf `index`. */
  accountAt(index: number): Address {
    this.check(index);
    return this.accounts[index] as Address;
  }

  cumulativeAt(index: number): bigint {
    this.check(index);
    return this.amounts[index];
  }

  /** The leaf hash at `index`. */
  leafAt(index: number): Buffer {
    this.check(index);
    return Buffer.from(this.layers[0].subarray(index * 32, index * 32 + 32));
  }

  indexOf(account: string): number {
    let key: string;
    try {
      key = normalizeAccount(account);
    } catch {
      return -1;
    }
    let lo = 0;
    let hi = this.accounts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const a = this.accounts[mid];
      if (a === key) return mid;
      if (a < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The proof of the leaf at `index` (merkletreejs getProof: siblings bottom-up, none for a carried odd node). */
  proofAt(index: number): Hex[] {
    this.check(index);
    this.hexLayers ??= this.layers.map((l) => l.toString("hex"));
    const proof: Hex[] = [];
    for (let level = 0; level < this.layers.length; level++) {
      const sibling = index ^ 1;
      if (sibling * 32 < this.layers[level].length) proof.push(`0x${this.hexLayers[level].substr(sibling * 64, 64)}`);
      index >>= 1;
    }
    return proof;
  }

  /** The account's cumulative amount and proof, or undefined when it is not in the tree. */
  proofFor(account: string): { account: Address; cumulative: bigint; proof: Hex[] } | undefined {
    const index = this.indexOf(account);
    if (index < 0) return undefined;
    return { account: getAddress(this.accounts[index]), cumulative: this.amounts[index], proof: this.proofAt(index) };
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.accounts.length) throw new RangeError(`no leaf at index ${index}`);
  }
}

export function compareAccounts(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Verifies a proof the way OpenZeppelin's MerkleProof does (sorted pairs). */
export function verifyProof(root: Hex, account: string, cumulative: bigint, proof: readonly Hex[]): boolean {
  let node = leafHash(account, cumulative);
  const pair = Buffer.allocUnsafe(64);
  for (const p of proof) {
    if (typeof p !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(p)) return false;
    const sibling = Buffer.from(p.slice(2), "hex");
    node.copy(pair, 0);
    sibling.copy(pair, 32);
    node = Buffer.allocUnsafe(32);
    keccakSortedPairsBatch(pair, 1, node);
  }
  return "0x" + node.toString("hex") === root.toLowerCase();
}
