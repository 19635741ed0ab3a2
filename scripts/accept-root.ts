import { InputError } from "./lib/env";
import { loadDeployment } from "./lib/deployment";
import { chainNow, confirm, isoTime, poolAt, shortReason, signerFor } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/**
 * Makes the pending root active once its challenge window has passed (anyone may do this).
 *   DEPLOYMENT  deployment record; SIGNER any configured account
 */
export const main: ScriptMain<{ hash: `0x${string}`; epoch: bigint; root: `0x${string}` }> = async (hre, env, log = () => {}) => {
  const deployment = await loadDeployment(hre, env);
  const signer = await signerFor(hre, env);
  const pool = await poolAt(hre, deployment.address, signer);
  const [root, epoch] = await pool.read.pendingRoot();
  // validAt, or later when a pause since the proposal needs claims open for a whole window first.
  const validAt = await pool.read.acceptableAt();
  if (BigInt(root) === 0n) throw new InputError(`no pending root on ${pool.address}: nothing to accept`);
  // Ask the node whether the next block would accept it (an idle local node's latest block can be
  // far behind the wall clock, so the latest block's timestamp alone is not the answer).
  try {
    // Pass the address: viem's simulate options reject hardhat-viem's wide `Account` union (its smart-account
    // member) at the type level; an eth_call only sends `from`, so the request is the same either way.
    await pool.simulate.acceptRoot({ account: signer.account.address, blockTag: "pending" });
  } catch (err) {
    const now = await chainNow(hre);
    const left = validAt > now ? `, ${validAt - now} s from now` : "";
    throw new InputError(`epoch ${epoch} is in its challenge window until ${validAt} (${isoTime(validAt)})${left}: ${shortReason(err)}`);
  }
  const hash = await pool.write.acceptRoot();
  await confirm(hre, hash);
  log(`accepted epoch ${epoch} root ${root} on ${pool.address}: tx ${hash}`);
  return { hash, epoch, root };
};

runIfMain(module, main);
