import type { HardhatUserConfig } from "hardhat/config";
import type { HttpNetworkUserConfig } from "hardhat/types";
import { subtask, task } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_RUN } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox-viem";
import path from "path";

const SOLC_VERSION = "0.8.28";

// Hardhat cannot download compilers on this network: compile with the solc-js build that the
// `solc` npm package (pinned to the pragma's exact version) ships.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  const solcPackage = require("solc/package.json");
  if (solcPackage.version !== SOLC_VERSION) {
    throw new Error(`solc npm package is ${solcPackage.version}, expected ${SOLC_VERSION}`);
  }
  const compilerPath = path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js");
  const solc = require("solc");
  return { compilerPath, isSolcJs: true, version: SOLC_VERSION, longVersion: solc.version() };
});

/**
 * Networks from the environment, so that `--network sepolia` needs no edit of this file:
 *   <NAME>_RPC_URL       defines network <name> (lower case): SEPOLIA_RPC_URL → `--network sepolia`
 *   <NAME>_DEPLOYER_KEY  its signing key (0x + 64 hex); without it the node's own accounts sign
 * The chain id is read from the node. `localhost` is EVM_RPC_URL (default http://127.0.0.1:8545).
 * Variables of the pool itself (POOL_*) and EVM_RPC_URL are not networks.
 */
export function networksFromEnv(env: NodeJS.ProcessEnv): Record<string, HttpNetworkUserConfig & { urlVariable: string }> {
  const networks: Record<string, HttpNetworkUserConfig & { urlVariable: string }> = {
    localhost: { url: env.EVM_RPC_URL ?? "http://127.0.0.1:8545", urlVariable: "EVM_RPC_URL" },
  };
  for (const [variable, value] of Object.entries(env)) {
    const m = /^([A-Z][A-Z0-9_]*)_RPC_URL$/.exec(variable);
    if (!m || variable === "EVM_RPC_URL" || m[1].startsWith("POOL_") || !value?.trim()) continue;
    const name = m[1].toLowerCase();
    if (name === "hardhat" || name === "localhost") continue;
    const keyVariable = `${m[1]}_DEPLOYER_KEY`;
    const key = env[keyVariable]?.trim();
    if (key !== undefined && key !== "" && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
      throw new Error(`${keyVariable} must be a 0x-prefixed 32-byte private key (network ${name})`);
    }
    networks[name] = { url: value.trim(), urlVariable: variable, ...(key ? { accounts: [key] } : {}) };
  }
  return networks;
}

const envNetworks = networksFromEnv(process.env);

// `hardhat run --network X`: a node that does not answer is one line naming the variable, not a stack trace.
task(TASK_RUN, async (args, hre, runSuper) => {
  const net = envNetworks[hre.network.name];
  if (net && "url" in hre.network.config) {
    try {
      await hre.network.provider.request({ method: "eth_chainId" });
    } catch (err) {
      console.error(`error: network ${hre.network.name}: no EVM node answers at ${net.url} (${net.urlVariable}): ${(err as Error).message.split("\n")[0]}`);
      process.exit(1);
    }
  }
  return runSuper(args);
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { evmVersion: "cancun", optimizer: { enabled: true, runs: 1_000_000 } },
  },
  networks: {
    hardhat: { chainId: 31337 },
    ...Object.fromEntries(Object.entries(envNetworks).map(([name, { urlVariable: _v, ...net }]) => [name, net])),
  },
  // npm test runs the files two at a time (--parallel); globalSetup (missing from @types/mocha's
  // options, passed through by Hardhat to Mocha) builds the web page once before they start.
  // test/web.bundle.ts is loaded only when tests run: the pool itself loads this config at runtime.
  mocha: {
    timeout: 300_000,
    jobs: 2,
    ...({ globalSetup: [() => (require("./test/web.bundle") as typeof import("./test/web.bundle")).webBundleGlobalSetup()] } as object),
  },
};

export default config;
