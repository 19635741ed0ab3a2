import path from "node:path";
import { formatUnits, getAddress, isAddress, zeroAddress, type Address, type Hex } from "viem";
import { connectEvm } from "../evm/clients";
import { erc20Abi, payoutPoolAbi } from "../evm/payoutPoolAbi";
import { loadEpochTree } from "../epochs/tree";
import { CLAIM_HELP } from "./help";
import { fetchOrExplain } from "./http";
import { parseFlags, required, UsageError } from "./args";

interface ProofData {
  account: Address;
  cumulative: bigint;
  proof: Hex[];
  contract?: Address;
  rpcUrl?: string;
  epoch?: number;
}

export async function claimCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, {
    address: { type: "string" },
    api: { type: "string" },
    "epoch-file": { type: "string" },
    rpc: { type: "string" },
    contract: { type: "string" },
    "key-env": { type: "string" },
    "dry-run": { type: "boolean" },
  });
  if (flags.help) {
    out(CLAIM_HELP);
    return 0;
  }
  const addressText = required(flags.address, "address");
  if (!isAddress(addressText, { strict: false })) throw new UsageError(`--address: not a valid address: ${addressText}`);
  const address = getAddress(addressText);
  if (flags.api && flags["epoch-file"]) throw new UsageError("give either --api or --epoch-file, not both");
  if (!flags.api && !flags["epoch-file"]) throw new UsageError("missing --api URL or --epoch-file F");

  const data = flags.api ? await proofFromApi(flags.api, address) : proofFromEpochFile(flags["epoch-file"]!, address);
  const contractText = flags.contract ?? data.contract;
  if (!contractText || !isAddress(contractText, { strict: false })) throw new UsageError("--contract: missing or invalid PayoutPool address");
  const contract = getAddress(contractText);
  const rpcUrl = flags.rpc ?? data.rpcUrl ?? "http://127.0.0.1:8545";

  let key: Hex | undefined;
  if (!flags["dry-run"]) {
    const keyEnv = required(flags["key-env"], "key-env");
    const value = process.env[keyEnv];
    if (!value) throw new UsageError(`--key-env: environment variable ${keyEnv} is not set`);
    if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new UsageError(`--key-env: ${keyEnv} does not hold a 0x-prefixed 32-byte private key`);
    key = value as Hex;
  }

  const evm = await connectEvm(rpcUrl, key);
  const pc = evm.publicClient;
  const [token, claimedBefore, active] = await Promise.all([
    pc.readContract({ address: contract, abi: payoutPoolAbi, functionName: "token" }),
    pc.readContract({ address: contract, abi: payoutPoolAbi, functionName: "claimed", args: [address] }),
    pc.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" }),
  ]);
  const claimable = await pc.readContract({ address: contract, abi: payoutPoolAbi, functionName: "claimable", args: [address, data.cumulative, data.proof] });
  const balance = () => (token === zeroAddress ? pc.getBalance({ address }) : pc.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [address] }));
  // Amounts in the asset's own decimals and symbol, read from the chain (an 8-decimal token's
  // 99 001 698 units are 0.99001698 of it, not 18-decimal dust).
  const asset =
    token === zeroAddress
      ? { symbol: evm.chain.nativeCurrency.symbol, decimals: 18, what: "native coin" }
      : {
          symbol: await pc.readContract({ address: token, abi: erc20Abi, functionName: "symbol" }),
          decimals: Number(await pc.readContract({ address: token, abi: erc20Abi, functionName: "decimals" })),
          what: `token ${token}`,
        };
  const amount = (units: bigint) => `${formatUnits(units, asset.decimals)} ${asset.symbol} (${units} units)`;
  const activeEpoch = Number(active[1]);

  out(`account:        ${address}`);
  out(`contract:       ${contract} (active epoch ${activeEpoch}), pays in ${asset.symbol}, ${asset.decimals} decimals, ${asset.what}`);
  out(`cumulative:     ${amount(data.cumulative)}${data.epoch !== undefined ? ` (proof from epoch ${data.epoch})` : ""}`);
  out(`already claimed ${amount(claimedBefore)}`);
  out(`claimable:      ${amount(claimable)}`);
  if (claimable === 0n) {
    let why = "";
    if (data.cumulative > claimedBefore) {
      // A proof of another epoch than the active one cannot verify: say which file to use.
      if (data.epoch !== undefined && data.epoch !== activeEpoch) {
        why =
          data.epoch < activeEpoch
            ? ` (the proof is from epoch ${data.epoch}, but the contract's active root is epoch ${activeEpoch}: use ${epochFileHint(flags["epoch-file"], activeEpoch)})`
            : ` (the proof is from epoch ${data.epoch}, which is not active yet: the active root is epoch ${activeEpoch}; wait for it, or use ${epochFileHint(flags["epoch-file"], activeEpoch)})`;
      } else {
        why = " (the proof does not verify against the active root)";
      }
    }
    out(`nothing to claim${why}`);
    return flags["dry-run"] ? 0 : why ? 1 : 0;
  }
  if (flags["dry-run"]) return 0;

  const before = await balance();
  const hash = await evm.walletClient!.writeContract({
    address: contract,
    abi: payoutPoolAbi,
    functionName: "claim",
    args: [address, data.cumulative, data.proof],
  });
  out(`transaction:    ${hash}`);
  const receipt = await pc.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") {
    out(`claim reverted in block ${receipt.blockNumber}`);
    return 1;
  }
  const after = await balance();
  out(`confirmed in block ${receipt.blockNumber}, gas used ${receipt.gasUsed}`);
  out(`new balance:    ${amount(after)} (+${formatUnits(after - before, asset.decimals)} ${asset.symbol})`);
  return 0;
}

async function proofFromApi(api: string, address: Address): Promise<ProofData> {
  const base = api.replace(/\/+$/, "");
  const res = await fetchOrExplain(`${base}/api/proof/${address}`);
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status === 404) throw new Error(`no allocation for ${address} in the active root: ${body.error ?? "not found"}`);
  if (!res.ok) throw new Error(`API answered ${res.status}: ${body.error ?? JSON.stringify(body)}`);
  const config = (await (await fetchOrExplain(`${base}/api/config`)).json()) as { rpcUrl?: string };
  return {
    account: getAddress(String(body.account)),
    cumulative: BigInt(String(body.cumulative)),
    proof: body.proof as Hex[],
    contract: body.contract as Address,
    rpcUrl: config.rpcUrl,
    epoch: Number(body.epoch),
  };
}


function proofFromEpochFile(file: string, address: Address): ProofData {
  let loaded: ReturnType<typeof loadEpochTree>;
  try {
    loaded = loadEpochTree(file);
  } catch (e) {
    throw new UsageError(`--epoch-file: ${file}: ${(e as Error).message}`);
  }
  const entry = loaded.tree.proofFor(address);
  if (!entry) throw new Error(`${address} has no leaf in ${file}`);
  return { ...entry, contract: loaded.file.contract as Address, epoch: loaded.file.epoch };
}

/** The epoch file to use instead of a stale one: same folder, the active epoch's name. */
function epochFileHint(file: string | undefined, epoch: number): string {
  const name = `epoch-${String(epoch).padStart(6, "0")}.json`;
  return file ? path.join(path.dirname(file), name) : `the proof of epoch ${epoch} (--api, or ${name})`;
}
