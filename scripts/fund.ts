import { erc20Abi, getAddress } from "viem";
import { InputError, requireUint } from "./lib/env";
import { loadDeployment } from "./lib/deployment";
import { assetInfo, confirm, formatAmount, poolAt, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/**
 * Adds AMOUNT (smallest units, decimal integer) of the pool's asset through fund(); for an ERC-20,
 * approves the pool first when the allowance is short.
 *   AMOUNT      amount in the asset's smallest unit (required)
 *   DEPLOYMENT  deployment record (default deployments/<network>.json); SIGNER the funding account
 */
export const main: ScriptMain<{ hashes: `0x${string}`[]; totalFunded: bigint }> = async (hre, env, log = () => {}) => {
  const amount = requireUint(env, "AMOUNT", "amount to fund, in the asset's smallest unit");
  if (amount === 0n) throw new InputError("AMOUNT must be greater than 0");
  const deployment = await loadDeployment(hre, env);
  const signer = await signerFor(hre, env);
  const me = getAddress(signer.account.address);
  const pool = await poolAt(hre, deployment.address, signer);
  const asset = await assetInfo(hre, await pool.read.token());
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
