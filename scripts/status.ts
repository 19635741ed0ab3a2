import { loadDeployment } from "./lib/deployment";
import { formatStatus, readStatus, type PoolStatus } from "./lib/pool";
import { runIfMain, type ScriptMain } from "./lib/run";

/**
 * Prints the pool's roots, totals, balance, pending window and pause state.
 *   DEPLOYMENT  deployment record (default deployments/<network>.json)
 */
export const main: ScriptMain<PoolStatus> = async (hre, env, log = () => {}) => {
  const deployment = await loadDeployment(hre, env);
  const status = await readStatus(hre, deployment);
  log(`network ${hre.network.name} (chain ${deployment.chainId}), deployed in tx ${deployment.deployTx}`);
  log(formatStatus(status));
  return status;
};

runIfMain(module, main);
