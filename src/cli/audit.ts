import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { connectEvm } from "../evm/clients";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";
import { auditEpoch, epochFileName, parseEpochFile, shareLogFileName } from "../epochs";
import { AUDIT_HELP } from "./help";
import { fetchOrExplain } from "./http";
import { parseFlags, required, UsageError } from "./args";

export async function auditCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, {
    epoch: { type: "string" },
    api: { type: "string" },
    dir: { type: "string" },
    rpc: { type: "string" },
    contract: { type: "string" },
    "skip-work": { type: "boolean" },
  });
  if (flags.help) {
    out(AUDIT_HELP);
    return 0;
  }
  const epochText = required(flags.epoch, "epoch");
  if (!/^\d{1,9}$/.test(epochText) || Number(epochText) < 1) throw new UsageError(`--epoch: must be a positive integer, got "${epochText}"`);
  const epoch = Number(epochText);
  if (!!flags.api === !!flags.dir) throw new UsageError("give exactly one of --api URL or --dir D");
  const rpc = required(flags.rpc, "rpc");
  const contractText = required(flags.contract, "contract");
  if (!isAddress(contractText, { strict: false })) throw new UsageError(`--contract: not a valid address: ${contractText}`);
  const contract = getAddress(contractText);

  const files = flags.api ? await download(flags.api, epoch) : local(flags.dir!, epoch);
  let lastShown = 0;
  const report = await auditEpoch({
    epochFile: files.epochFile,
    shareLog: files.shareLog,
    previousEpochFile: files.previousEpochFile,
    checkWork: !flags["skip-work"],
    progressEvery: 5000,
    onProgress: (done, total) => {
      if (done - lastShown >= 5000 || done === total) {
        lastShown = done;
        process.stderr.write(`  checked ${done}/${total} shares\r`);
      }
    },
  });
  process.stderr.write("\n");
  const findings = [...report.findings];
  if (report.epoch !== epoch) findings.push(`file: the epoch file is for epoch ${report.epoch}, not ${epoch}`);
  const file = parseEpochFile(fs.readFileSync(files.epochFile));
  if (file.contract.toLowerCase() !== contract.toLowerCase()) findings.push(`file: names contract ${file.contract}, auditing ${contract}`);
  findings.push(...(await compareWithChain(rpc, contract, epoch, report)));

  out(`epoch ${epoch}: ${report.shares} shares, ${report.leaves} leaves, root ${report.root}, total ${report.totalCumulative}`);
  if (findings.length === 0) {
    out("AUDIT PASSED: the published files, every share, the allocation, the tree and the on-chain root agree");
    return 0;
  }
  out(`AUDIT FAILED: ${findings.length} finding(s)`);
  for (const f of findings) out(`  - ${f}`);
  return 1;
}

/** The root, total and data hash proposed for the epoch (RootProposed, not revoked), and the active root when it is this epoch. */
async function compareWithChain(rpc: string, contract: Address, epoch: number, report: { root: Hex; totalCumulative: bigint; dataHash: Hex }): Promise<string[]> {
  const { publicClient } = await connectEvm(rpc);
  const findings: string[] = [];
  const [proposed, revoked, active] = await Promise.all([
    publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootProposed", args: { epoch: BigInt(epoch) }, fromBlock: 0n }),
    publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootRevoked", args: { epoch: BigInt(epoch) }, fromBlock: 0n }),
    publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" }),
  ]);
  const revokedRoots = new Set(revoked.map((r) => String(r.args.root).toLowerCase()));
  const live = proposed.filter((p) => !revokedRoots.has(String(p.args.root).toLowerCase())).pop();
  if (!live) return [`chain: no root was proposed (and not revoked) for epoch ${epoch} on ${contract}`];
  const a = live.args;
  if (String(a.root).toLowerCase() !== report.root.toLowerCase()) findings.push(`chain: root on chain ${a.root} differs from the rebuilt ${report.root}`);
  if (a.totalCumulative !== report.totalCumulative) findings.push(`chain: totalCumulative on chain ${a.totalCumulative} differs from the file's ${report.totalCumulative}`);
  if (String(a.dataHash).toLowerCase() !== report.dataHash.toLowerCase()) findings.push(`chain: dataHash on chain ${a.dataHash} differs from keccak256 of the epoch file ${report.dataHash}`);
  if (Number(active[1]) === epoch && active[0].toLowerCase() !== report.root.toLowerCase()) findings.push(`chain: the active root ${active[0]} differs from the rebuilt ${report.root}`);
  return findings;
}

function local(dir: string, epoch: number) {
  const epochFile = path.join(dir, epochFileName(epoch));
  if (!fs.existsSync(epochFile)) throw new UsageError(`--dir: ${epochFile} does not exist`);
  const previous = path.join(dir, epochFileName(epoch - 1));
  return { epochFile, shareLog: path.join(dir, shareLogFileName(epoch)), previousEpochFile: epoch > 1 ? previous : undefined };
}

async function download(api: string, epoch: number) {
  const base = api.replace(/\/+$/, "");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pool-audit-${epoch}-`));
  const get = async (url: string, file: string) => {
    const res = await fetchOrExplain(url);
    if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return file;
  };
  const epochFile = await get(`${base}/api/epochs/${epoch}`, path.join(dir, epochFileName(epoch)));
  const shareLog = await get(`${base}/api/epochs/${epoch}/shares`, path.join(dir, shareLogFileName(epoch)));
  const previousEpochFile = epoch > 1 ? await get(`${base}/api/epochs/${epoch - 1}`, path.join(dir, epochFileName(epoch - 1))) : undefined;
  return { epochFile, shareLog, previousEpochFile };
}
