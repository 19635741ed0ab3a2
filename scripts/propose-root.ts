import path from "node:path";
import { InputError, optionalString, requireString } from "./lib/env";
import { loadDeployment } from "./lib/deployment";
import { loadEpochFile } from "./lib/epochFile";
import { assetInfo, confirm, formatAmount, isoTime, poolAt, requireRole, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/**
 * Proposes the root of an epoch file after rebuilding it from the file's leaves.
 *   EPOCH_FILE  the epoch file (JSON: epoch, root, totalCumulative, leaves[{account, cumulative, delta}])
 *   EPOCH_URI   where the file is published (default: the file's path)
 *   DEPLOYMENT  deployment record; SIGNER must hold OPERATOR_ROLE
 * dataHash = keccak256 of the file's bytes.
 */
export const main: ScriptMain<{ hash: `0x${string}`; epoch: bigint; root: `0x${string}`; validAt: bigint }> = async (
  hre,
  env,
  log = () => {},
) => {
  const file = requireString(env, "EPOCH_FILE", "path of the epoch file to propose");
  const epochFile = loadEpochFile(file);
  const uri = optionalString(env, "EPOCH_URI") ?? path.resolve(file);
  const deployment = await loadDeployment(hre, env);
  const signer = await signerFor(hre, env);
  const pool = await poolAt(hre, deployment.address, signer);
  const asset = await assetInfo(hre, await pool.read.token());

  if (epochFile.contract && epochFile.contract !== deployment.address) {
    throw new InputError(`EPOCH_FILE is for contract ${epochFile.contract}, the deployment is ${deployment.address}`);
  }
  if (epochFile.chainId !== undefined && epochFile.chainId !== deployment.chainId) {
    throw new InputError(`EPOCH_FILE is for chain ${epochFile.chainId}, the deployment is on chain ${deployment.chainId}`);
  }
  await requireRole(pool, "OPERATOR_ROLE", signer.account.address);
  // The contract would refuse these too; checking first gives the operator a plain explanation.
  const [, activeEpoch, activeTotal] = await pool.read.activeRoot();
  const [pendingRoot, pendingEpoch] = await pool.read.pendingRoot();
  const totalFunded = await pool.read.totalFunded();
  if (BigInt(pendingRoot) !== 0n) throw new InputError(`EPOCH_FILE: epoch ${pendingEpoch} is still pending; accept or revoke it first`);
  if (epochFile.epoch !== activeEpoch + 1n) {
    throw new InputError(`EPOCH_FILE: epoch ${epochFile.epoch} is not the next one (the active epoch is ${activeEpoch})`);
  }
  if (epochFile.totalCumulative < activeTotal) {
    throw new InputError(`EPOCH_FILE: totalCumulative ${epochFile.totalCumulative} is below the active root's ${activeTotal}`);
  }
  if (epochFile.totalCumulative > totalFunded) {
    throw new InputError(
      `EPOCH_FILE: totalCumulative ${formatAmount(epochFile.totalCumulative, asset)} exceeds total funded ${formatAmount(totalFunded, asset)}; fund the pool first`,
    );
  }

  const hash = await pool.write.proposeRoot([epochFile.epoch, epochFile.root, epochFile.totalCumulative, epochFile.dataHash, uri]);
  await confirm(hre, hash);
  const [, , , validAt] = await pool.read.pendingRoot();
  log(`proposed epoch ${epochFile.epoch} root ${epochFile.root} (${epochFile.leaves.length} leaves) to ${pool.address}: tx ${hash}`);
  log(`  total ${formatAmount(epochFile.totalCumulative, asset)}, dataHash ${epochFile.dataHash}, uri ${uri}`);
  log(`  acceptable from ${validAt} (${isoTime(validAt)})`);
  return { hash, epoch: epochFile.epoch, root: epochFile.root, validAt };
};

runIfMain(module, main);
