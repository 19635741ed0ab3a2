import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { erc20Abi, formatUnits, getAddress, type Address, type Hex } from "viem";
import { InputError, optionalAddress, type Env } from "./env";
import type { Deployment } from "./deployment";

type WalletClient = Awaited<ReturnType<HardhatRuntimeEnvironment["viem"]["getWalletClients"]>>[number];

/** The account that signs: SIGNER if set (must be one of the network's configured accounts), else the first. */
export async function signerFor(hre: HardhatRuntimeEnvironment, env: Env): Promise<WalletClient> {
  const wallets = await hre.viem.getWalletClients();
  if (wallets.length === 0) throw new InputError(`network "${hre.network.name}" has no accounts configured to sign with`);
  const wanted = optionalAddress(env, "SIGNER");
  if (!wanted) return wallets[0];
  const wallet = wallets.find((w) => getAddress(w.account.address) === wanted);
  if (!wallet) throw new InputError(`SIGNER ${wanted} is not one of the accounts configured for network "${hre.network.name}"`);
  return wallet;
}

export async function poolAt(hre: HardhatRuntimeEnvironment, address: Address, wallet?: WalletClient) {
  return hre.viem.getContractAt("PayoutPool", address, wallet ? { client: { wallet } } : undefined);
}

export type Pool = Awaited<ReturnType<typeof poolAt>>;

/** Refuses early, with the role's name, when the signer lacks a role the call needs. */
export async function requireRole(pool: Pool, role: "OPERATOR_ROLE" | "GUARDIAN_ROLE" | "DEFAULT_ADMIN_ROLE", who: Address) {
  const id = await pool.read[role]();
  if (!(await pool.read.hasRole([id, who]))) {
    throw new InputError(`signer ${who} does not hold ${role} on ${pool.address}; set SIGNER to an account that does`);
  }
}

/** Waits for the transaction and fails loudly unless it succeeded. */
export async function confirm(hre: HardhatRuntimeEnvironment, hash: Hex) {
  const receipt = await (await hre.viem.getPublicClient()).waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

export interface AssetInfo {
  token: Address | null;
  symbol: string;
  decimals: number;
}

export async function assetInfo(hre: HardhatRuntimeEnvironment, token: Address): Promise<AssetInfo> {
  if (BigInt(token) === 0n) return { token: null, symbol: "native", decimals: 18 };
  const publicClient = await hre.viem.getPublicClient();
  const read = async <T>(functionName: "symbol" | "decimals", fallback: T): Promise<T> => {
    try {
      return (await publicClient.readContract({ address: token, abi: erc20Abi, functionName })) as T;
    } catch {
      return fallback; // optional ERC-20 metadata
    }
  };
  return { token, symbol: await read("symbol", "tokens"), decimals: Number(await read("decimals", 18)) };
}

export function formatAmount(amount: bigint, asset: AssetInfo): string {
  return `${amount} (${formatUnits(amount, asset.decimals)} ${asset.symbol})`;
}

export interface PoolStatus {
  address: Address;
  asset: AssetInfo;
  now: bigint;
  totalFunded: bigint;
  balance: bigint;
  surplus: bigint;
  active: { root: Hex; epoch: bigint; totalCumulative: bigint };
  /** validAt: when acceptRoot works (the contract's acceptableAt(): the proposal's validAt, or later after a pause). */
  pending: { root: Hex; epoch: bigint; totalCumulative: bigint; validAt: bigint } | null;
  pausedUntil: bigint;
  paused: boolean;
  challengeWindow: bigint;
  maxPause: bigint;
}

export async function readStatus(hre: HardhatRuntimeEnvironment, deployment: Deployment): Promise<PoolStatus> {
  const pool = await poolAt(hre, deployment.address);
  const publicClient = await hre.viem.getPublicClient();
  const token = await pool.read.token();
  const asset = await assetInfo(hre, token);
  const [now, totalFunded, surplus, active, pending, pausedUntil, challengeWindow, maxPause, acceptableAt] = await Promise.all([
    chainNow(hre),
    pool.read.totalFunded(),
    pool.read.surplus(),
    pool.read.activeRoot(),
    pool.read.pendingRoot(),
    pool.read.pausedUntil(),
    pool.read.challengeWindow(),
    pool.read.maxPause(),
    pool.read.acceptableAt(),
  ]);
  const balance = asset.token
    ? await publicClient.readContract({ address: asset.token, abi: erc20Abi, functionName: "balanceOf", args: [pool.address] })
    : await publicClient.getBalance({ address: pool.address });
  return {
    address: pool.address,
    asset,
    now,
    totalFunded,
    balance,
    surplus,
    active: { root: active[0], epoch: active[1], totalCumulative: active[2] },
    pending: BigInt(pending[0]) === 0n ? null : { root: pending[0], epoch: pending[1], totalCumulative: pending[2], validAt: acceptableAt },
    pausedUntil,
    paused: now < pausedUntil,
    challengeWindow,
    maxPause,
  };
}

/**
 * Seconds since the epoch as the chain will see them next: the later of the latest block's timestamp
 * (ahead of the clock after `evm_increaseTime`) and the wall clock (ahead of an idle local node).
 */
export async function chainNow(hre: HardhatRuntimeEnvironment): Promise<bigint> {
  const block = await (await hre.viem.getPublicClient()).getBlock();
  const wall = BigInt(Math.floor(Date.now() / 1000));
  return block.timestamp > wall ? block.timestamp : wall;
}

/** The first line of a (viem) error: its short message, without the request dump. */
export function shortReason(err: unknown): string {
  for (let e: any = err; e; e = e.cause) {
    if (e.data?.errorName) return `${e.data.errorName}(${(e.data.args ?? []).join(", ")})`;
  }
  const e = err as { shortMessage?: string; message?: string };
  return (e.shortMessage ?? e.message ?? String(err)).split("\n")[0];
}

export function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

export function formatStatus(s: PoolStatus): string {
  const lines = [
    `pool            ${s.address} (${s.asset.token ? `ERC-20 ${s.asset.symbol} ${s.asset.token}` : "native coin"})`,
    `chain time      ${s.now} (${isoTime(s.now)})`,
    `total funded    ${formatAmount(s.totalFunded, s.asset)}`,
    `balance         ${formatAmount(s.balance, s.asset)}`,
    `surplus         ${formatAmount(s.surplus, s.asset)} (withdrawable by the admin)`,
    `active root     epoch ${s.active.epoch}  ${s.active.root}  total ${formatAmount(s.active.totalCumulative, s.asset)}`,
    s.pending
      ? `pending root    epoch ${s.pending.epoch}  ${s.pending.root}  total ${formatAmount(s.pending.totalCumulative, s.asset)}\n` +
        `                valid at ${s.pending.validAt} (${isoTime(s.pending.validAt)}): ${
          s.now >= s.pending.validAt ? "acceptable now" : `${s.pending.validAt - s.now} s of challenge window left`
        }`
      : `pending root    none`,
    s.paused
      ? `claims          PAUSED until ${s.pausedUntil} (${isoTime(s.pausedUntil)}), ${s.pausedUntil - s.now} s left`
      : `claims          open${s.pausedUntil > 0n ? ` (last pause ended ${isoTime(s.pausedUntil)})` : ""}`,
    `window / pause  challenge window ${s.challengeWindow} s, max pause ${s.maxPause} s`,
  ];
  return lines.join("\n");
}
