import fs from "node:fs";
import path from "node:path";
import type { Abi, Address, Hex } from "viem";
import type { EvmClients } from "./clients";

export interface PayoutPoolParams {
  token: Address;
  admin: Address;
  operator: Address;
  guardian: Address;
  challengeWindow: number;
  maxPause: number;
}

/** The compiled artifact (`npx hardhat compile` writes it; `npm start` and `npm test` compile first). */
export function payoutPoolArtifact(root = path.join(__dirname, "..", "..")): { abi: Abi; bytecode: Hex } {
  const file = path.join(root, "artifacts", "contracts", "PayoutPool.sol", "PayoutPool.json");
  if (!fs.existsSync(file)) throw new Error(`PayoutPool is not compiled (${file} missing): run \`npx hardhat compile\``);
  const artifact = JSON.parse(fs.readFileSync(file, "utf8"));
  return { abi: artifact.abi, bytecode: artifact.bytecode };
}

export async function deployPayoutPool(evm: EvmClients, params: PayoutPoolParams): Promise<{ address: Address; txHash: Hex }> {
  if (!evm.walletClient) throw new Error("deploying PayoutPool needs a wallet (operator key)");
  const { abi, bytecode } = payoutPoolArtifact();
  const txHash = await evm.walletClient.deployContract({
    abi,
    bytecode,
    args: [params.token, params.admin, params.operator, params.guardian, BigInt(params.challengeWindow), BigInt(params.maxPause)],
  });
  const receipt = await evm.publicClient.waitForTransactionReceipt({ hash: txHash });
  if (!receipt.contractAddress || receipt.status !== "success") throw new Error(`PayoutPool deployment failed: ${txHash}`);
  return { address: receipt.contractAddress, txHash };
}
