import { erc20Abi, getAddress, parseUnits } from "viem";
import { InputError, optionalString, parseUint } from "./lib/env";
import { loadDeployment } from "./lib/deployment";
import { assetInfo, confirm, formatAmount, poolAt, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/**
 * Adds an amount of the pool's asset through fund(); for an ERC-20, approves the pool first when
 * the allowance is short. Exactly one of:
 *   AMOUNT        in whole units of the asset, a decimal ("0.01" tBTC, "3" ETH), at most its decimals
 *   AMOUNT_UNITS  in the asset's smallest unit, a decimal integer
 *   DEPLOYMENT  deployment record (default deployments/<network>.json); SIGNER the funding account
 */
export const main: ScriptMain<{ hashes: `0x${string}`[]; totalFunded: bigint }> = async (hre, env, log = () => {}) => {
  const whole = optionalString(env, "AMOUNT");
  const unitsText = optionalString(env, "AMOUNT_UNITS");
  if (whole !== undefined && unitsText !== undefined) throw new InputError("give AMOUNT (whole units, e.g. 0.01) or AMOUNT_UNITS (smallest units), not both");
  if (whole === undefined && unitsText === undefined) throw new InputError('AMOUNT is required: the amount to fund in whole units of the asset, e.g. "0.01" (or AMOUNT_UNITS in its smallest unit)');
  if (whole !== undefined && !/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(whole)) throw new InputError(`AMOUNT must be a decimal amount in whole units of the asset like "0.01", got "${whole}"`);
  const units = unitsText !== undefined ? parseUint("AMOUNT_UNITS", unitsText) : undefined;
  const deployment = await loadDeployment(hre, env);
  const signer = await signerFor(hre, env);
  const me = getAddress(signer.account.address);
  const pool = await poolAt(hre, deployment.address, signer);
  const asset = await assetInfo(hre, await pool.read.token());
  let amount: bigint;
  if (units !== undefined) amount = units;
  else {
    const fraction = whole!.split(".")[1] ?? "";
    if (fraction.replace(/0+$/, "").length > asset.decimals) throw new InputError(`AMOUNT ${whole} has more decimals than the asset's ${asset.decimals} (${asset.symbol})`);
    amount = parseUnits(whole!.startsWith(".") ? `0${whole}` : whole!, asset.decimals);
  }
  if (amount === 0n) throw new InputError(`${units !== undefined ? "AMOUNT_UNITS" : "AMOUNT"} must be greater than 0`);
  const publicClient = await hre.viem.getPublicClient();
  const hashes: `0x${string}`[] = [];

  if (asset.token) {
    const token = asset.token;
    const balance = await publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [me] });
    if (balance < amount) throw new InputError(`AMOUNT ${formatAmount(amount, asset)} exceeds the signer's balance ${formatAmount(balance, asset)}`);
    const allowance = await publicClient.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [me, pool.address] });
    if (allowance < amount) {
      const approveHash = await signer.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [pool.address, amount] });
      await confirm(hre, approveHash);
      hashes.push(approveHash);
      log(`approved ${formatAmount(amount, asset)} to ${pool.address}: tx ${approveHash}`);
    }
    const hash = await pool.write.fund([amount]);
    await confirm(hre, hash);
    hashes.push(hash);
  } else {
    const balance = await publicClient.getBalance({ address: me });
    if (balance < amount) throw new InputError(`AMOUNT ${formatAmount(amount, asset)} exceeds the signer's balance ${formatAmount(balance, asset)}`);
    const hash = await pool.write.fund([amount], { value: amount });
    await confirm(hre, hash);
    hashes.push(hash);
  }
  const totalFunded = await pool.read.totalFunded();
  log(`funded ${formatAmount(amount, asset)} into ${pool.address} from ${me}: tx ${hashes[hashes.length - 1]}`);
  log(`  total funded now ${formatAmount(totalFunded, asset)}`);
  return { hashes, totalFunded };
};

runIfMain(module, main);
