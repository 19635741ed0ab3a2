import fs from "node:fs";
import path from "node:path";
import { getAddress, type Address } from "viem";
import { ConfigError } from "../config";
import type { ShareStore } from "./types";

/** The deployment a store and its epoch files belong to: one EVM chain and one PayoutPool. */
export interface Deployment {
  chainId: number;
  contract: Address;
}

const KEY = "deployment";

function text(d: Deployment): string {
  return `contract ${getAddress(d.contract)} on chain ${d.chainId}`;
}

function parse(value: string): Deployment | undefined {
  const m = /^(\d+):(0x[0-9a-fA-F]{40})$/.exec(value);
  return m ? { chainId: Number(m[1]), contract: getAddress(m[2]) } : undefined;
}

function same(a: Deployment, b: Deployment): boolean {
  return a.chainId === b.chainId && a.contract.toLowerCase() === b.contract.toLowerCase();
}

/**
 * Binds the store to `deployment` on first use and refuses it afterwards for any other one: the
 * ledger, the epochs and the shares of one contract must never be proposed to another (a data dir
 * copied from deployment A and started against contract B would propose A's roots to B).
 * Throws ConfigError naming evm.contract, the store (`where`) and both deployments.
 */
export async function bindStore(store: ShareStore, deployment: Deployment, where: string): Promise<void> {
  const stored = await store.setMetaOnce(KEY, `${deployment.chainId}:${deployment.contract.toLowerCase()}`);
  const bound = parse(stored);
  if (!bound) throw new ConfigError("store", `${where} records an unreadable deployment "${stored}"`);
  if (!same(bound, deployment)) {
    throw new ConfigError(
      "evm.contract",
      `the share store ${where} belongs to ${text(bound)}, but the pool is configured for ${text(deployment)}: ` +
        `use this deployment's own data dir / store, or configure the contract it belongs to`,
    );
  }
}

/** The deployment an epoch file names (read from its head: format.ts writes chain and contract first). */
export function epochFileDeployment(file: string): Deployment | undefined {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const s = head.subarray(0, n).toString("utf8");
    const chainId = /"evmChainId"\s*:\s*(\d+)/.exec(s)?.[1];
    const contract = /"contract"\s*:\s*"(0x[0-9a-fA-F]{40})"/.exec(s)?.[1];
    return chainId && contract ? { chainId: Number(chainId), contract: getAddress(contract) } : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checks every epoch file in `epochsDir` (epoch-NNNNNN.json) names `deployment`; the first that
 * names another is refused with a ConfigError naming the file and both deployments.
 */
export function checkEpochFiles(epochsDir: string, deployment: Deployment): void {
  if (!fs.existsSync(epochsDir)) return;
  for (const name of fs.readdirSync(epochsDir).sort()) {
    if (!/^epoch-\d+\.json$/.test(name)) continue;
    const file = path.join(epochsDir, name);
    const named = epochFileDeployment(file);
    if (named && !same(named, deployment)) {
      throw new ConfigError(
        "evm.contract",
        `the epoch file ${file} belongs to ${text(named)}, but the pool is configured for ${text(deployment)}: ` +
          `use this deployment's own data dir, or configure the contract it belongs to`,
      );
    }
  }
}

const UNITS_KEY = "units_per_satoshi";

/**
 * Binds the store to the satoshi → asset mapping on first use (a store with epochs recorded
 * before the binding existed paid one unit per satoshi) and refuses any other afterwards: its
 * cumulative amounts, and the contract's, are in that unit, so a change would mix units.
 * Throws ConfigError naming evm.unitsPerSatoshi, the store (`where`) and both values.
 */
export async function bindUnits(store: ShareStore, unitsPerSatoshi: bigint, where: string): Promise<void> {
  if ((await store.getMeta(UNITS_KEY)) === undefined && (await store.epochs()).length > 0) await store.setMetaOnce(UNITS_KEY, "1");
  const stored = await store.setMetaOnce(UNITS_KEY, unitsPerSatoshi.toString());
  if (!/^[1-9]\d*$/.test(stored)) throw new ConfigError("store", `${where} records an unreadable units per satoshi "${stored}"`);
  if (BigInt(stored) !== unitsPerSatoshi) {
    throw new ConfigError(
      "evm.unitsPerSatoshi",
      `is ${unitsPerSatoshi}, but the share store ${where} pays ${stored} smallest units per satoshi in its epochs: ` +
        `changing it would mix units in the cumulative amounts; keep ${stored}${stored === "1" ? " (leave the setting out)" : ""}, or start a new deployment with its own data dir`,
    );
  }
}
