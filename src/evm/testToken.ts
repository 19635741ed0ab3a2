import fs from "node:fs";
import path from "node:path";
import type { Abi, Address, Hex } from "viem";
import type { EvmClients } from "./clients";

/** 21 million tBTC in units (10^-8): what the deployer of a TestBTC holds to fund the pool with. */
export const TEST_BTC_SUPPLY = 21_000_000n * 100_000_000n;

/** The compiled TestBTC artifact (contracts/TestBTC.sol; `npx hardhat compile` writes it). */
export function testBtcArtifact(root = path.join(__dirname, "..", "..")): { abi: Abi; bytecode: Hex } {
  const file = path.join(root, "artifacts", "contracts", "TestBTC.sol", "TestBTC.json");
  if (!fs.existsSync(file)) throw new Error(`TestBTC is not compiled (${file} missing): run \`npx hardhat compile\``);
  const artifact = JSON.parse(fs.readFileSync(file, "utf8"));
  return { abi: artifact.abi, bytecode: artifact.bytecode };
}

/**
 * Deploys TestBTC (8 decimals, symbol tBTC) from the wallet of `evm`, which receives `supply`
 * units. Resolves with the token's address once the deployment is mined.
 */
export async function deployTestBtc(evm: EvmClients, supply = TEST_BTC_SUPPLY): Promise<{ address: Address; txHash: Hex }> {
  if (!evm.walletClient) throw new Error("deploying TestBTC needs a wallet");
  const { abi, bytecode } = testBtcArtifact();
  const txHash = await evm.walletClient.deployContract({ abi, bytecode, args: [supply] });
  const receipt = await evm.publicClient.waitForTransactionReceipt({ hash: txHash });
  if (!receipt.contractAddress || receipt.status !== "success") throw new Error(`TestBTC deployment failed: ${txHash}`);
  return { address: receipt.contractAddress, txHash };
}
