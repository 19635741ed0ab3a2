import { MerkleTree } from "merkletreejs";
import keccak256 from "keccak256";
import { getAddress, type Address, type Hex } from "viem";

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

/**
 * keccak256(bytes.concat(keccak256(abi.encode(account, cumulative)))): the OpenZeppelin
 * double-hashed leaf. The 64-byte ABI encoding is written directly (much faster than
 * encodeAbiParameters per leaf).
 */
export function leafHash(account: string, cumulative: bigint): Buffer {
  if (cumulative < 0n || cumulative > UINT256_MAX) throw new RangeError(`cumulative out of uint256 range: ${cumulative}`);
  const hex = account.startsWith("0x") || account.startsWith("0X") ? account.slice(2) : account;
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new TypeError(`invalid account address: ${account}`);
  const encoded = Buffer.alloc(64);
  encoded.write(hex, 12, 20, "hex");
  encoded.write(cumulative.toString(16).padStart(64, "0"), 32, 32, "hex");
  return keccak256(keccak256(encoded));
}

export class PayoutTree {
  readonly tree: MerkleTree;
  /** Leaves in tree order (account ascending). */
  readonly allocations: CumulativeAllocation[];
  private readonly indexByAccount = new Map<string, number>();

  constructor(allocations: Iterable<CumulativeAllocation>, precomputedLeaves?: Buffer[]) {
    const sorted = [...allocations].map((a) => ({ account: getAddress(a.account), cumulative: a.cumulative }));
    sorted.sort((a, b) => compareAccounts(a.account, b.account));
    sorted.forEach((a, i) => {
      const key = a.account.toLowerCase();
      if (this.indexByAccount.has(key)) throw new Error(`duplicate account in tree: ${a.account}`);
      this.indexByAccount.set(key, i);
    });
    if (sorted.length === 0) throw new Error("a payout tree needs at least one leaf");
    const leaves = precomputedLeaves ?? sorted.map((a) => leafHash(a.account, a.cumulative));
    this.allocations = sorted;
    this.tree = new MerkleTree(leaves, keccak256, { sortPairs: true });
  }

  get root(): Hex {
    return this.tree.getHexRoot() as Hex;
  }

  get total(): bigint {
    return this.allocations.reduce((sum, a) => sum + a.cumulative, 0n);
  }

  indexOf(account: string): number {
    return this.indexByAccount.get(account.toLowerCase()) ?? -1;
  }

  /** The proof of the leaf at `index` (passing the index avoids a linear search of the tree). */
  proofAt(index: number): Hex[] {
    const a = this.allocations[index];
    if (!a) throw new RangeError(`no leaf at index ${index}`);
    return this.tree.getHexProof(leafHash(a.account, a.cumulative), index) as Hex[];
  }

  /** The account's cumulative amount and proof, or undefined when it is not in the tree. */
  proofFor(account: string): { account: Address; cumulative: bigint; proof: Hex[] } | undefined {
    const index = this.indexOf(account);
    if (index < 0) return undefined;
    const a = this.allocations[index];
    return { account: a.account, cumulative: a.cumulative, proof: this.proofAt(index) };
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
  for (const p of proof) {
    const sibling = Buffer.from(p.slice(2), "hex");
    node = Buffer.compare(node, sibling) <= 0 ? keccak256(Buffer.concat([node, sibling])) : keccak256(Buffer.concat([sibling, node]));
  }
  return "0x" + node.toString("hex") === root.toLowerCase();
}
