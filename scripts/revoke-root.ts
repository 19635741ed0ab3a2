import { InputError, requireString, requireUint } from "./lib/env";
import { loadDeployment } from "./lib/deployment";
import { confirm, poolAt, requireRole, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/**
 * Revokes the pending root (guardian only).
 *   EPOCH       the pending epoch to revoke (required)
 *   ROOT        the pending root to revoke (required: with EPOCH, it names one proposal, so a late or
 *               repeated revoke cannot hit the operator's corrected re-proposal of the same epoch)
 *   DEPLOYMENT  deployment record; SIGNER must hold GUARDIAN_ROLE
 */
export const main: ScriptMain<{ hash: `0x${string}`; epoch: bigint; root: `0x${string}` }> = async (hre, env, log = () => {}) => {
  const epoch = requireUint(env, "EPOCH", "the pending epoch number to revoke", (1n << 64n) - 1n);
  const target = requireString(env, "ROOT", "the pending root to revoke (0x + 64 hex digits, as status prints it)");
  if (!/^0x[0-9a-fA-F]{64}$/.test(target)) throw new InputError(`ROOT must be 0x and 64 hex digits, got "${target}"`);
  const deployment = await loadDeployment(hre, env);
  const signer = await signerFor(hre, env);
  const pool = await poolAt(hre, deployment.address, signer);
  await requireRole(pool, "GUARDIAN_ROLE", signer.account.address);
  const [root, pendingEpoch] = await pool.read.pendingRoot();
  if (BigInt(root) === 0n) throw new InputError(`no pending root on ${pool.address}: nothing to revoke`);
  if (pendingEpoch !== epoch) throw new InputError(`EPOCH ${epoch} is not the pending epoch (${pendingEpoch})`);
  if (root.toLowerCase() !== target.toLowerCase()) throw new InputError(`ROOT ${target} is not the pending root (${root}): it was revoked or replaced already`);
  const hash = await pool.write.revokeRoot([epoch, root]);
  await confirm(hre, hash);
  log(`revoked pending epoch ${epoch} root ${root} on ${pool.address}: tx ${hash}`);
  return { hash, epoch, root };
};

runIfMain(module, main);
