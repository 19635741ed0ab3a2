import { InputError, requireUint } from "./lib/env";
import { loadDeployment } from "./lib/deployment";
import { confirm, poolAt, requireRole, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/**
 * Revokes the pending root (guardian only).
 *   EPOCH       the pending epoch to revoke (required, guards against revoking a newer proposal)
 *   DEPLOYMENT  deployment record; SIGNER must hold GUARDIAN_ROLE
 */
export const main: ScriptMain<{ hash: `0x${string}`; epoch: bigint; root: `0x${string}` }> = async (hre, env, log = () => {}) => {
  const epoch = requireUint(env, "EPOCH", "the pending epoch number to revoke", (1n << 64n) - 1n);
  const deployment = await loadDeployment(hre, env);
  const signer = await signerFor(hre, env);
  const pool = await poolAt(hre, deployment.address, signer);
  await requireRole(pool, "GUARDIAN_ROLE", signer.account.address);
  const [root, pendingEpoch] = await pool.read.pendingRoot();
  if (BigInt(root) === 0n) throw new InputError(`no pending root on ${pool.address}: nothing to revoke`);
  if (pendingEpoch !== epoch) throw new InputError(`EPOCH ${epoch} is not the pending epoch (${pendingEpoch})`);
  const hash = await pool.write.revokeRoot([epoch]);
  await confirm(hre, hash);
  log(`revoked pending epoch ${epoch} root ${root} on ${pool.address}: tx ${hash}`);
  return { hash, epoch, root };
};

runIfMain(module, main);
