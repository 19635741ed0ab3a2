import fs from "node:fs";
import { getAddress, isAddress, type Abi, type Address } from "viem";
import { ConfigError } from "../config";

/**
 * The part of a deployment record (scripts/deploy.ts writes deployments/<network>.json) that
 * `pool start` uses instead of separate settings: where the contract is, on which chain, since
 * which block, paying which asset.
 */
export interface DeploymentRecord {
  chainId: number;
  address: Address;
  /** null = the native coin. */
  token: Address | null;
  blockNumber?: number;
  challengeWindow?: number;
  /** The contract's ABI as the deploy script wrote it (records from before the field have none). */
  abi?: Abi;
}

/** Reads and checks a deployment record; every problem is a ConfigError naming evm.deployment and the file. */
export function readDeploymentRecord(file: string): DeploymentRecord {
  const fail = (why: string): never => {
    throw new ConfigError("evm.deployment", `${file}: ${why}`);
  };
  let doc: any;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err: any) {
    return fail(err?.code === "ENOENT" ? "no such file (write it with scripts/deploy.ts)" : `not JSON: ${err.message}`);
  }
  if (!doc || typeof doc !== "object") fail("is not a deployment record");
  if (!Number.isSafeInteger(doc.chainId) || doc.chainId <= 0) fail(`"chainId" must be a positive integer, got ${JSON.stringify(doc.chainId)}`);
  if (typeof doc.address !== "string" || !isAddress(doc.address, { strict: false })) fail(`"address" must be an address, got ${JSON.stringify(doc.address)}`);
  if (doc.token !== null && (typeof doc.token !== "string" || !isAddress(doc.token, { strict: false }))) fail(`"token" must be an address or null (native), got ${JSON.stringify(doc.token)}`);
  if (doc.abi !== undefined && (!Array.isArray(doc.abi) || !doc.abi.every((e: unknown) => e && typeof e === "object" && typeof (e as { type?: unknown }).type === "string"))) {
    fail('"abi" must be an array of ABI entries (as scripts/deploy.ts writes it)');
  }
  if (Array.isArray(doc.abi) && !doc.abi.some((e: { type: string; name?: string }) => e.type === "function" && e.name === "proposeRoot")) {
    fail('"abi" is not PayoutPool\'s (no proposeRoot function)');
  }
  return {
    chainId: doc.chainId,
    address: getAddress(doc.address),
    token: doc.token === null ? null : getAddress(doc.token),
    ...(Number.isSafeInteger(doc.blockNumber) ? { blockNumber: doc.blockNumber } : {}),
    ...(Number.isSafeInteger(doc.challengeWindow) ? { challengeWindow: doc.challengeWindow } : {}),
    ...(Array.isArray(doc.abi) ? { abi: doc.abi as Abi } : {}),
  };
}
