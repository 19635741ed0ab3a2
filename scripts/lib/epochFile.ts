import fs from "node:fs";
import { keccak256, type Address, type Hex } from "viem";
import { PayoutTree } from "../../src/merkle";
import { InputError, parseAddress, parseUint } from "./env";

export interface EpochLeaf {
  account: Address;
  cumulative: bigint;
  delta: bigint;
}

/** What propose-root needs from an epoch file, checked against a root rebuilt from its leaves. */
export interface EpochFile {
  path: string;
  epoch: bigint;
  root: Hex;
  totalCumulative: bigint;
  leaves: EpochLeaf[];
  tree: PayoutTree;
  /** keccak256 of the file's exact bytes: what the contract records for auditors. */
  dataHash: Hex;
  /** Optional fields checked against the deployment when present. */
  contract?: Address;
  chainId?: number;
}

/** A decimal string (or a safe JSON integer) as a bigint. */
function uintField(label: string, raw: unknown): bigint {
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return BigInt(raw);
  if (typeof raw === "string") return parseUint(label, raw);
  throw new InputError(`${label} must be a decimal string, got ${JSON.stringify(raw)}`);
}

/**
 * Reads and checks an epoch file: JSON with at least
 * `{ epoch, root, totalCumulative, leaves: [{ account, cumulative, delta } | [account, cumulative, delta]] }`
 * (the aggregator publishes the array form, see src/epochs/format.ts). The root is rebuilt
 * from the leaves with src/merkle and must match; totalCumulative must be the sum of the leaves.
 */
export function loadEpochFile(file: string, label = "EPOCH_FILE"): EpochFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err: any) {
    throw new InputError(`${label}: cannot read ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  }
  let json: any;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (err: any) {
    throw new InputError(`${label}: ${file} is not valid JSON: ${err.message}`);
  }
  if (typeof json !== "object" || json === null) throw new InputError(`${label}: ${file} must hold a JSON object`);

  const epoch = uintField(`${label} "epoch"`, json.epoch);
  if (epoch === 0n || epoch >= 1n << 64n) throw new InputError(`${label} "epoch" must be between 1 and 2^64-1, got ${epoch}`);
  if (typeof json.root !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(json.root)) {
    throw new InputError(`${label} "root" must be a 32-byte hex string, got ${JSON.stringify(json.root)}`);
  }
  const root = json.root.toLowerCase() as Hex;
  const totalCumulative = uintField(`${label} "totalCumulative"`, json.totalCumulative);
  if (!Array.isArray(json.leaves) || json.leaves.length === 0) throw new InputError(`${label} "leaves" must be a non-empty array`);

  const leaves: EpochLeaf[] = json.leaves.map((leaf: any, i: number) => {
    const at = `${label} leaves[${i}]`;
    // The aggregator's published files write each leaf as [account, cumulative, delta].
    if (Array.isArray(leaf)) leaf = { account: leaf[0], cumulative: leaf[1], delta: leaf[2] };
    if (typeof leaf !== "object" || leaf === null) throw new InputError(`${at} must be an object or [account, cumulative, delta]`);
    if (typeof leaf.account !== "string") throw new InputError(`${at}.account must be an address string`);
    return {
      account: parseAddress(`${at}.account`, leaf.account),
      cumulative: uintField(`${at}.cumulative`, leaf.cumulative),
      delta: uintField(`${at}.delta`, leaf.delta ?? "0"),
    };
  });
  for (const [i, leaf] of leaves.entries()) {
    if (leaf.delta > leaf.cumulative) throw new InputError(`${label} leaves[${i}]: delta ${leaf.delta} exceeds cumulative ${leaf.cumulative}`);
  }

  let tree: PayoutTree;
  try {
    tree = new PayoutTree(leaves);
  } catch (err: any) {
    throw new InputError(`${label}: cannot build the tree: ${err.message}`);
  }
  if (tree.root.toLowerCase() !== root) {
    throw new InputError(`${label}: root ${root} does not match the root rebuilt from its leaves, ${tree.root}`);
  }
  if (tree.total !== totalCumulative) {
    throw new InputError(`${label}: totalCumulative ${totalCumulative} is not the sum of the leaves, ${tree.total}`);
  }

  const contractRaw = json.contract ?? json.contractAddress;
  const chainRaw = json.chainId ?? json.evmChainId ?? json.chain?.evmChainId;
  return {
    path: file,
    epoch,
    root,
    totalCumulative,
    leaves,
    tree,
    dataHash: keccak256(bytes),
    contract: typeof contractRaw === "string" ? parseAddress(`${label} "contract"`, contractRaw) : undefined,
    chainId: typeof chainRaw === "number" ? chainRaw : undefined,
  };
}

/** Writes an epoch file in the shape loadEpochFile reads (used by tests and local tooling). */
export function epochFileJson(epoch: bigint, tree: PayoutTree, deltas: Map<string, bigint> = new Map()): string {
  return (
    JSON.stringify(
      {
        epoch: epoch.toString(),
        root: tree.root,
        totalCumulative: tree.total.toString(),
        leaves: tree.allocations.map((a) => ({
          account: a.account,
          cumulative: a.cumulative.toString(),
          delta: (deltas.get(a.account.toLowerCase()) ?? a.cumulative).toString(),
        })),
      },
      null,
      2,
    ) + "\n"
  );
}
